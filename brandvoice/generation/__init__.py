"""Batch generation of personalized drafts: backends (local, OpenAI-compatible) and the job loop.

    from brandvoice import generation
    job_id = generation.submit(store, settings, crm="crm.csv", template="after_demo",
                               adapter="ledgerly", config=generation.GenerationConfig())

The job (submit, run) lives in `batch`, the inner loop in `loop`, backends in `backends`, `local`
and `remote`.
"""

from brandvoice.generation.backends import Backend, GenOutput, GenRequest, open_backend, seed_for
from brandvoice.generation.batch import GenerationConfig, check_resumable, preview, run_job, submit
from brandvoice.generation.guards import brand_guard

__all__ = ["Backend", "GenOutput", "GenRequest", "GenerationConfig", "brand_guard", "check_resumable",
           "open_backend",
           "preview", "run_job",
           "seed_for", "submit"]
