"""Generation: config, seeds, local batching with a tiny model, the resumable job loop, merge check, CLI."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from helpers_drafts import user

from brandvoice import jobs, worker
from brandvoice.errors import ConfigError, InputError
from brandvoice.generation.backends import GenOutput, seed_for
from brandvoice.generation.batch import GenerationConfig, submit
from brandvoice.generation.guards import brand_guard
from brandvoice.store import audit, contacts, draft_versions, drafts, guardrail_results

CRM = """Record ID,First Name,Last Name,Email,Company Name,Job Title,Lifecycle Stage,Lead Status
1001,Dana,Reyes,dana@acme.com,Acme Corp,Controller,lead,Open
1002,Sam,Okafor,sam@globex.com,Globex,CFO,opportunity,In Progress
1003,,Lee,lee@initech.com,Initech,Accountant,lead,Open
1004,Ana,Silva,ana@umbrella.com,Umbrella,Finance Lead,lead,New
1005,Raj,Patel,raj@hooli.com,Hooli,VP Finance,customer,Open
"""
TEMPLATE = "reengage_cold_lead"  # needs first_name only: row 1003 is skipped as incomplete
BODY = "Hi there, this is a short follow-up with a concrete next step for your finance team."


@pytest.fixture
def crm_file(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CRM, encoding="utf-8")
    return path


class FakeBackend:
    """Deterministic answers derived from the seed; malformed for seeds in `bad`; can die mid-run."""

    label = "fake"

    def __init__(self, *, bad=(), die_on_call: int | None = None):
        self.bad, self.die_on_call = set(bad), die_on_call
        self.calls, self.seeds = 0, []
        self.info = {"backend": "fake"}

    def generate(self, requests):
        self.calls += 1
        if self.die_on_call is not None and self.calls >= self.die_on_call:
            raise RuntimeError("simulated kill")
        self.seeds.extend(r.seed for r in requests)
        return [GenOutput(text=("garbage" if r.seed in self.bad else f"Subject: Note {r.seed}\n\n{BODY}"),
                          prompt=f"{r.system}\n{r.user}", new_tokens=20) for r in requests]

    def close(self):
        pass


class FakeVerdict:
    def __init__(self, status, tone=0.8):
        self.status, self.tone_score, self.results = status, tone, []


class FakeGuard:
    """Fails every draft whose subject contains a listed seed; passes the rest."""

    def __init__(self, fail_subjects=()):
        self.fail_subjects = set(fail_subjects)
        self.checked = 0

    def check_many(self, items, batch_contacts=None):
        self.checked += len(items)
        return [FakeVerdict("fail" if it[0] in self.fail_subjects else "pass") for it in items]


@pytest.fixture
def use_guard(store, plugged):
    """use_guard(guard): the jobs of this test's store are guarded by `guard` (plugged in as the
    "test" guard, selected by the settings)."""
    def use(guard):
        plugged("guard", "test", lambda settings, brand, *, store, adapter: guard)
        store.settings.guard = "test"
        return guard
    return use


@pytest.fixture
def fake(plugged, use_guard):
    """The "fake" backend (a FakeBackend, returned) and a guard that passes every draft."""
    backend = FakeBackend()
    plugged("backend", "fake", lambda config, settings, **kw: backend)
    use_guard(FakeGuard())
    return backend


def checked(store, job_id) -> int:
    """How many of the job's drafts hold a guardrail verdict."""
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(drafts).where(
            drafts.c.job_id == job_id, drafts.c.verdict.is_not(None))).scalar()


def new_job(store, settings, crm_file, **config):
    cfg = GenerationConfig(**{"batch_size": 2, "candidates": 1, "backend": "fake", **config})
    return submit(store, settings, actor=user(store), crm=crm_file, template=TEMPLATE,
                  base_model="smollm2-135m-instruct", brand="Acme", config=cfg)


def job_drafts(store, job_id):
    with store.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(drafts).where(drafts.c.job_id == job_id)
                                              .order_by(drafts.c.id)).mappings()]


# --- config and seeds ---------------------------------------------------------------------------

def test_config_validation_names_each_bad_field():
    with pytest.raises(ConfigError) as err:
        GenerationConfig(variants=0, temperature=3.0, top_p=0, backend="openai")
    text = str(err.value)
    for field in ("variants", "temperature", "top_p", "server_url"):
        assert field in text
    with pytest.raises(ConfigError, match="tempature"):
        GenerationConfig.from_dict({"tempature": 0.5})
    cfg = GenerationConfig.from_dict(GenerationConfig(variants=3).to_dict())
    assert cfg.variants == 3 and cfg.temperature == 0.7 and cfg.repetition_penalty == 1.1


