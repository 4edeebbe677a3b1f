"""Serving adapters by name: the probe recorded when an adapter is published, the remote backend
refusing a server that does not serve the adapter (before any draft is written), and the vLLM and
GGUF exports (a GGUF adapter loaded by llama.cpp where llama-cpp-python is installed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers_drafts import user
from helpers_openai import StubOpenAI

from brandvoice import generation, jobs, worker
from brandvoice.errors import ConfigError, ModelError
from brandvoice.generation import serving
from brandvoice.generation.remote import OpenAIBackend
from brandvoice.store import drafts
from brandvoice.training import AdapterInfo, probe

PROBE = {"system": "You are the email copywriter for Acme.", "user": "Campaign: x", "max_tokens": 32,
         "answer": "Subject: Your close, three days sooner\n\nHi there, thanks for the demo",
         "base_answer": "Subject: Your close, made simple\n\nDear customer"}


def adapter_info(path: Path, *, probe_record: dict | None = PROBE, base: str = "smollm2-135m-instruct",
                 name: str = "acme", version: int = 1) -> AdapterInfo:
    manifest = {"brand": "Acme"} | ({"probe": probe_record} if probe_record else {})
    return AdapterInfo(id=1, name=name, version=version, base_model=base, quantization="nf4",
                       path=path, status="ready", manifest=manifest)


def remote(url: str, **kw) -> generation.GenerationConfig:
    return generation.GenerationConfig(backend="openai", server_url=url, backoff=0.0, **kw)


# --- the probe ---------------------------------------------------------------------------------

def test_a_served_answer_must_follow_the_adapter_past_its_base():
    assert probe.mismatch(PROBE, PROBE["answer"]) is None
    assert probe.mismatch(PROBE, "  Subject: Your close,   three days sooner\nHi there") is None
    assert probe.mismatch(PROBE, PROBE["answer"][:30] + " and then something else") is None
    why = probe.mismatch(PROBE, PROBE["base_answer"])
    assert "as the base model does" in why
    assert "as the base model" not in probe.mismatch(PROBE, "Subject: Hello from another brand")
    same = dict(PROBE, base_answer=PROBE["answer"])
    assert "no server can be shown to serve it" in probe.mismatch(same, PROBE["answer"])


@pytest.fixture
def lora_dir(tiny_model_dir, tmp_path):
    """A LoRA adapter of the tiny llama model whose B matrices are not zero (it changes output)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(3)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj",
                                                         "gate_proj", "up_proj", "down_proj"],
                     init_lora_weights=False, task_type="CAUSAL_LM")
    peft = get_peft_model(model, cfg)
    with torch.no_grad():
        for name, param in peft.named_parameters():
            if "lora_B" in name:
                param.mul_(40.0)  # strong enough to change the greedy answer
    path = tmp_path / "adapter"
    peft.save_pretrained(path)
    return path


def test_the_probe_records_the_adapters_answer_and_its_bases(settings, tiny_model_dir, lora_dir):
    rec = probe.record(settings, lora_dir, str(tiny_model_dir), "Acme")
    assert rec["max_tokens"] == 32 and "Acme" in rec["system"] and rec["answer"]
    assert rec["answer"] != rec["base_answer"]
    assert probe.mismatch(rec, rec["answer"]) is None
    assert probe.mismatch(rec, rec["base_answer"]) is not None
    again = probe.record(settings, lora_dir, str(tiny_model_dir), "Acme")
    assert again == rec  # greedy, float32: the same every time


# --- the remote backend refuses a server that does not serve the adapter -------------------------

@pytest.fixture
def servers():
    made = []

    def make(models, **kw):
        server = StubOpenAI(models, **kw)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def test_the_server_of_the_right_adapter_is_accepted(settings, servers, tmp_path):
    server = servers(["acme-v1", "globex-v2"], greedy={"acme-v1": PROBE["answer"],
                                                       "globex-v2": "Subject: Globex"})
    backend = OpenAIBackend.from_config(remote(server.url), settings, adapter=adapter_info(tmp_path))
    backend.close()
    assert backend.model == "acme-v1" and backend.info["probe"]["matched"]
    sent = server.requests[-1]
    assert sent["temperature"] == 0 and sent["max_tokens"] == 32 and sent["repetition_penalty"] == 1.0
    assert sent["messages"] == [{"role": "system", "content": PROBE["system"]},
                                {"role": "user", "content": PROBE["user"]}]


