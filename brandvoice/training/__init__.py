"""QLoRA fine-tuning of a base model on a brand's past emails, and the adapters it publishes.

    from brandvoice import training
    job_id = training.submit(store, settings, training.TrainConfig(brand="Ledgerly", emails="e.csv"))
    info = training.get_adapter(store, "ledgerly")          # the newest ready version
    model, tokenizer = training.load_for_inference(settings, info)

The job lives in `trainer`, its settings in `config`, the examples, schedule and loss in `data`,
adapter versions in `adapters`.
"""

from brandvoice.training.adapters import (
    AdapterInfo,
    brand_keys,
    check_base,
    get_adapter,
    heldout_emails,
    list_adapters,
    load_for_inference,
    slugify,
    training_emails,
)
from brandvoice.training.config import METRICS, MODES, TrainConfig
from brandvoice.training.trainer import (
    SMALL_SET,
    build_model,
    pick_threads,
    plan_steps,
    prepare_data,
    run_job,
    save_adapter,
    small_set_notes,
    submit,
)

__all__ = ["METRICS", "MODES", "SMALL_SET", "AdapterInfo", "TrainConfig", "brand_keys", "build_model", "check_base",
           "get_adapter", "heldout_emails", "list_adapters", "load_for_inference", "pick_threads",
           "plan_steps", "prepare_data", "run_job", "save_adapter", "slugify", "small_set_notes", "submit",
           "training_emails"]