def test_seed_depends_only_on_slot():
    a = seed_for(1234, "1001", 0, 0)
    assert a == seed_for(1234, "1001", 0, 0)
    assert len({a, seed_for(1234, "1001", 1, 0), seed_for(1234, "1001", 0, 1),
                seed_for(1234, "1002", 0, 0), seed_for(99, "1001", 0, 0)}) == 5
    assert 0 <= a < 2**31


# --- the job loop with a fake backend --------------------------------------------------------

@pytest.mark.all_databases
def test_job_happy_path_stores_everything(store, settings, crm_file, fake, use_guard):
    guard = use_guard(FakeGuard())
    rules = settings.home / "guardrails"  # the brand profile: the layout around the model's text
    rules.mkdir(parents=True)
    (rules / "acme.toml").write_text('[brand]\nsignature = "— The Acme team"\n'
                                     'footer = "Acme Inc., 1 Main St. Unsubscribe: https://acme.example/u"\n',
                                     encoding="utf-8")
    settings.guardrails_dir = rules
    job_id = new_job(store, settings, crm_file, variants=2)
    assert jobs.get(store, job_id)["total"] == 8  # 4 complete contacts x 2 variants
    job = worker.run(store, job_id)
    assert job["status"] == "done", job["error"]
    rows = job_drafts(store, job_id)
    assert len(rows) == 8 and checked(store, job_id) == 8 and guard.checked == 8
    assert {r["variant"] for r in rows} == {0, 1}
    for r in rows:
        assert r["subject"] == f"Note {r['seed']}"
        greeting, _, rest = r["body"].partition("\n\n")
        assert re.fullmatch(r"Hi [A-Z][a-z]+,", greeting) and r["generated_body"] == r["body"]
        assert rest == ("This is a short follow-up with a concrete next step for your finance "
                        "team.\n\n— The Acme team\n\nAcme Inc., 1 Main St. Unsubscribe: "
                        "https://acme.example/u")
        assert r["template_name"] == TEMPLATE and len(r["template_hash"]) == 64
        assert r["adapter_label"] == "base:smollm2-135m-instruct" and r["verdict"] == "pass"
        assert r["settings"]["temperature"] == 0.7 and r["settings"]["attempts"] == 1
        assert "<crm_data>" in r["prompt"] and r["raw_output"].startswith("Subject:")
        assert r["state"] == "pending" and r["flags"] == ["signature_added"]  # the profile's
        assert r["created_by"] == "tester"
    with store.read() as conn:
        snap = {r.id: r for r in conn.execute(sa.select(contacts).where(contacts.c.job_id == job_id))}
        versions = conn.execute(sa.select(draft_versions)).all()
        events = conn.execute(sa.select(audit).where(audit.c.action == "create")).all()
    assert len(snap) == 4 and "1003" not in {s.contact_key for s in snap.values()}
    assert all(rows_c.data["key"] == rows_c.contact_key for rows_c in snap.values())
    assert {(v.draft_id, v.version, v.kind) for v in versions} == {(r["id"], 1, "generated") for r in rows}
    assert len(events) == 8
    result = job["result"]
    assert result["drafts"] == 8 and result["verdicts"] == {"pass": 8}
    assert result["intake"]["n_skipped_incomplete"] == 1
    assert result["intake"]["skipped_incomplete"][0]["missing"] == ["first_name"]
    assert job["done"] == job["total"] == 8 and job["progress"] == 1.0


@pytest.mark.all_databases
def test_the_crm_file_is_read_once_at_submit(store, settings, crm_file, fake):
    changed = new_job(store, settings, crm_file)
    crm_file.write_text(CRM.replace("Dana", "Zed").replace("1004,Ana", "1004,"), encoding="utf-8")
    job = worker.run(store, changed)  # the file changed after submit: the job writes what it read
    assert job["status"] == "done", job["error"]
    rows = job_drafts(store, changed)
    assert len(rows) == 4 and sum("Dana" in r["prompt"] for r in rows) == 1
    assert not any("Zed" in r["prompt"] for r in rows)
    assert job["result"]["intake"]["contacts"] == 4
    gone = new_job(store, settings, crm_file)  # 3 complete contacts in the changed file
    crm_file.unlink()
    job = worker.run(store, gone)
    assert job["status"] == "done", job["error"]
    assert sorted("Zed" in r["prompt"] for r in job_drafts(store, gone)) == [False, False, True]
    assert "read at submit" in job["log"]


