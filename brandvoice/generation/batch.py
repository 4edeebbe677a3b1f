"""Batch generation of personalized drafts as a resumable job.

A batch is a `generate` job: `submit` reads the CRM file once and snapshots the usable contacts
with the job (one transaction); the run reads them from the store, then every (contact, variant)
slot without a draft is generated, parsed, guarded and inserted, one transaction per batch. A job that
was killed and is run again finishes the remaining slots; `uq_draft_slot` forbids duplicates.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

import sqlalchemy as sa
from pydantic import Field, field_validator

from brandvoice import jobs
from brandvoice.config import Config, Quantization, Settings
from brandvoice.errors import ConfigError, InputError, StateError
from brandvoice.store import Store
from brandvoice.store import contacts as contacts_t
from brandvoice.users import User, require

PARAMS_VERSION = 3  # of the job params' config; 3: contacts snapshotted at submit


class GenerationConfig(Config):
    """How drafts are sampled and served. Defaults suit short marketing emails."""

    label: ClassVar[str] = "generation settings"
    # How a job is served, not what it writes: left out of each draft's recorded settings.
    SERVING: ClassVar[frozenset[str]] = frozenset({
        "batch_size", "concurrency", "timeout", "http_retries", "backoff", "api_key_env"})

    variants: int = Field(1, ge=1, le=20, description="Drafts per contact.")
    # k for slot templates, from bench/quality.py read against QUALITY.md (bench/results/
    # quality.json): with the embedded 135M adapters k = 4 let more model text through (41 % of
    # Ledgerly's slots against 25 %) but fewer drafts were usable (54 % against 68 %; Bright Bean
    # 41 % against 57 %) and it took 1.4x the time: its extra slots were mostly fluent and false.
    # A larger model's candidates are worth more: measure, then raise it.
    candidates: int = Field(1, ge=1, le=32, description="Best of k: candidates per slot.")
    max_new_tokens: int = Field(220, ge=16, le=4096, description="Tokens per whole email.")
    temperature: float = Field(0.7, ge=0, le=2, description="0 = greedy.")
    top_p: float = Field(0.9, gt=0, le=1)
    # top_k 50: transformers' default; the top-k cut also makes sampling cheap (local.PerRowSampler)
    top_k: int = Field(50, ge=0, description="0 = off.")
    repetition_penalty: float = Field(1.1, ge=0.5, le=2, description="1 = off.")
    seed: int = Field(1234, ge=0, lt=2**31)
    holdback: float = Field(0.0, ge=0, le=0.5, description="Fair test: the share of contacts (0 to "
                            "0.5) that get the template's own text in every slot (slot templates).")
    batch_size: int = Field(8, ge=1, le=256, description="Drafts per model call and per transaction.")
    max_tries: int = Field(3, ge=1, le=10, description="Attempts while the output is malformed.")
    guard_tries: int = Field(2, ge=1, le=10, description="Attempts while the verdict is fail.")
    quantization: Quantization = Field("none", description="Base weights at inference (local).")
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="Local weights: auto = bf16 where the CPU or GPU has it.")
    merge: Literal["auto", "yes", "no"] = Field(
        "auto", description="Serve a merged adapter copy where a greedy check agrees.")
    backend: str = Field("local", description="local, openai, or a backend plugged in with "
                         "generation.backends.register.")
    server_url: str | None = Field(None, description="openai backend: http://host:port (vLLM, llama.cpp).")
    model: str | None = Field(None, description="openai backend: served model (default '<adapter>-v<N>').")
    api_key_env: str | None = Field("OPENAI_API_KEY", description="Env var with the server's API key.")
    endpoint: Literal["chat", "completions"] = "chat"
    concurrency: int = Field(4, ge=1, le=256, description="openai backend: requests in flight.")
    timeout: float = Field(120.0, gt=0, description="openai backend: seconds per request.")
    http_retries: int = Field(5, ge=0, le=20, description="openai backend: retries on 429/5xx.")
    backoff: float = Field(1.0, ge=0, le=60, description="openai backend: first retry delay (s).")

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        from brandvoice.generation import backends

        if v not in backends.names():
            raise ValueError(f"unknown backend; use one of: {', '.join(backends.names())}")
        return v

    @field_validator("server_url")
    @classmethod
    def _server(cls, v: str | None, info) -> str | None:
        # a cross-field rule, as a field check so that it is listed with the other bad fields
        if info.data.get("backend") == "openai" and not (v or "").startswith(("http://", "https://")):
            raise ValueError("the openai backend needs http(s)://host:port")
        return v

    def recorded(self) -> dict:
        """The settings that decide a draft (serving knobs left out): kept with each draft."""
        return {k: v for k, v in self.to_dict().items() if k not in self.SERVING}


# --- submit: validate everything the job needs before it starts --------------------------------

def _adapter(store: Store, ref: str | None):
    if not ref:
        return None
    from brandvoice.training import adapters

    info = adapters.get_adapter(store, str(ref))
    if getattr(info, "status", "ready") != "ready":
        raise StateError(f"Adapter {info.label} is {info.status}, not ready.",
                         hint="Pick a trained adapter (`brandvoice adapters list`).")
    return info


def _brand(brand: str | None, adapter) -> str:
    if brand:
        return brand
    if adapter is not None:
        return str((adapter.manifest or {}).get("brand") or adapter.name)
    raise ConfigError("Generating with a base model needs a brand name.", hint="Pass --brand NAME.")


def _input_paths(crm: str | Path, activities: str | Path | None) -> dict[str, str]:
    """The CRM and activities files, resolved; a missing one is an InputError naming it."""
    paths = {}
    for label, value in (("CRM file", crm), ("activities file", activities)):
        if value is None:
            continue
        path = Path(value).expanduser()
        if not path.is_file():
            raise InputError(f"{label} {value} does not exist.", hint="Check the path.")
        paths[label] = str(path.resolve())
    return paths


def _usable_contacts(info, paths: dict[str, str], mapping, skip_incomplete: bool,
                     unmap_optout=()) -> tuple[list[dict], dict]:
    """The CRM file read once, through the template's completeness gate: (the contacts the job
    writes to, the intake summary the job keeps); an InputError when no contact can be used, or
    when some cannot and incomplete rows are not to be skipped."""
    from brandvoice import crm as crm_mod
    from brandvoice import prompting

    result = crm_mod.import_contacts(paths["CRM file"], activities=paths.get("activities file"),
                                     mapping=mapping, unmap_optout=unmap_optout)
    gate = prompting.completeness(info, result.contacts)
    missing = gate.get("missing") or {}
    if missing and not skip_incomplete:
        raise InputError(f"{len(missing)} contact(s) lack fields template {info.name!r} needs.",
                         problems=_missing_lines(gate, paths["CRM file"]),
                         hint="Fill in those fields in the CRM export, or skip incomplete rows.")
    if not gate.get("ok"):
        raise InputError(f"No contact in {paths['CRM file']} can be used with template {info.name!r}.",
                         problems=(result.problems + _missing_lines(gate, paths["CRM file"]))[:50],
                         hint="Check the column mapping and the template's required fields.")
    ok = set(gate.get("ok") or [])
    keep = [c for c in result.contacts if c["key"] in ok]
    rows = gate.get("rows") or {}
    skipped = [{"key": k, "row": rows.get(k), "missing": list(f)} for k, f in missing.items()]
    intake = {"profile": result.profile, "contacts": len(keep), "skipped_incomplete": skipped[:500],
              "n_skipped_incomplete": len(skipped), "excluded": list(result.excluded)[:500],
              "n_excluded": len(result.excluded), "problems": list(result.problems)[:100],
              "n_problems": len(result.problems), "optout_unmapped": result.optout_unmapped}
    return keep, intake


def submit(store: Store, settings: Settings, *, actor: User, crm: str | Path,
           activities: str | Path | None = None, template: str, adapter: str | None = None,
           base_model: str | None = None, brand: str | None = None,
           config: GenerationConfig | dict | None = None,
           mapping: dict[str, str] | str | Path | None = None, skip_incomplete: bool = True,
           unmap_optout: list[str] | tuple[str, ...] = ()) -> int:
    """Validate the inputs (template, adapter, CRM file, completeness) and queue a generate job as
    `actor` (a marketer or an admin: the creator of every draft of the job; audited). An opt-out
    column the mapping stops reading must be named in `unmap_optout` (audited with the job)."""
    from brandvoice import prompting

    require(store, actor, "generate", action="generate drafts")
    created_by = actor.username

    if isinstance(mapping, (str, Path)):  # read now: the job keeps the mapping, not the file's path
        from brandvoice.crm.profiles import load_mapping

        mapping = load_mapping(mapping)
    config = config if isinstance(config, GenerationConfig) else GenerationConfig.from_dict(config)
    if adapter and base_model:
        raise ConfigError("Pass either an adapter or a base model, not both.",
                          hint="--adapter uses the adapter's own base model.")
    info = prompting.get_template(template, settings)
    if config.holdback and info.kind != "slots":
        raise ConfigError(f"Template {info.name!r} writes whole emails: it has no text of its own "
                          "to hold contacts back with.", hint="Use a slot template for a fair "
                          "test, or set the held-back share to 0.")
    adapter_info = _adapter(store, adapter)
    if base_model:
        from brandvoice import models

        models.resolve(base_model)
    brand_name = _brand(brand, adapter_info)
    paths = _input_paths(crm, activities)
    keep, intake = _usable_contacts(info, paths, mapping, skip_incomplete, unmap_optout)
    if config.backend == "openai":
        from brandvoice.generation.backends import open_backend

        open_backend(config, settings, adapter=adapter_info, base_model=base_model).close()
    params = {
        "crm": paths["CRM file"], "activities": paths.get("activities file"), "mapping": mapping,
        "template": info.name, "template_hash": info.hash,
        "adapter": adapter, "adapter_id": adapter_info.id if adapter_info else None,
        "base_model": base_model, "brand": brand_name, "config": config.to_dict(),
        "params_version": PARAMS_VERSION,
        "skip_incomplete": skip_incomplete, "created_by": created_by,
    }
    # The contacts are snapshotted with the job: the run reads them from the store, never the file
    # again (a file changed or removed after submit changes nothing).
    from brandvoice import crm as crm_mod

    def then(conn, job_id: int) -> None:
        crm_mod.snapshot_rows(conn, job_id, keep)
        if intake["optout_unmapped"]:  # confirmed by name: who let which opt-outs in
            store.audit(conn, "optout_unmapped", actor=created_by, job_id=job_id,
                        columns=intake["optout_unmapped"], crm=paths["CRM file"])

    return jobs.create(store, "generate", params, created_by=created_by,
                       total=len(keep) * config.variants, metrics={"intake": intake}, then=then)


def check_resumable(store: Store, job_id: int) -> int:
    """The id of a generate job that can be run again (StateError for any other kind of job)."""
    job = jobs.get(store, job_id)
    if job["kind"] != "generate":
        raise StateError(f"Job {job_id} is a {job['kind']} job, not a generate job.",
                         hint="List generate jobs with `brandvoice jobs list --kind generate`.")
    return job_id


def _missing_lines(gate: dict, crm_path: str) -> list[str]:
    rows = gate.get("rows") or {}
    return [f"{Path(crm_path).name} row {rows.get(key, '?')} (contact {key}): missing {', '.join(f)}"
            for key, f in (gate.get("missing") or {}).items()]


# --- run: the resumable loop -------------------------------------------------------------------

def _intake(store: Store, job: dict, reporter) -> tuple[list[tuple[int, dict]], dict]:
    """The job's contacts as (contacts.id, snapshot): snapshotted at submit, read from the store."""
    intake = (job.get("metrics") or {}).get("intake")
    with store.read() as conn:
        rows = conn.execute(sa.select(contacts_t.c.id, contacts_t.c.data)
                            .where(contacts_t.c.job_id == job["id"]).order_by(contacts_t.c.id)).all()
    if intake is None or not rows:
        raise StateError(f"Job {job['id']} has no snapshot of its contacts (it was queued by an "
                         "earlier version, or its submit did not finish).",
                         hint="Start the batch again (`brandvoice generate ...` or the Generate page).")
    reporter.log(f"{len(rows)} contacts from {Path(job['params']['crm']).name} "
                 f"({intake.get('profile')} profile, read at submit); skipped "
                 f"{intake.get('n_skipped_incomplete', 0)} incomplete, excluded "
                 f"{intake.get('n_excluded', 0)}, {intake.get('n_problems', 0)} row problems.")
    return [(r.id, r.data) for r in rows], intake


