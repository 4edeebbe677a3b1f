"""Every rendering of a saved template in a job runs under the preview's bounds (time, memory,
output), a contact that hits one gets its own error, and a cancel ends a job whose rendering hangs."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from helpers_drafts import user

from brandvoice import jobs, prompting, worker
from brandvoice.errors import TemplateError
from brandvoice.generation.backends import GenOutput
from brandvoice.generation.batch import GenerationConfig, renderer, submit
from brandvoice.prompting import bounded
from brandvoice.store import drafts

CRM = """Record ID,First Name,Last Name,Email,Company Name,Job Title
1001,Dana,Reyes,dana@acme.com,Acme Corp,Controller
1002,Sam,Okafor,sam@globex.com,Globex,CFO
1003,Ana,Silva,ana@umbrella.com,Umbrella,Finance Lead
"""
# Inside every limit of the sandbox, yet hours of work for one contact (Sam): each iteration sorts
# 200,000 strings.
HANG = ("{% if first_name == 'Sam' %}{% for i in range(99999) %}"
        "{% set t = (range(99999)|map('string')|list + range(99999)|map('string')|list)|sort %}"
        "{% endfor %}{% endif %}")
EMAIL = """{#-
name: slowpoke
use_case: test
required_fields: first_name
-#}
{{ brief_header(campaign=use_case) }}
Task: write a short note.
HANG
<crm_data>
{{ contact|crm_fields }}
</crm_data>
""".replace("HANG", HANG)
SLOTS = """{#-
name: slowslots
kind: slots
use_case: test
required_fields: first_name
-#}
Subject: {% slot "subject", kind="subject" %}A note{% endslot %}

{{ greeting }}

HANG{% slot "opening", kind="opening" %}Thanks for your time.{% endslot %}

{{ signature }}
""".replace("HANG", HANG)


class Backend:
    label = "fake"
    info = {"backend": "fake"}

    def generate(self, requests):
        return [GenOutput(text=f"Subject: Hello\n\nHi there, a short note for you {r.seed}.",
                          prompt=r.user, new_tokens=5) for r in requests]

    def close(self):
        pass


class Verdict:
    status, tone_score, results = "pass", 0.9, []


class Guard:
    policy = None
    slot_library = None

    def check_many(self, items, batch_contacts=None):
        return [Verdict() for _ in items]

    def slot_problems(self, text, spec, contact, memo, **kw):
        return []


@pytest.fixture
def workspace_templates(settings, tmp_path, plugged):
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "slowpoke.j2").write_text(EMAIL, encoding="utf-8")
    (folder / "slowslots.j2").write_text(SLOTS, encoding="utf-8")
    settings.prompts_dir = folder
    plugged("backend", "fake", lambda config, settings, **kw: Backend())
    plugged("guard", "test", lambda settings, brand, *, store, adapter: Guard())
    settings.guard = "test"
    crm = tmp_path / "crm.csv"
    crm.write_text(CRM, encoding="utf-8")
    return crm


def _job(store, settings, crm, template: str) -> int:
    store.settings = settings
    return submit(store, settings, actor=user(store), crm=crm, template=template,
                  base_model="smollm2-135m-instruct", brand="Acme",
                  config=GenerationConfig(backend="fake", batch_size=4))


@pytest.mark.all_databases
@pytest.mark.parametrize("template", ["slowpoke", "slowslots"])
def test_a_contact_whose_rendering_hits_a_bound_fails_alone(store, settings, workspace_templates,
                                                           monkeypatch, template):
    monkeypatch.setattr(bounded, "CPU_S", 0.5)
    job_id = _job(store, settings, workspace_templates, template)
    job = worker.run(store, job_id)
    assert job["status"] == "done", job["error"]
    failed = job["result"]["run"]["render_failed"]
    assert [f["key"] for f in failed] == ["1002"]
    assert "rendering was stopped (over 0.5 s of CPU)" in failed[0]["error"]
    assert "1002" in job["log"] and "template failed to render" in job["log"]
    with store.read() as conn:
        keys = conn.execute(sa.select(sa.func.count()).select_from(drafts)
                            .where(drafts.c.job_id == job_id)).scalar()
    assert keys == 2  # Dana and Ana got their drafts


@pytest.mark.all_databases
def test_cancel_ends_a_job_whose_rendering_hangs(store, settings, workspace_templates,
                                                 monkeypatch):
    monkeypatch.setattr(bounded, "CPU_S", 3600)
    monkeypatch.setattr(bounded, "WALL_S", 3600)
    job_id = _job(store, settings, workspace_templates, "slowpoke")
    done: dict = {}
    runner = threading.Thread(target=lambda: done.update(job=worker.run(store, job_id)),
                              daemon=True)
    runner.start()
    deadline = threading.Event()
    for _ in range(1200):  # wait for the state (the job rendering), not for a time
        job = jobs.get(store, job_id)
        if (job.get("metrics") or {}).get("phase") == "rendering the template":
            break
        deadline.wait(0.1)
    else:
        pytest.fail(f"the job never reported rendering: {jobs.get(store, job_id)}")
    jobs.cancel(store, user(store), job_id)
    runner.join(120)
    assert not runner.is_alive(), "the job did not end after its cancel"
    assert done["job"]["status"] == "cancelled"


def test_the_bounds_hold_outside_a_job_too(settings, monkeypatch):
    monkeypatch.setattr(bounded, "CPU_S", 0.5)
    info = prompting.parse_template(EMAIL)
    contact = {"key": "1", "email": "s@x.example", "first_name": "Sam", "custom": {},
               "activities": []}
    with pytest.raises(TemplateError, match="over 0.5 s of CPU"):
        renderer(settings, info, "Acme")(contact)
    with pytest.raises(TemplateError, match="over 0.5 s of CPU"):
        prompting.preview(info, contact, brand="Acme")
    ok = renderer(settings, info, "Acme")({**contact, "first_name": "Dana"})
    assert ok.startswith("Campaign:") and "name: Dana" in ok


def test_a_worker_that_dies_costs_one_contact(monkeypatch):
    """A rendering that the memory cap ends (the worker may die of it) fails that contact only."""
    monkeypatch.setattr(bounded, "MEMORY_MB", 64)
    source = EMAIL.replace(HANG, "{% if first_name == 'Sam' %}{% set ns = namespace(x=[]) %}"
                                 "{% for i in range(1999) %}{% set ns.x = [ns.x, 'y' * 199999] %}"
                                 "{% endfor %}{{ ns.x|length }}{% endif %}")
    info = prompting.parse_template(source)
    people = [{"key": k, "email": f"{k}@x.example", "first_name": n, "custom": {}, "activities": []}
              for k, n in (("1", "Dana"), ("2", "Sam"), ("3", "Ana"))]
    with bounded.BoundedRenderer(info, brand="Acme") as r:
        outs = r.many(people)
    assert isinstance(outs[1], TemplateError) and "MB of memory" in str(outs[1])
    assert "name: Dana" in outs[0] and "name: Ana" in outs[2]


HEAD = """{#-
name: probe
use_case: probe case
-#}
{{ brief_header(campaign=use_case) }}
Task: greet them.
<crm_data>
"""


@pytest.mark.parametrize("expr,needle", [
    ("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
     "{% endfor %}", "joining with ~"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
     "{% endfor %}", "joining with +"),
    ("{{ ('x' * 1000)|replace('x', 'x' * 1000) }}", "replace"),
    ("{{ ('x' * 1000).replace('x', 'x' * 1000) }}", "replace"),
    ("{{ (['x' * 100000] * 100)|join }}", "join"),
    ("{{ ''.join(['x' * 100000] * 100) }}", "join"),
    ("{{ lipsum(1000, max=1000) }}", "lipsum"),
    ("{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
     "calls"),
    ("{{ ('x\\n' * 50000)|indent(1000) }}", "indent"),
    ("{{ ('x ' * 50000)|wordwrap(1, wrapstring='y' * 1000) }}", "wordwrap"),
    ("{{ '{0:{1}}'.format('x', 999999999) }}", "width from its arguments"),
    ("{{ '%*d' % (999999999, 1) }}", "width from its arguments"),
])
def test_the_sandbox_refuses_growth_before_it_happens(expr, needle):
    info = prompting.parse_template(HEAD + expr + "\n</crm_data>\n")
    contact = {"key": "1", "email": "d@x.example", "first_name": "Dana", "custom": {},
               "activities": []}
    with pytest.raises(TemplateError, match=needle):
        prompting.render(info, contact, brand="Acme")


def test_a_template_too_large_or_too_deep_is_refused_when_read():
    with pytest.raises(TemplateError, match="characters"):
        prompting.parse_template(HEAD + "x" * 200_000 + "\n</crm_data>\n")
    with pytest.raises(TemplateError, match="nest too deeply"):
        prompting.parse_template(HEAD + "{% if 1 %}" * 3000 + "{% endif %}" * 3000 + "</crm_data>")