@pytest.mark.all_databases
def test_seeds_reproducible_across_batch_sizes(store, settings, crm_file, fake):
    first = new_job(store, settings, crm_file, batch_size=1)
    second = new_job(store, settings, crm_file, batch_size=3)
    worker.run(store, first), worker.run(store, second)

    def by_slot(job_id):
        with store.read() as conn:
            keys = dict(conn.execute(sa.select(contacts.c.id, contacts.c.contact_key)
                                     .where(contacts.c.job_id == job_id)).all())
        return {(keys[r["contact_id"]], r["variant"]): (r["seed"], r["subject"]) for r in job_drafts(store, job_id)}

    assert by_slot(first) == by_slot(second)
    assert by_slot(first)[("1001", 0)][0] == seed_for(1234, "1001", 0, 0)


@pytest.mark.all_databases
def test_malformed_output_is_retried_then_flagged(store, settings, crm_file, fake):
    fake.bad = {seed_for(1234, "1001", 0, a) for a in range(3)} | {seed_for(1234, "1002", 0, 0)}
    job_id = new_job(store, settings, crm_file, max_tries=3)
    job = worker.run(store, job_id)
    assert job["status"] == "done"
    rows = {r["seed"]: r for r in job_drafts(store, job_id)}
    dana = rows[seed_for(1234, "1001", 0, 2)]  # all three attempts malformed: the last one kept
    assert dana["flags"] == ["malformed", "retried"]
    assert dana["verdict"] == "fail" and dana["settings"]["malformed_attempts"] == 3
    sam = rows[seed_for(1234, "1002", 0, 1)]  # second attempt parsed: a good draft
    assert "malformed" not in sam["flags"] and "retried" in sam["flags"] and sam["settings"]["attempts"] == 2
    with store.read() as conn:
        res = conn.execute(sa.select(guardrail_results).where(guardrail_results.c.draft_id == dana["id"])).all()
    assert [(r.check, r.status) for r in res] == [("format", "fail")] and "Subject" in res[0].message
    assert job["result"]["malformed"] == 1


@pytest.mark.all_databases
def test_guardrail_failure_is_retried_and_best_attempt_kept(store, settings, crm_file, fake, use_guard):
    s0, s1 = seed_for(1234, "1001", 0, 0), seed_for(1234, "1001", 0, 1)
    use_guard(FakeGuard({f"Note {s0}", f"Note {s1}"}))  # Dana fails twice, everyone else passes
    job_id = new_job(store, settings, crm_file, guard_tries=2)
    worker.run(store, job_id)
    rows = job_drafts(store, job_id)
    dana = [r for r in rows if r["seed"] in (s0, s1)]
    assert len(rows) == 4 and len(dana) == 1 and dana[0]["verdict"] == "fail"
    assert dana[0]["settings"]["guard_failed_attempts"] == 2 and dana[0]["seed"] == s0  # first kept on a tie


@pytest.mark.all_databases
def test_killed_job_resumes_without_duplicates_or_gaps(store, settings, crm_file, fake):
    job_id = new_job(store, settings, crm_file, variants=2, batch_size=3)
    fake.die_on_call = 2  # the first chunk (2 drafts: a small one, to show progress early) is committed
    job = worker.run(store, job_id)
    assert job["status"] == "failed" and "simulated kill" in job["error"]
    assert len(job_drafts(store, job_id)) == 2
    before = {r["id"]: r["subject"] for r in job_drafts(store, job_id)}
    fake.die_on_call = None
    jobs.resume(store, user(store), job_id)  # a user puts it back in the queue
    job = worker.run(store, job_id)
    assert job["status"] == "done"
    rows = job_drafts(store, job_id)
    slots = [(r["contact_id"], r["variant"]) for r in rows]
    assert len(slots) == len(set(slots)) == 8
    assert all(rows_by["subject"] == before[rows_by["id"]] for rows_by in rows if rows_by["id"] in before)
    worker.run(store, job_id)  # a finished job run again is a no-op
    assert len(job_drafts(store, job_id)) == 8


@pytest.mark.all_databases
def test_nul_bytes_in_model_output_are_stored_as_replacement_characters(store, settings, crm_file,
                                                                        fake, plugged):
    class NulBackend(FakeBackend):  # PostgreSQL refuses NUL in text: the job used to fail there
        def generate(self, requests):
            return [GenOutput(text=o.text.replace("follow-up", "follow\x00up"), prompt=o.prompt,
                              new_tokens=o.new_tokens) for o in super().generate(requests)]

    plugged("backend", "fake", lambda config, settings, **kw: NulBackend())
    job = worker.run(store, new_job(store, settings, crm_file))
    assert job["status"] == "done", job["error"]
    rows = job_drafts(store, job["id"])
    assert len(rows) == 4 and all("follow\ufffdup" in r["body"] and "\x00" not in r["raw_output"]
                                  for r in rows)