def renderer(settings: Settings, template, brand: str, extra: dict | None = None):
    """contact -> what the model is given: a whole-email template's brief, or a slot template's
    skeleton with the brand profile's greeting and sign-off in place (never the model's to write).
    A prompting.BoundedRenderer: every contact renders in a bounded worker process (time, memory,
    output), `.many(contacts, tick=...)` renders a job's contacts in one worker."""
    from brandvoice import prompting

    if template.kind != "slots":
        return prompting.BoundedRenderer(template, brand=brand, extra=extra)
    profile = prompting.load_profile(settings.guardrails_dir, brand)
    return prompting.BoundedRenderer(
        template, brand=brand, extra=extra,
        options=lambda c: {"signature": profile.signature, "greeting": profile.greeting_for(c)})


def preview(settings: Settings, template, contact: dict, brand: str, *, now=None) -> str:
    """What a template gives the model for one contact, as text: a whole-email brief, or a slot
    template's email with each slot shown as [[name (kind, ≤N words): fallback]]."""
    extra = {"now": now} if now is not None else None
    if template.kind != "slots":
        return renderer(settings, template, brand, extra)(contact)
    skeleton = renderer(settings, template, brand, extra)(contact)
    marks = {s.name: f"[[{s.name} ({s.kind}, ≤{s.words} words"
             + (f", must name {s.mention}" if s.mention else "") + f"): {s.fallback}]]"
             for s in skeleton.slots}
    subject, body = skeleton.fill(marks)
    return f"Subject: {subject}\n\n{body}"
