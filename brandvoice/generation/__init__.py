"""Batch generation of personalized drafts: backends (local, OpenAI-compatible) and the job loop.

    from brandvoice import generation
    job_id = generation.submit(store, settings, crm="crm.csv", template="after_demo",
                               adapter="ledgerly", config=generation.GenerationConfig())

A campaign (several templates, each contact routed to the one that fits before any model runs)
is planned in `routing` and submitted in `campaign`. The job's submit lives in `batch`, its run in `runner`, its
parts as the job queue runs them in `parts`, the inner loop in `loop`, backends in `backends`, `local`
and `remote`; a new adapter's sample drafts beside its base model's in `samples`. Backends and the
guard a job stores verdicts from are plug-in points: `backends.register(name, factory)` (chosen by
GenerationConfig.backend) and `guards.register(name, factory)` (chosen by Settings.guard).
"""

from brandvoice.generation import campaign, routing
from brandvoice.generation.backends import Backend, GenOutput, GenRequest, open_backend, seed_for
from brandvoice.generation.batch import GenerationConfig, check_resumable, preview, submit
from brandvoice.generation.guards import brand_guard, open_guard
from brandvoice.generation.parts import forget as parts_forget
from brandvoice.generation.parts import run_part, summarize
from brandvoice.generation.runner import run_job
from brandvoice.generation.samples import read_samples, write_samples

__all__ = ["Backend", "GenOutput", "GenRequest", "GenerationConfig", "brand_guard", "campaign",
           "check_resumable", "open_backend", "open_guard", "parts_forget", "preview",
           "read_samples", "routing", "run_job", "run_part", "seed_for", "submit", "summarize",
           "write_samples"]