@pytest.mark.all_databases
def test_crash_inside_a_batch_commit_leaves_no_partial_batch(store, settings, crm_file, fake, use_guard):
    job_id = new_job(store, settings, crm_file, batch_size=2)
    n = {"verdicts": 0}

    class DiskFull:  # its results are read inside the chunk's transaction
        status, tone_score = "pass", 0.8

        @property
        def results(self):
            raise RuntimeError("disk full")

    class CrashingGuard(FakeGuard):
        def check_many(self, items, batch_contacts=None):
            out = []
            for verdict in super().check_many(items, batch_contacts):
                n["verdicts"] += 1  # first draft of the second batch written, then the crash
                out.append(DiskFull() if n["verdicts"] == 3 else verdict)
            return out

    use_guard(CrashingGuard())
    assert worker.run(store, job_id)["status"] == "failed"
    assert len(job_drafts(store, job_id)) == 2  # batch 2 rolled back entirely
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(draft_versions)).scalar() == 2
    use_guard(FakeGuard())
    jobs.resume(store, user(store), job_id)
    assert worker.run(store, job_id)["status"] == "done"
    assert len(job_drafts(store, job_id)) == 4


@pytest.mark.all_databases
def test_submit_validates_inputs_before_queueing(store, settings, crm_file, tmp_path, fast_hashes):
    from brandvoice.errors import NotFoundError, PermissionDenied

    me = user(store)
    with pytest.raises(PermissionDenied, match="only marketers or admins can generate drafts"):
        submit(store, settings, actor=user(store, "rita", "reviewer"), crm=crm_file,
               template=TEMPLATE, brand="Acme")
    with pytest.raises(PermissionDenied, match="signed-in user"):
        submit(store, settings, actor=None, crm=crm_file, template=TEMPLATE, brand="Acme")
    with pytest.raises(NotFoundError):
        submit(store, settings, actor=me, crm=crm_file, template="no_such_template", brand="Acme")
    with pytest.raises(InputError, match="does not exist"):
        submit(store, settings, actor=me, crm=tmp_path / "missing.csv", template=TEMPLATE, brand="Acme")
    with pytest.raises(InputError) as err:
        submit(store, settings, actor=me, crm=crm_file, template=TEMPLATE, brand="Acme",
               skip_incomplete=False)
    assert "row" in str(err.value) and "first_name" in str(err.value)
    with pytest.raises(ConfigError, match="brand"):
        submit(store, settings, actor=me, crm=crm_file, template=TEMPLATE)
    assert jobs.list_jobs(store) == []


@pytest.mark.all_databases
def test_a_job_without_guardrails_stores_nothing(store, settings, crm_file, fake, use_guard):
    use_guard(None)  # a guard that could not be built
    job = worker.run(store, new_job(store, settings, crm_file))
    assert job["status"] == "failed" and "could not be loaded" in job["error"]
    assert job_drafts(store, job["id"]) == []

    class Unsure(FakeGuard):  # a guard that returns no verdict for a draft
        def check_many(self, items, batch_contacts=None):
            return [None for _ in items]

    use_guard(Unsure())
    job = worker.run(store, new_job(store, settings, crm_file))
    assert job["status"] == "failed" and "has no guardrail verdict" in job["error"]
    assert job_drafts(store, job["id"]) == []


@pytest.mark.all_databases
def test_the_leakage_check_sees_every_contact_of_the_job(store, settings, crm_file, fake, use_guard):
    seen = []

    class Recording(FakeGuard):
        def check_many(self, items, batch_contacts=None):
            seen.append(len(batch_contacts or []))
            return super().check_many(items, batch_contacts)

    use_guard(Recording())
    job = worker.run(store, new_job(store, settings, crm_file, batch_size=1))
    assert job["status"] == "done" and len(seen) == 4 and set(seen) == {4}  # not the chunk of 1


@pytest.mark.all_databases
def test_template_changed_mid_job_stops_resume(store, settings, crm_file, fake, tmp_path):
    import shutil

    from brandvoice.config import Settings

    prompts = tmp_path / "prompts"
    shutil.copytree(settings.prompts_dir, prompts)
    own = Settings.from_env(prompts_dir=str(prompts))
    store.settings = own
    job_id = new_job(store, own, crm_file)
    path = prompts / f"{TEMPLATE}.j2"
    path.write_text(path.read_text() + "\nBe brief.\n")
    job = worker.run(store, job_id)
    assert job["status"] == "failed" and "changed since job" in job["error"]


# --- CLI ----------------------------------------------------------------------------------------

