"""Fine-tune the real embedded model for a few steps, save, reload and generate."""

from __future__ import annotations

import pytest
from helpers_drafts import user

from brandvoice import models, prompting, worker
from brandvoice.errors import ModelError
from brandvoice.prompting import shape
from brandvoice.training import adapters
from brandvoice.training import trainer as train

pytestmark = pytest.mark.integration


def test_finetune_embedded_model_reload_and_generate(store, tmp_path):
    import torch
    from test_train import write_emails

    emails = write_emails(tmp_path / "emails.csv", n=9, brand="Acme")
    cfg = train.TrainConfig(brand="Acme", emails=str(emails), quantization="nf4", max_steps=2, batch_size=2, grad_accum=1,
                            max_seq_len=192, quantile=0.0, learning_rate=2e-3, save_steps=1)
    job = worker.run(store, train.submit(store, store.settings, cfg, user(store)))
    assert job["status"] == "done", job["error"]
    m = job["result"]["metrics"]
    assert m["steps"] == 2 and m["heldout_ppl_adapter"] > 0 and m["heldout_ppl_base"] > 0

    info = adapters.get_adapter(store, "acme")
    assert info.base_model == models.DEFAULT_MODEL and info.quantization == "nf4"
    with pytest.raises(ModelError, match="trained on base model"):
        adapters.load_for_inference(store.settings, info, base_model="gemma-3-270m")

    model, tok = adapters.load_for_inference(store.settings, info)
    prompt = models.prompt_text(tok, shape.system_prompt(info.brand),
                                prompting.training_brief("follow-up", "enterprise", "IT leaders"))
    batch = tok([prompt], return_tensors="pt", add_special_tokens=False)
    torch.manual_seed(0)
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=16, do_sample=False, eos_token_id=models.stop_token_ids(tok),
                             pad_token_id=tok.pad_token_id)
    text = tok.decode(out[0, batch["input_ids"].shape[1]:], skip_special_tokens=True)
    assert out.shape[1] > batch["input_ids"].shape[1] and text.strip()
