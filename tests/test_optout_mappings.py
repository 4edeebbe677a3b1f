"""Opt-out columns cannot be unmapped by accident: a mapping file, a saved mapping, a forced profile
or the page's editor that stops reading one is refused unless the column is confirmed by name
(audited); saving a mapping is role-checked and audited; a damaged or nested mapping file is a
clear error naming the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from brandvoice import crm, jobs
from brandvoice.cli import main
from brandvoice.crm.optouts import OptOutUnmapped
from brandvoice.errors import InputError, PermissionDenied
from brandvoice.generation.batch import GenerationConfig, submit
from brandvoice.store import audit

pytestmark = [pytest.mark.usefixtures("fast_hashes"), pytest.mark.all_databases]
DATA = Path(__file__).parent / "data" / "crm"
PW = "correct horse"
OPT = "Unsubscribed from all email"
STATUS = "Marketing contact status"


@pytest.fixture
def hubspot(tmp_path) -> Path:
    path = tmp_path / "hubspot.csv"
    shutil.copy(DATA / "hubspot_contacts.csv", path)
    return path


def _emails(result) -> set[str]:
    return {c["email"] for c in result.contacts}


@pytest.mark.parametrize("change", [
    {"opted_out": "Industry"},              # the flag read from another (empty) column
    {"notes": OPT},                          # the flag read as a note
    {"email": "Email", "marketing_status": "Contact owner"},  # the status column reassigned
])
def test_a_mapping_that_stops_reading_an_opt_out_column_is_refused(hubspot, tmp_path, change):
    before = crm.import_contacts(hubspot)
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps(change), encoding="utf-8")
    for mapping in (change, mapping_file):
        with pytest.raises(OptOutUnmapped, match="stops reading opt-out columns") as err:
            crm.import_contacts(hubspot, mapping=mapping)
        assert err.value.columns and set(err.value.columns) <= {OPT, STATUS}
    # confirmed by name: read that way, and said so
    confirmed = crm.import_contacts(hubspot, mapping=change, unmap_optout=err.value.columns)
    assert {d["column"] for d in confirmed.optout_unmapped} == set(err.value.columns)
    assert _emails(confirmed) > _emails(before)  # the unsubscribed are in: on purpose only


def test_a_forced_profile_cannot_drop_the_opt_out_column(hubspot):
    detected = crm.import_contacts(hubspot)
    forced = crm.import_contacts(hubspot, profile="generic")
    assert forced.profile == "generic" and forced.optout_unmapped == []
    assert forced.mapping["opted_out"] == OPT and _emails(forced) == _emails(detected)
    dropped = [d["column"] for d in crm.optouts.dropped(
        crm.preview(hubspot)[0], {"email": "Email"}, profile="generic")]
    assert set(dropped) == {OPT, STATUS}


def test_a_job_with_unmapped_opt_outs_needs_the_confirmation_and_audits_it(store, people,
                                                                          settings, hubspot):
    change = {"notes": OPT}
    cfg = GenerationConfig(backend="local")
    with pytest.raises(OptOutUnmapped):
        submit(store, settings, actor=people["mkt"], crm=hubspot, template="reengage_cold_lead",
               base_model="smollm2-135m-instruct", brand="Acme", config=cfg, mapping=change)
    job_id = submit(store, settings, actor=people["mkt"], crm=hubspot,
                    template="reengage_cold_lead", base_model="smollm2-135m-instruct",
                    brand="Acme", config=cfg, mapping=change, unmap_optout=[OPT])
    with store.read() as conn:
        (event,) = conn.execute(sa.select(audit).where(audit.c.action == "optout_unmapped")).all()
    assert event.actor == "marketer1" and event.details["job_id"] == job_id
    assert [c["column"] for c in event.details["columns"]] == [OPT]
    assert jobs.get(store, job_id)["metrics"]["intake"]["optout_unmapped"][0]["column"] == OPT


def test_saving_a_mapping_is_role_checked_audited_and_confirms_opt_outs(store, people, settings,
                                                                        hubspot):
    header, _ = crm.preview(hubspot)
    base = crm.import_contacts(hubspot).mapping
    with pytest.raises(PermissionDenied, match="save column mappings"):
        crm.save_mapping(settings, header, base, actor=people["rev"])
    with pytest.raises(PermissionDenied):
        crm.save_mapping(settings, header, base, actor=None)
    dropped = {**{k: v for k, v in base.items() if k != "opted_out"}, "notes": OPT}
    with pytest.raises(OptOutUnmapped):
        crm.save_mapping(settings, header, dropped, actor=people["mkt"])
    assert crm.saved_mapping(settings, header) is None
    crm.save_mapping(settings, header, dropped, actor=people["mkt"], unmap_optout=[OPT])
    with store.read() as conn:
        (event,) = conn.execute(sa.select(audit).where(audit.c.action == "mapping_save")).all()
    assert event.actor == "marketer1" and event.details["optout_unmapped"][0]["column"] == OPT
    # the saved mapping does not carry the confirmation to the next user: each import asks again
    with pytest.raises(OptOutUnmapped):
        crm.import_contacts(hubspot, mapping=crm.saved_mapping(settings, header))


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"header": "x"}', "\u0000\u0001",
                                     '{"header": HEADER, "mapping": {"email": ["x"]}}',
                                     '{"header": HEADER, "mapping": {"shoe": "Email"}}',
                                     "[" * 100_000 + "]" * 100_000])
def test_a_damaged_saved_mapping_is_named_not_a_crash(settings, hubspot, content):
    header, _ = crm.preview(hubspot)
    path = settings.home / "mappings" / f"{crm.header_key(header)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content.replace("HEADER", json.dumps(header)), encoding="utf-8")
    with pytest.raises(InputError, match="saved column mapping .* is damaged") as err:
        crm.saved_mapping(settings, header)
    assert str(path) in err.value.message and "Delete that file" in err.value.hint


@pytest.mark.parametrize("suffix,content", [
    (".json", "[" * 100_000 + "]" * 100_000),
    (".json", '{"email": {"a": {"b": 1}}}'),
    (".toml", "a = " + "[" * 100_000 + "]" * 100_000),
    (".json", "\"email\""),
])
def test_a_bad_mapping_file_is_named(tmp_path, hubspot, suffix, content):
    path = tmp_path / f"deep{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match="deep") as err:
        crm.load_mapping(path)
    assert "Unexpected" not in err.value.message
    res = CliRunner().invoke(main, ["crm", "check", str(hubspot), "--mapping", str(path)])
    assert res.exit_code != 0 and "deep" in res.output and "Unexpected" not in res.output


def test_the_cli_shows_the_refusal_and_takes_the_confirmation(hubspot, tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"notes": OPT}), encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(main, ["crm", "check", str(hubspot), "--mapping", str(path)])
    assert res.exit_code != 0 and "stops reading opt-out columns" in res.output and OPT in res.output
    res = runner.invoke(main, ["crm", "check", str(hubspot), "--mapping", str(path),
                               "--unmap-opt-out", OPT])
    assert res.exit_code == 0, res.output
    assert f"opt-out column '{OPT}'" in res.output