def test_cli_generate_and_resume(home, crm_file, fake, tmp_path, fast_hashes):
    from click.testing import CliRunner

    from brandvoice.cli import main
    from brandvoice.config import Settings
    from brandvoice.store import Store

    runner = CliRunner()
    args = ["generate", "--crm", str(crm_file), "--template", TEMPLATE, "--base-model",
            "smollm2-135m-instruct", "--brand", "Acme", "--batch-size", "2", "--backend", "fake"]
    fake.die_on_call = 2
    res = runner.invoke(main, args)
    assert res.exit_code == 1 and "signed-in user" in res.output  # generating needs a user
    user(Store(Settings.from_env()))
    env = {"BRANDVOICE_USER": "tester", "BRANDVOICE_PASSWORD": "correct horse",
           "BRANDVOICE_GUARD": "test"}  # the `fake` fixture's passing guard
    res = runner.invoke(main, args, env=env)
    assert res.exit_code == 1 and "--resume 1" in res.output, res.output
    fake.die_on_call = None
    res = runner.invoke(main, ["generate", "--resume", "1"], env=env)
    assert res.exit_code == 0, res.output
    assert "4 drafts" in res.output and "1 skipped as incomplete" in res.output
    bad = tmp_path / "map.json"
    bad.write_text('{"Email": 3}')
    res = runner.invoke(main, [*args, "--mapping", str(bad)], env=env)
    assert res.exit_code == 1 and "map.json" in res.output and "column names" in res.output
    res = runner.invoke(main, ["generate", "--template", TEMPLATE], env=env)
    assert res.exit_code == 2 and "--crm" in res.output
    assert "Traceback" not in res.output


# --- local backend with the tiny model ---------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_backend(tiny_model_dir, tmp_path_factory):
    from brandvoice.config import Settings
    from brandvoice.generation.local import LocalBackend

    settings = Settings(home=tmp_path_factory.mktemp("bv"))
    # float32: batch-composition independence is exact only in float32 (see generate_local's docstring)
    return LocalBackend.load(GenerationConfig(max_new_tokens=24, dtype="float32"), settings,
                             base_model=str(tiny_model_dir), brand="Acme")


def test_local_sampling_is_per_row_and_batch_independent(tiny_backend):
    from brandvoice.generation.backends import GenRequest

    reqs = [GenRequest("You write emails.", "Campaign: follow-up " * (i + 1), seed=100 + i) for i in range(4)]
    full = tiny_backend.generate(reqs)
    alone = tiny_backend.generate([reqs[2]])
    shuffled = tiny_backend.generate([reqs[3], reqs[2], reqs[0]])
    assert full[2].text == alone[0].text == shuffled[1].text
    assert full[0].text == shuffled[2].text and full[3].text == shuffled[0].text
    assert all(0 < o.new_tokens <= 24 for o in full)
    other = tiny_backend.generate([GenRequest(reqs[2].system, reqs[2].user, seed=999)])
    assert other[0].text != alone[0].text
    assert full[0].prompt.startswith("<|im_start|>system\nYou write emails.")
    assert tiny_backend.info["dtype"] == "float32"


def test_bfloat16_reproduces_the_same_batch(tiny_model_dir, settings):
    from brandvoice.generation.backends import GenRequest
    from brandvoice.generation.local import LocalBackend

    backend = LocalBackend.load(GenerationConfig(max_new_tokens=16, dtype="bfloat16"), settings,
                                base_model=str(tiny_model_dir), brand="Acme")
    reqs = [GenRequest("You write emails.", "Campaign: demo " * (i + 1), seed=7 + i) for i in range(3)]
    assert [o.text for o in backend.generate(reqs)] == [o.text for o in backend.generate(reqs)]
    assert backend.info["dtype"] == "bfloat16"


def test_tiny_model_garbage_is_retried_then_flagged_malformed(store, settings, crm_file, tiny_model_dir,
                                                               use_guard):
    use_guard(FakeGuard())
    cfg = GenerationConfig(batch_size=4, max_tries=2, max_new_tokens=16, candidates=1)
    job_id = submit(store, settings, actor=user(store), crm=crm_file, template=TEMPLATE,
                    base_model=str(tiny_model_dir),
                    brand="Acme", config=cfg)
    job = worker.run(store, job_id)
    assert job["status"] == "done", job["error"]
    rows = job_drafts(store, job_id)
    assert len(rows) == 4
    for r in rows:
        assert "malformed" in r["flags"] and r["verdict"] == "fail"
        assert r["settings"]["attempts"] == 2 and r["settings"]["serving"]["backend"] == "local"
        assert r["raw_output"] and r["prompt"].startswith("<|im_start|>system")
    assert job["result"]["malformed"] == 4 and 0 < job["result"]["run"]["new_tokens"] <= 4 * 2 * 16


# --- merged adapter check ----------------------------------------------------------------------