@pytest.mark.parametrize("case, match", [
    ("another adapter", "does not serve adapter acme v1: its answer to the probe starts"),
    ("the base model", "answers as the base model does"),
    ("unlisted", "does not serve model 'acme-v1'"),
    ("no probe", "no recorded probe answer"),
])
def test_a_server_that_does_not_serve_the_adapter_is_refused(settings, servers, tmp_path, case, match):
    answers = {"another adapter": "Subject: Globex says hello", "the base model": PROBE["base_answer"]}
    if case == "unlisted":  # llama.cpp's server: an unknown name is answered by its first model
        server = servers(["base"], greedy={"base": PROBE["answer"]})
    else:
        server = servers(["acme-v1"], greedy={"acme-v1": answers.get(case, PROBE["answer"])})
    info = adapter_info(tmp_path, probe_record=None if case == "no probe" else PROBE)
    with pytest.raises(ModelError, match=match) as err:
        OpenAIBackend.from_config(remote(server.url), settings, adapter=info)
    assert server.url in str(err.value) and ("acme v1" in str(err.value) or "acme-v1" in str(err.value))


def _published(store, settings, tmp_path, greedy_answer: str) -> tuple:
    """An adapter published in the store with PROBE recorded, and a server answering its probe
    with `greedy_answer`."""
    from brandvoice.training import adapters

    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "adapter_config.json").write_text("{}")
    info = adapters.register(store, settings, name="acme", staging=staging, manifest={
        "brand": "Acme", "base_model": "smollm2-135m-instruct", "quantization": "nf4",
        "probe": PROBE})
    return info, StubOpenAI([adapters.slugify("acme") + "-v1"],
                            greedy={"acme-v1": greedy_answer})


@pytest.mark.all_databases
def test_no_draft_is_written_through_a_server_that_serves_another_adapter(store, settings, tmp_path,
                                                                          plugged):
    crm = tmp_path / "crm.csv"
    crm.write_text("Record ID,First Name,Last Name,Email,Company Name,Job Title,Lifecycle Stage,"
                   "Lead Status\n1,Dana,Reyes,dana@acme.example,Acme,CFO,lead,Open\n"
                   "2,Sam,Okafor,sam@globex.example,Globex,CFO,lead,Open\n")
    info, server = _published(store, settings, tmp_path, "Subject: Globex says hello")
    try:
        with pytest.raises(ModelError, match="does not serve adapter acme v1"):
            generation.submit(store, settings, actor=user(store), crm=crm,
                              template="reengage_cold_lead", adapter="acme",
                              config=remote(server.url))
        assert jobs.list_jobs(store) == []  # refused at submit: no job
        # a job submitted while the server was right, run after it changed: refused, no draft
        server.greedy["acme-v1"] = PROBE["answer"]
        job_id = generation.submit(store, settings, actor=user(store), crm=crm,
                                   template="reengage_cold_lead", adapter="acme",
                                   config=remote(server.url))
        server.greedy["acme-v1"] = PROBE["base_answer"]
        job = worker.run(store, job_id)
        assert job["status"] == "failed" and "answers as the base model does" in job["error"]
        with store.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(drafts)).scalar() == 0
        assert not [r for r in server.requests if r.get("temperature")]  # nothing but the probe
    finally:
        server.close()


# --- export: vLLM folders and GGUF adapters ----------------------------------------------------

def test_vllm_export_writes_a_folder_per_adapter_and_checks_the_rank(lora_dir, tiny_model_dir,
                                                                    tmp_path):
    info = adapter_info(lora_dir, base=str(tiny_model_dir))
    done = serving.export_vllm([info], tmp_path / "out")
    folder = tmp_path / "out" / "acme-v1"
    assert sorted(p.name for p in folder.iterdir()) == ["adapter_config.json",
                                                        "adapter_model.safetensors"]
    assert done["adapters"][0]["rank"] == 4
    assert done["commands"] == [f"vllm serve {tiny_model_dir} --enable-lora --max-lora-rank 8 "
                                f"--max-loras 1 --lora-modules acme-v1={folder}"]
    with pytest.raises(ConfigError, match="rank 4, above the server's --max-lora-rank 2"):
        serving.export_vllm([info], tmp_path / "out", max_lora_rank=2)


@pytest.mark.parametrize("key, value, match", [
    ("modules_to_save", ["lm_head"], "modules_to_save"),
    ("use_dora", True, "DoRA"),
    ("peft_type", "IA3", "not LoRA"),
])
def test_adapters_a_server_cannot_apply_are_refused(lora_dir, tmp_path, key, value, match):
    cfg = json.loads((lora_dir / "adapter_config.json").read_text())
    (lora_dir / "adapter_config.json").write_text(json.dumps(dict(cfg, **{key: value})))
    info = adapter_info(lora_dir)
    with pytest.raises(ConfigError, match=match):
        serving.export_vllm([info], tmp_path / "out")
    assert not (tmp_path / "out" / "acme-v1").exists()


