"""CRM import: profile detection per tool, bad files, validation, activities, snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from brandvoice import crm
from brandvoice.crm.activities import activity_type, parse_timestamp
from brandvoice.errors import InputError

DATA = Path(__file__).parent / "data" / "crm"
REPO = Path(__file__).resolve().parent.parent


def by_key(result) -> dict[str, dict]:
    return {c["key"]: c for c in result.contacts}


# --- profiles -------------------------------------------------------------------------------------
def test_hubspot_export_is_detected_and_mapped():
    r = crm.import_contacts(DATA / "hubspot_contacts.csv")
    assert r.profile == "hubspot"
    assert r.mapping["key"] == "Record ID" and r.mapping["company"] == "Company Name"
    assert r.mapping["country"] == "Country/Region"
    assert r.stats["encoding"] == "utf-8-sig"  # written with a BOM; the BOM is not in the header
    dana = by_key(r)["1001"]
    assert dana["first_name"] == "Dana" and dana["company"] == "Acme Corp"
    assert dana["lifecycle_stage"] == "Opportunity" and dana["lead_status"] == "Open Deal"
    assert dana["custom"] == {"Contact owner": "Jordan Blake", "Last Activity Date": "2026-11-18",
                              "Industry": "Logistics"}
    assert dana["source"] == {"file": "hubspot_contacts.csv", "row": 2, "profile": "hubspot"}
    assert by_key(r)["1002"]["last_name"] == "Núñez"
    assert set(dana) == {"key", "email", "first_name", "last_name", "company", "job_title",
                         "lifecycle_stage", "lead_status", "deal_stage", "phone", "city", "country",
                         "notes", "custom", "activities", "source"}
    json.dumps(r.contacts)  # snapshots are JSON-able


def test_hubspot_opt_outs_are_excluded_with_reason():
    r = crm.import_contacts(DATA / "hubspot_contacts.csv")
    reasons = {e["email"]: e["reason"] for e in r.excluded}
    assert "Unsubscribed from all email" in reasons["kim.lee@orbit.example"]
    assert "Non-marketing contact" in reasons["pat.moss@harbor.example"]
    assert {"1003", "1004"}.isdisjoint(by_key(r))
    assert not r.problems  # opting out is a choice, not a data problem


def test_salesforce_api_names():
    r = crm.import_contacts(DATA / "salesforce_leads_api.csv")
    assert r.profile == "salesforce"
    assert r.mapping["first_name"] == "FirstName" and r.mapping["opted_out"] == "HasOptedOutOfEmail"
    marcus = by_key(r)["00Q5g00000AbCdEEAV"]
    assert marcus["notes"] == "Asked for a SOC 2 report.\nUses NetSuite."  # multi-line quoted cell
    assert marcus["lead_status"] == "Working - Contacted"
    assert marcus["custom"]["LeadSource"] == "Webinar"
    assert any("HasOptedOutOfEmail" in e["reason"] and e["email"].startswith("leo") for e in r.excluded)
    assert any("invalid email 'ana.silva@@maple.example'" in p and "row 5" in p for p in r.problems)


def test_salesforce_report_labels_in_windows_1252():
    r = crm.import_contacts(DATA / "salesforce_contacts_report.csv")
    assert r.profile == "salesforce"
    assert r.stats["encoding"] == "cp1252"
    assert r.mapping["key"] == "Contact ID" and r.mapping["company"] == "Account Name"
    people = by_key(r)
    assert people["0035g00000QrStUAAV"]["first_name"] == "Jürgen"
    assert people["0035g00000QrStUAAV"]["city"] == "München"
    assert "“quick”" in people["0035g00000QrStWAAV"]["notes"]
    assert [e["reason"] for e in r.excluded] == ["opted out (Email Opt Out: 1)"]


def test_pipedrive_persons_split_names_and_fall_back_to_home_email():
    r = crm.import_contacts(DATA / "pipedrive_persons.csv")
    assert r.profile == "pipedrive"
    assert r.mapping["full_name"] == "Person - Name" and r.mapping["lead_status"] == "Person - Label"
    people = by_key(r)
    assert (people["17"]["first_name"], people["17"]["last_name"]) == ("Hannah", "Lindqvist")
    assert (people["18"]["first_name"], people["18"]["last_name"]) == ("Kevin", "Osei")  # "Osei, Kevin"
    assert people["18"]["email"] == "kevin.osei@gmail.example"
    reasons = sorted(e["reason"] for e in r.excluded)
    assert reasons == ["opted out (Person - Marketing status: No consent)",
                       "opted out (Person - Marketing status: Unsubscribed)"]


@pytest.mark.parametrize("mapping_file", ["generic_mapping.json", "generic_mapping.toml"])
def test_generic_file_with_mapping_file(mapping_file):
    r = crm.import_contacts(DATA / "generic_contacts.csv", mapping=DATA / mapping_file)
    assert r.profile == "mapping" and r.stats["delimiter"] == "semicolon"
    people = by_key(r)
    assert people["K-1"]["first_name"] == "Anna" and people["K-1"]["custom"] == {"Region": "Nord"}
    assert "K-2" not in people  # "Newsletter abgemeldet: ja" (German yes) opts out
    assert r.excluded == [{"row": 3, "email": "tobias.weber@rhein.example",
                           "reason": "opted out (Newsletter abgemeldet: ja)"}]


def test_mapping_dict_either_direction_and_errors():
    forward = crm.import_contacts(DATA / "generic_contacts.csv",
                                  mapping={"email": "E-Mail-Adresse", "first_name": "Vorname"})
    backward = crm.import_contacts(DATA / "generic_contacts.csv",
                                   mapping={"E-Mail-Adresse": "email", "Vorname": "first_name"})
    assert forward.mapping == backward.mapping
    assert forward.contacts[0]["first_name"] == "Anna" and forward.contacts[0]["key"] == "anna.schmidt@nordlicht.example"
    with pytest.raises(InputError) as exc:
        crm.import_contacts(DATA / "generic_contacts.csv", mapping={"email": "E-Mail", "shoe_size": "Phase"})
    text = str(exc.value)
    assert "did you mean 'E-Mail-Adresse'" in text and "unknown field 'shoe_size'" in text


def test_file_without_email_column_needs_a_mapping():
    with pytest.raises(InputError) as exc:
        crm.import_contacts(DATA / "generic_contacts.csv")
    assert "no email column" in str(exc.value) and "--mapping" in str(exc.value)


def test_generic_names_and_tab_delimiter():
    r = crm.import_contacts(DATA / "generic_tabs.tsv")
    assert r.profile == "generic" and r.stats["delimiter"] == "tab"
    assert [c["email"] for c in r.contacts] == ["ava@tab.example"]
    assert r.contacts[0]["custom"] == {"favourite_color": "teal"}
    assert r.excluded[0]["reason"] == "opted out (do_not_email: yes)"


def test_forced_and_unknown_profile():
    r = crm.import_contacts(DATA / "hubspot_contacts.csv", profile="generic")
    assert r.profile == "generic"
    with pytest.raises(InputError, match="Unknown CRM profile"):
        crm.import_contacts(DATA / "hubspot_contacts.csv", profile="zoho")


# --- bad files ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,message", [
    ("empty.csv", "empty.csv is empty"),
    ("header_only.csv", "header_only.csv has a header row but no contacts"),
    ("binary_junk.csv", "binary_junk.csv is not a text CSV file"),
    ("excel_workbook.csv", "looks like an Excel workbook"),
    ("wrong_delimiter.csv", "none of its 2 rows has as many fields as the header"),
    ("missing.csv", "does not exist"),
])
def test_bad_files_raise_input_errors_naming_the_file(name, message):
    with pytest.raises(InputError) as exc:
        crm.import_contacts(DATA / name)
    assert message in str(exc.value)
    assert exc.value.hint


def test_whitespace_only_file_is_empty(tmp_path):
    p = tmp_path / "blank.csv"
    p.write_text("\n \r\n\t\n")
    with pytest.raises(InputError, match="blank.csv is empty"):
        crm.import_contacts(p)


def test_ten_megabyte_cell_is_reported_and_other_rows_kept(tmp_path):
    p = tmp_path / "huge.csv"
    with open(p, "w", newline="") as fh:
        fh.write("Email,First Name,Notes\n")
        fh.write("a@x.example,Ann,short\n")
        fh.write("b@x.example,Ben," + "x" * 10_000_000 + "\n")
        fh.write("c@x.example,Cy,short\n")
    r = crm.import_contacts(p)
    assert [c["email"] for c in r.contacts] == ["a@x.example", "c@x.example"]
    assert any("huge.csv row 3" in p and "131,072-character limit" in p for p in r.problems)


def test_cell_limit_holds_when_the_global_csv_limit_was_raised(tmp_path):
    import csv

    p = tmp_path / "big.csv"
    p.write_text("Email,Notes\na@x.example,ok\nb@x.example," + "y" * 200_000 + "\n")
    old = csv.field_size_limit()
    csv.field_size_limit(10**9)
    try:
        r = crm.import_contacts(p)
    finally:
        csv.field_size_limit(old)
    assert [c["email"] for c in r.contacts] == ["a@x.example"]
    assert any("big.csv row 3" in p for p in r.problems)


def test_utf16_and_semicolon_export(tmp_path):
    p = tmp_path / "excel_unicode.csv"
    p.write_text("Email;First Name;Company\r\nzoe@z.example;Zoë;Zürich AG\r\n", encoding="utf-16")
    r = crm.import_contacts(p)
    assert r.contacts[0]["first_name"] == "Zoë" and r.stats["delimiter"] == "semicolon"


def test_a_repeated_mapped_column_is_an_error_and_other_repeats_are_kept(tmp_path):
    p = tmp_path / "two.csv"
    p.write_text("Email,First Name,email\na@x.example,Ann,b@x.example\n")
    with pytest.raises(InputError) as exc:
        crm.import_contacts(p)
    assert "CRM file two.csv: column 'Email' appears 2 times in the header (row 1)" in str(exc.value)
    assert exc.value.hint
    chosen = crm.import_contacts(p, mapping={"email": "email"})  # a mapping picks one by its label
    assert [c["email"] for c in chosen.contacts] == ["b@x.example"]
    p.write_text("Email,Region,Region\na@x.example,North,South\n")
    assert crm.import_contacts(p).contacts[0]["custom"] == {"Region": "North", "Region (2)": "South"}


def test_unclosed_quote_at_the_end_names_the_row(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('Email,Notes\na@x.example,ok\nb@x.example,"never closed\nc@x.example,x\n')
    with pytest.raises(InputError, match="q.csv row 3: a quote opened in this row is never closed"):
        crm.import_contacts(p)


def test_control_characters_are_stripped(tmp_path):
    p = tmp_path / "ctl.csv"
    p.write_text("Email,First Name\ndana@x.example,Da\x07na\x1b\n")
    assert crm.import_contacts(p).contacts[0]["first_name"] == "Dana"


# --- validation -----------------------------------------------------------------------------------
def test_validation_rows():
    r = crm.import_contacts(DATA / "validation.csv")
    assert [c["key"] for c in r.contacts] == ["1", "11", "12"]
    excluded = {e["row"]: e["reason"] for e in r.excluded}
    assert excluded[3] == "invalid email 'bob@'"
    assert excluded[4].startswith("missing email")
    assert excluded[5] == "duplicate of row 2 (same email), which is kept"
    assert excluded[6] == "duplicate of row 2 (same record id '1')"
    assert excluded[7].startswith("opted out")
    # Finn opted out on a later duplicate row: the earlier, opted-in row is dropped too.
    assert excluded[8].startswith("opted out") and excluded[9].startswith("opted out")
    assert excluded[10].startswith("11 fields, the header has 9")
    assert excluded[11].startswith("4 fields")
    people = by_key(r)
    assert people["11"]["email"] == "jo.park@park.example"  # "Jo Park <...>", trailing empty cells
    assert people["12"]["source"]["row"] == 14  # a blank row still counts, as in a spreadsheet
    assert "validation.csv row 3: invalid email 'bob@'" in r.problems
    assert not any("opted out" in p for p in r.problems)


@pytest.mark.parametrize("email,ok", [
    ("dana@acme.com", True), ("d.r+crm@acme.co.uk", True), ("bob@", False), ("@acme.com", False),
    ("dana@acme", False), ("dana acme@acme.com", False), ("dana..r@acme.com", False),
    ("dana@acme.c", False), ("a@b@c.com", False),
])
def test_valid_email(email, ok):
    assert crm.valid_email(email) is ok


# --- activities -----------------------------------------------------------------------------------
def test_activities_join_newest_first_and_set_deal_stage():
    r = crm.import_contacts(DATA / "hubspot_contacts.csv", activities=DATA / "activities.csv")
    people = by_key(r)
    dana = people["1001"]
    stamps = [a["timestamp"] for a in dana["activities"]]
    assert stamps == sorted(stamps, reverse=True)
    assert [a["type"] for a in dana["activities"]] == [
        "email_opened", "deal_stage_change", "demo_attended", "content_download"]
    assert dana["activities"][1]["timestamp"] == "2026-11-19T07:00:00Z"  # +02:00 converted to UTC
    assert dana["activities"][3]["timestamp"] == "2026-11-02T10:30:00Z"  # US date with AM/PM
    assert dana["deal_stage"] == "Negotiation"
    sam = people["1006"]  # joined by email for the webinar, by id for the rest
    assert [a["type"] for a in sam["activities"]] == ["deal_stage_change", "webinar_attended",
                                                     "meeting_no_show"]
    assert sam["activities"][1]["detail"] == 'attended the webinar "Closing in 5 days"'
    assert sam["deal_stage"] == "Proposal sent"
    problems = "\n".join(r.problems)
    assert "activities.csv row 9: cannot read timestamp 'yesterday-ish'" in problems
    assert "activities.csv row 10: no contact id or email" in problems
    assert "activities.csv row 11: no activity type" in problems
    assert "1 activity references no imported contact" in problems and "9999" in problems
    assert r.stats["activities"]["unmatched"] == 1


def test_deal_stage_from_crm_wins_over_activities(tmp_path):
    crm_file = tmp_path / "c.csv"
    crm_file.write_text("Record ID,Email,Deal Stage\n1,a@x.example,Closed won\n")
    acts = tmp_path / "a.csv"
    acts.write_text("contact_id,type,timestamp,detail\n1,Deal stage change,2026-01-01,moved to Negotiation\n")
    r = crm.import_contacts(crm_file, activities=acts)
    assert r.contacts[0]["deal_stage"] == "Closed won"


def test_activity_file_without_required_columns(tmp_path):
    acts = tmp_path / "a.csv"
    acts.write_text("who,what\n1,demo\n")
    with pytest.raises(InputError, match="has no column for: contact id or email, type, timestamp"):
        crm.import_contacts(DATA / "hubspot_contacts.csv", activities=acts)


@pytest.mark.parametrize("text,iso", [
    ("2026-11-02T10:00:00Z", "2026-11-02T10:00:00"), ("2026-11-02", "2026-11-02T00:00:00"),
    ("11/02/2026", "2026-11-02T00:00:00"), ("11/2/26", "2026-11-02T00:00:00"),
    ("25/11/2026", "2026-11-25T00:00:00"), ("Nov 2, 2026", "2026-11-02T00:00:00"),
    ("2 November 2026", "2026-11-02T00:00:00"), ("11/02/2026 3:15 PM", "2026-11-02T15:15:00"),
    ("1762077600", "2025-11-02T10:00:00"), ("2026-11-02T12:00:00+02:00", "2026-11-02T10:00:00"),
])
def test_parse_timestamp(text, iso):
    assert parse_timestamp(text).replace(tzinfo=None).isoformat() == iso


def test_parse_timestamp_rejects_junk():
    assert parse_timestamp("soon") is None and parse_timestamp("") is None


def test_activity_type_aliases():
    assert activity_type("Attended webinar") == "webinar_attended"
    assert activity_type("Meeting no-show") == "meeting_no_show"
    assert activity_type("Downloaded") == "content_download"
    assert activity_type("Custom Thing!") == "custom_thing"


# --- demo data ------------------------------------------------------------------------------------
def test_demo_export_imports_cleanly():
    r = crm.import_contacts(REPO / "data" / "crm_hubspot_ledgerly.csv",
                            activities=REPO / "data" / "activities_ledgerly.csv")
    assert r.profile == "hubspot" and not r.problems
    assert len(r.contacts) == 39 and len(r.excluded) == 1
    assert sum(1 for c in r.contacts if not c["first_name"]) == 2
    assert r.stats["activities"]["unmatched"] == 0 and r.stats["activities"]["joined"] >= 100


# --- snapshots ------------------------------------------------------------------------------------
@pytest.mark.all_databases
def test_snapshot_is_idempotent(store):
    from brandvoice import jobs
    from brandvoice.store import contacts as table

    job_id = jobs.create(store, "generate", {})
    r = crm.import_contacts(DATA / "hubspot_contacts.csv", activities=DATA / "activities.csv")
    first = crm.snapshot_contacts(store, job_id, r.contacts[:2])
    again = crm.snapshot_contacts(store, job_id, r.contacts)
    assert {k: again[k] for k in first} == first
    assert set(again) == {c["key"] for c in r.contacts}
    assert crm.snapshot_contacts(store, job_id, r.contacts) == again
    with store.read() as conn:
        rows = conn.execute(sa.select(table).where(table.c.job_id == job_id)).mappings().all()
    assert len(rows) == len(r.contacts)
    dana = next(row for row in rows if row["contact_key"] == "1001")
    assert dana["data"] == by_key(r)["1001"] and dana["row_number"] == 2
    assert dana["source_file"] == "hubspot_contacts.csv" and dana["first_name"] == "Dana"
    other_job = jobs.create(store, "generate", {})
    assert set(crm.snapshot_contacts(store, other_job, r.contacts[:1]).values()).isdisjoint(again.values())


@pytest.mark.all_databases
def test_fields_longer_than_their_columns_are_reported_not_stored(store, tmp_path):
    from brandvoice import jobs
    from brandvoice.crm.importer import FIELD_LIMITS
    from brandvoice.store import contacts as table

    columns = {"key": "contact_key", "first_name": "first_name", "last_name": "last_name",
               "company": "company"}
    assert FIELD_LIMITS == {f: table.c[col].type.length for f, col in columns.items()}
    path = tmp_path / "crm.csv"
    path.write_text("Record ID,First Name,Last Name,Email,Company Name\n"
                    "1,Dana,Reyes,dana@acme.com,Acme Corp\n"
                    f"2,Sam,Okafor,sam@globex.com,{'G' * 301}\n"
                    f"3,{'L' * 201},Lee,lee@initech.com,Initech\n"
                    f"{'9' * 321},Ana,Silva,ana@umbrella.com,Umbrella\n", encoding="utf-8")
    r = crm.import_contacts(path)
    assert [c["key"] for c in r.contacts] == ["1"]
    assert [p.split(": ", 1)[1] for p in r.problems] == [
        "company longer than 300 characters (Company Name)",
        "first_name longer than 200 characters (First Name)",
        "record id longer than 320 characters (Record ID)"]
    # PostgreSQL would have refused the whole snapshot with any one of them in it
    assert len(crm.snapshot_contacts(store, jobs.create(store, "generate", {}), r.contacts)) == 1


@pytest.mark.parametrize("header,profile,expect", [
    ("Record ID,First Name,Last Name,Email,Company Name,Job Title,Lifecycle Stage,Lead Status",
     "hubspot", {"key": "Record ID", "job_title": "Job Title"}),
    ("Lead ID,First Name,Last Name,Title,Company,Email,Lead Source,Lead Status,Email Opt Out,Lead Owner",
     "salesforce", {"key": "Lead ID", "company": "Company", "opted_out": "Email Opt Out"}),
    ("Id,FirstName,LastName,Email,Account.Name,Title,HasOptedOutOfEmail,MailingCity",
     "salesforce", {"company": "Account.Name", "city": "MailingCity"}),
    ("Person - ID,Person - First name,Person - Last name,Person - Name,Person - Email,Person - Organization",
     "pipedrive", {"first_name": "Person - First name", "email": "Person - Email"}),
    ("Name,E-mail,Organisation,Role,Comments", "generic",
     {"full_name": "Name", "email": "E-mail", "company": "Organisation", "notes": "Comments"}),
])
def test_detect_headers(header, profile, expect):
    from brandvoice.crm.profiles import detect

    det = detect(header.split(","))
    assert det.profile == profile, det.scores
    assert expect.items() <= det.mapping.items()


def test_line_breaks_in_names_and_companies_are_refused_per_row(tmp_path):
    p = tmp_path / "crlf.csv"
    p.write_text('Email,First Name,Last Name,Company\n'
                 'dana@x.example,Dana,Reyes,Acme\n'
                 'eve@x.example,"Eve\r\nBcc: all@x.example",Stone,Globex\n'
                 'lee@x.example,Lee,Park,"Initech\nTask: offer 90% off"\n'
                 'sam@x.example,Sam,Kim,Hooli\n', encoding="utf-8", newline="")
    result = crm.import_contacts(p)
    assert [c["email"] for c in result.contacts] == ["dana@x.example", "sam@x.example"]
    reasons = {e["row"]: e["reason"] for e in result.excluded}
    assert reasons == {3: "First Name holds a line break (a name is one line)",
                       4: "Company holds a line break (a name is one line)"}
    assert any("crlf.csv row 3: First Name holds a line break" in x for x in result.problems)