@pytest.fixture
def lora_model(tiny_model_dir, settings):
    import torch
    from peft import LoraConfig, get_peft_model

    from brandvoice import models

    tok = models.load_tokenizer(str(tiny_model_dir), settings)
    base = models.load_model(str(tiny_model_dir), "none", settings)
    torch.manual_seed(3)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            init_lora_weights=False))
    return model.eval(), tok


def _greedy(model, tok):
    from brandvoice.generation import local as generate_local

    prompt = generate_local.probe_prompt(tok, "Acme")
    return generate_local._generate(model, tok, [prompt], None, max_new_tokens=12, temperature=0.0,
                                    top_k=0, top_p=1.0, repetition_penalty=1.0)[0][0]


def test_merged_adapter_used_when_greedy_output_matches(lora_model):
    from brandvoice.generation.local import try_merge

    model, tok = lora_model
    reference = _greedy(model, tok)
    lines: list[str] = []
    served, facts = try_merge(model, tok, mode="auto", brand="Acme", log=lines.append)
    assert facts["merged"] is True and not hasattr(served, "peft_config")
    assert _greedy(served, tok) == reference
    assert "merged copy" in lines[0]


def test_merge_falls_back_when_outputs_differ(lora_model, monkeypatch):
    from brandvoice.generation import local as generate_local

    model, tok = lora_model
    reference = _greedy(model, tok)
    real, calls = generate_local._generate, {"n": 0}

    def diverging(*a, **k):
        calls["n"] += 1
        out = real(*a, **k)
        return [("X" + t, n, r, lp) for t, n, r, lp in out] if calls["n"] == 2 else out

    monkeypatch.setattr(generate_local, "_generate", diverging)
    lines: list[str] = []
    served, facts = generate_local.try_merge(model, tok, mode="auto", log=lines.append)
    monkeypatch.setattr(generate_local, "_generate", real)
    assert facts["merged"] is False and "differs" in facts["reason"] and "differs" in lines[0]
    assert served is model and hasattr(served, "peft_config")
    assert not any(getattr(m, "merged", False) for m in served.modules() if hasattr(m, "lora_A"))
    assert _greedy(served, tok) == reference


def test_merge_modes(lora_model, monkeypatch):
    from brandvoice.generation import local as generate_local

    model, tok = lora_model
    assert generate_local.try_merge(model, tok, mode="no")[1]["merged"] is False
    monkeypatch.setattr(generate_local, "_is_quantized", lambda m: True)
    assert "quantized" in generate_local.try_merge(model, tok, mode="auto")[1]["reason"]
    with pytest.raises(ConfigError, match="quantized"):
        generate_local.try_merge(model, tok, mode="yes")


# --- remote backend against a fake OpenAI-compatible server ------------------------------------