def test_gguf_export_lays_the_adapter_out_as_llama_cpp_reads_it(settings, tiny_model_dir, lora_dir,
                                                                tmp_path):
    import gguf
    from safetensors.numpy import load_file

    info = adapter_info(lora_dir, base=str(tiny_model_dir))
    done = serving.export_gguf(settings, [info], tmp_path / "out")
    path = Path(done["adapters"][0]["path"])
    reader = gguf.GGUFReader(str(path))

    def field(name):
        f = reader.fields[name]
        return f.contents() if hasattr(f, "contents") else f.parts[f.data[0]]

    assert field("general.architecture") == "llama" and field("general.type") == "adapter"
    assert field("adapter.type") == "lora" and float(field("adapter.lora.alpha")) == 8.0
    tensors = {t.name: t for t in reader.tensors}
    assert len(tensors) == 2 * 7 * 2  # lora_a and lora_b of 7 projections in 2 blocks
    source = load_file(str(lora_dir / "adapter_model.safetensors"))
    a = source["base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight"]
    b = source["base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight"]
    assert (tensors["blk.0.attn_v.weight.lora_a"].data == a).all()  # (rank, in): ggml ne (in, rank)
    assert (tensors["blk.0.attn_v.weight.lora_b"].data == b).all()
    q_b = source["base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight"]
    got = tensors["blk.1.attn_q.weight.lora_b"].data
    # llama.cpp's rotary layout: within each head, the two halves of the rows interleaved
    assert (got == q_b.reshape(4, 2, 8, 4).swapaxes(1, 2).reshape(64, 4)).all()
    k_b = source["base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"]
    assert (tensors["blk.1.attn_k.weight.lora_b"].data ==
            k_b.reshape(2, 2, 8, 4).swapaxes(1, 2).reshape(32, 4)).all()
    config = json.loads(Path(done["server_config"]).read_text())
    assert config["models"][0]["model_alias"] == "acme-v1"
    assert config["models"][0]["lora_path"] == str(path)


@pytest.mark.integration
def test_llama_cpp_loads_the_gguf_adapter_and_answers_as_the_adapter(settings, tmp_path):
    """The embedded SmolLM2 base as GGUF in llama.cpp, with a LoRA adapter made on its transformers
    copy and exported here: the adapter changes llama.cpp's greedy answer, to the one
    transformers gives with the same adapter."""
    llama_cpp = pytest.importorskip("llama_cpp")
    import torch
    from peft import LoraConfig, get_peft_model

    from brandvoice import models

    base_dir = models.materialize("smollm2-135m-instruct", settings)
    tok = models.load_tokenizer("smollm2-135m-instruct", settings)
    model = models.load_model("smollm2-135m-instruct", "none", settings, dtype="float32")
    torch.manual_seed(5)
    peft = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, init_lora_weights=False,
                                            target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                                            task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, param in peft.named_parameters():
            if "lora_B" in name:
                param.mul_(3.0)
    adapter = tmp_path / "adapter"
    peft.save_pretrained(adapter)
    system, user_text = "You are the email copywriter for Acme.", "Task: write a short email."
    ours = probe.greedy(peft, tok, system, user_text, 8)
    with peft.disable_adapter():
        base_answer = probe.greedy(peft, tok, system, user_text, 8)
    assert ours != base_answer
    done = serving.export_gguf(settings, [adapter_info(adapter)], tmp_path / "gguf")
    base_gguf = done["adapters"][0]["base_gguf"]
    assert Path(base_gguf).is_file() and Path(base_dir).is_dir()
    prompt = models.prompt_text(tok, system, user_text)

    def answer(**kw) -> str:
        llm = llama_cpp.Llama(model_path=base_gguf, n_ctx=512, verbose=False, seed=0, **kw)
        out = llm(prompt, max_tokens=8, temperature=0.0, top_k=1, repeat_penalty=1.0)
        return out["choices"][0]["text"].strip()

    plain, adapted = answer(), answer(lora_path=done["adapters"][0]["path"])
    assert adapted != plain
    assert adapted.split()[:3] == ours.split()[:3]


def test_an_older_adapter_gets_its_probe_recorded(store, settings, tiny_model_dir, lora_dir):
    import shutil

    from click.testing import CliRunner

    from brandvoice.cli import main
    from brandvoice.training import adapters

    staging = lora_dir.parent / "staging"
    shutil.copytree(lora_dir, staging)
    info = adapters.register(store, settings, name="acme", staging=staging, manifest={
        "brand": "Acme", "base_model": str(tiny_model_dir), "quantization": "none"})
    assert "probe" not in info.manifest
    res = CliRunner().invoke(main, ["adapters", "probe", "acme:v1"])
    assert res.exit_code == 0, res.output
    again = adapters.get_adapter(store, "acme:v1")
    assert again.manifest["probe"]["answer"] and again.manifest["brand"] == "Acme"
    assert "probe recorded" in res.output