class FakeOpenAI:
    """http.server on 127.0.0.1 answering like vLLM; the first request gets 429, every 3rd a 500."""

    def __init__(self, models=("ledgerly-v1",)):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.models, self.payloads, self.count = list(models), [], 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, data, headers=None):
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self.reply(200, {"object": "list", "data": [{"id": m} for m in outer.models]})

            def do_POST(self):
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.count += 1
                    n = outer.count
                if n == 1:
                    return self.reply(429, {"error": "slow down"}, {"Retry-After": "0"})
                if n % 3 == 0:
                    return self.reply(500, {"error": "boom"})
                if payload.get("model") not in outer.models:
                    return self.reply(404, {"error": f"model {payload.get('model')} not found"})
                with outer.lock:
                    outer.payloads.append(payload)
                text = f"Subject: Hello {payload['seed']}\n\n{BODY}"
                self.reply(200, {"choices": [{"message": {"role": "assistant", "content": text},
                                              "finish_reason": "stop"}],
                                 "usage": {"prompt_tokens": 50, "completion_tokens": 17}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_server():
    server = FakeOpenAI()
    yield server
    server.close()


def remote_config(url, **kw):
    return GenerationConfig(**{"backend": "openai", "server_url": url, "backoff": 0.0, "concurrency": 3,
                               "candidates": 1, **kw})


def test_remote_backend_retries_and_keeps_order(fake_server, settings):
    from brandvoice.generation.backends import GenRequest
    from brandvoice.generation.remote import OpenAIBackend

    lines: list[str] = []
    backend = OpenAIBackend.from_config(remote_config(fake_server.url), settings, log=lines.append)
    assert backend.model == "ledgerly-v1"  # the only model served
    reqs = [GenRequest("sys", f"brief {i}", seed=500 + i) for i in range(7)]
    outs = backend.generate(reqs)
    backend.close()
    assert [o.text.splitlines()[0] for o in outs] == [f"Subject: Hello {500 + i}" for i in range(7)]
    assert all(o.new_tokens == 17 for o in outs)
    assert backend.retries >= 3 and any("HTTP 429" in ln for ln in lines) and any("HTTP 500" in ln for ln in lines)
    sent = fake_server.payloads[0]
    assert sent["messages"][0] == {"role": "system", "content": "sys"}
    assert sent["temperature"] == 0.7 and sent["top_p"] == 0.9 and sent["repetition_penalty"] == 1.1
    assert json.loads(outs[0].prompt)[1]["content"].startswith("brief")


def test_remote_backend_errors_are_clear(fake_server, settings):
    from brandvoice.errors import ModelError
    from brandvoice.generation.backends import GenRequest
    from brandvoice.generation.remote import OpenAIBackend

    with pytest.raises(ModelError, match="does not serve model 'other'.*ledgerly-v1"):
        OpenAIBackend.from_config(remote_config(fake_server.url, model="other"), settings)
    with pytest.raises(ModelError, match="Cannot reach"):
        OpenAIBackend.from_config(remote_config("http://127.0.0.1:9", http_retries=0), settings)
    fake_server.models.append("base")  # now two models: the name must be given
    with pytest.raises(ModelError, match="--model"):
        OpenAIBackend.from_config(remote_config(fake_server.url), settings)
    backend = OpenAIBackend.from_config(remote_config(fake_server.url, model="base", http_retries=1),
                                        settings)
    fake_server.count = 2  # next request is the 3rd: HTTP 500, and only one retry allowed
    fake_server.models.remove("base")  # the retry then gets a 404: not retried, reported
    with pytest.raises(ModelError, match="HTTP 404"):
        backend.generate([GenRequest("s", "u", seed=1)])
    backend.close()


def test_remote_job_end_to_end(store, settings, crm_file, fake_server, use_guard):
    use_guard(FakeGuard())
    cfg = remote_config(fake_server.url, variants=2, batch_size=4)
    job_id = submit(store, settings, actor=user(store), crm=crm_file, template=TEMPLATE,
                    brand="Acme", config=cfg)
    job = worker.run(store, job_id)
    assert job["status"] == "done", job["error"]
    rows = job_drafts(store, job_id)
    assert len(rows) == 8 and all(r["subject"] == f"Hello {r['seed']}" for r in rows)
    assert all(r["flags"] == [] and r["settings"]["serving"]["backend"] == "openai" for r in rows)
    assert job["result"]["run"]["new_tokens"] == 8 * 17


def test_real_guardrails_results_are_stored_with_each_draft(store, settings, crm_file, fake, use_guard,
                                                            fake_embedder):
    use_guard(brand_guard(settings, "Ledgerly", store=store, embedder=fake_embedder, tone=False))
    job_id = new_job(store, settings, crm_file, guard_tries=1)
    assert worker.run(store, job_id)["status"] == "done"
    rows = job_drafts(store, job_id)
    with store.read() as conn:
        results = conn.execute(sa.select(guardrail_results.c.draft_id, guardrail_results.c.check,
                                         guardrail_results.c.status)).all()
    assert len(rows) == 4
    for r in rows:
        mine = [x for x in results if x.draft_id == r["id"]]
        assert mine and {x.check for x in mine} >= {"policy"}
        worst = max((x.status for x in mine), key=["pass", "warn", "fail"].index)
        assert r["verdict"] == worst and "unchecked" not in r["flags"]


# --- regenerating a rejected draft -------------------------------------------------------------

@pytest.mark.all_databases
def test_regenerate_a_rejected_draft(store, settings, crm_file, fake):
    from brandvoice import review
    from brandvoice.review.regenerate import SEED_STRIDE, regenerate

    job_id = new_job(store, settings, crm_file)
    worker.run(store, job_id)
    first = job_drafts(store, job_id)[0]
    rev, mkt = user(store, "rita", "reviewer"), user(store, "mo", "marketer")
    review.reject(store, rev, first["id"], expected_version=1, reason_code="tone")
    new_id = regenerate(store, mkt, first["id"])
    child = review.get_draft(store, new_id)
    with store.read() as conn:
        key = conn.execute(sa.select(contacts.c.contact_key).where(contacts.c.id == first["contact_id"])).scalar()
    assert child["parent_id"] == first["id"] and child["attempt"] == 1 and child["state"] == "pending"
    assert child["seed"] == seed_for(1234, key, 0, SEED_STRIDE) != first["seed"]
    assert child["subject"] == f"Note {child['seed']}" and child["created_by"] == "mo"
    assert child["template_hash"] == first["template_hash"] and child["verdict"] == "pass"


def test_repeated_prompts_share_their_prefill_and_line_counts_stop_at_the_break(tiny_model_dir):
    """Best of k sends each prompt k times: the prompt is read once and its cache copied, which
    changes no greedy answer; a request for n lines ends at the break after its n-th line."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from brandvoice.generation import local

    tok = AutoTokenizer.from_pretrained(tiny_model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    a, b = "Write the opening line.", "Write the subject line, please."
    kw = dict(max_new_tokens=12, temperature=0.0, top_k=0, top_p=1.0, repetition_penalty=1.0)
    alone = [local._generate(model, tok, [p], None, **kw)[0][0] for p in (a, b)]
    shared = [r[0] for r in local._generate(model, tok, [a, a, b, b], None, **kw)]
    assert shared == [alone[0], alone[0], alone[1], alone[1]]
    assert local._shared_prefill(model, [a, b], tok([a, b], return_tensors="pt",
                                                     padding=True)) is None
    lines = local._Lines(tok, 0, [1, 2])
    nl = tok("\n", add_special_tokens=False)["input_ids"][-1]
    word = tok("Hello", add_special_tokens=False)["input_ids"]
    row = [nl, *word, nl, nl, *word, nl, *word]
    assert lines.break_at(row, 1) == 1 + len(word)  # a leading break is skipped
    assert lines.break_at(row, 2) == 3 + 2 * len(word)  # a blank line is not a line of text
    assert lines.break_at(word, 1) is None
    for _text, n, _, _ in local._generate(model, tok, [a, b], None, lines=[1, 0], **kw):
        assert n <= 12
    first = local._generate(model, tok, [a, b], None, lines=1, **kw)
    assert all("\n" not in text.strip() for text, _, _, _ in first)


def test_a_shared_prefix_is_read_once_and_rows_keep_their_own_budgets(tiny_model_dir):
    """The system turn every prompt starts with is read once for the batch (padding goes after
    it): no greedy answer changes. Prompts of different budgets share one loop, each row stopping
    at its own budget."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from brandvoice import models
    from brandvoice.generation import local

    tok = AutoTokenizer.from_pretrained(tiny_model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    system = "You write short emails for Ledgerly."
    prompts = [models.prompt_text(tok, system, u) for u in
               ("Write the opening line.", "Write the subject line, please.", "Ask one question.")]
    prefix = models.prompt_prefix(tok, system)
    assert prefix and all(p.startswith(prefix) for p in prompts)
    enc, n = local._encode(tok, prompts, prefix)
    assert n == len(tok(prefix, add_special_tokens=False)["input_ids"])
    assert (enc["attention_mask"][:, :n] == 1).all()  # the prefix, unpadded, in every row
    kw = dict(temperature=0.0, top_k=0, top_p=1.0, repetition_penalty=1.1)
    alone = [local._generate(model, tok, [p], None, max_new_tokens=b, **kw)[0]
             for p, b in zip(prompts, (4, 12, 7), strict=True)]
    together = local._generate(model, tok, prompts, None, max_new_tokens=[4, 12, 7], prefix=prefix,
                               **kw)
    assert [r[0] for r in together] == [r[0] for r in alone]
    assert [r[1] for r in together] == [r[1] for r in alone]
    assert all(r[1] <= b for r, b in zip(together, (4, 12, 7), strict=True))
    # A prefix that a prompt does not start with is not used (plain left padding).
    assert local._encode(tok, prompts + ["Something else"], prefix)[1] == 0


def test_a_whole_email_job_reports_progress_from_its_first_token(store, settings, crm_file,
                                                                tiny_model_dir, use_guard):
    """A chunk of whole emails decodes for minutes on a CPU: the job's progress and time left move
    with every token, not only when the chunk is stored (it once sat at 0 for 280 s)."""
    use_guard(FakeGuard())
    cfg = GenerationConfig(batch_size=4, max_tries=1, max_new_tokens=24, candidates=1)
    job_id = submit(store, settings, actor=user(store), crm=crm_file, template=TEMPLATE,
                    base_model=str(tiny_model_dir), brand="Acme", config=cfg)
    seen = []
    job = worker.run(store, job_id, echo=lambda pending: seen.append(
        (pending.get("done"), dict(pending.get("metrics") or {}))))
    assert job["status"] == "done", job["error"]
    early = [m for done, m in seen if m.get("chunk_tokens") and not job_drafts_before(seen, m)]
    assert early, "no progress while the first chunk decoded"
    first = early[0]
    assert 0 < first["partial"] < 1 and first["eta_s"] is not None and first["eta_s"] > 0
    assert first["chunk_budget"] == 24 and first["phase"] == "writing"


def job_drafts_before(seen, metrics) -> bool:
    """Whether a draft was stored before this progress report (the job's done count moved)."""
    index = next(i for i, (_, m) in enumerate(seen) if m is metrics)
    return any(done for done, _ in seen[:index] if done)
