"""Column mappings saved per header: map an unknown CRM export once, import later ones as mapped."""

from __future__ import annotations

import pytest

from brandvoice import crm
from brandvoice.errors import InputError

pytestmark = pytest.mark.usefixtures("fast_hashes")

HEADER = "Kontakt-ID;E-Post;Vorname;Firma;Notizen\n"
ROWS = "1;dana@acme.example;Dana;Acme;likes graphs\n2;lee@globex.example;Lee;Globex;\n"


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "kontakte.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    return path


def test_preview_reads_the_header_and_first_rows(export):
    header, rows = crm.preview(export, rows=1)
    assert header == ["Kontakt-ID", "E-Post", "Vorname", "Firma", "Notizen"]
    assert rows == [["1", "dana@acme.example", "Dana", "Acme", "likes graphs"]]


def test_a_saved_mapping_applies_to_files_with_the_same_header(settings, people, export, tmp_path):
    header, _ = crm.preview(export)
    with pytest.raises(InputError, match="no email column"):
        crm.import_contacts(export)
    assert crm.saved_mapping(settings, header) is None
    path = crm.save_mapping(settings, header, {"key": "Kontakt-ID", "email": "E-Post",
                                               "first_name": "Vorname", "company": "Firma"},
                            actor=people["mkt"])
    assert path.parent == settings.home / "mappings"
    mapping = crm.saved_mapping(settings, header)
    result = crm.import_contacts(export, mapping=mapping)
    assert [c["first_name"] for c in result.contacts] == ["Dana", "Lee"]
    assert result.contacts[0]["custom"] == {"Notizen": "likes graphs"}
    # The next export of the same CRM view: same header, other rows.
    later = tmp_path / "kontakte-2.csv"
    later.write_text(HEADER + "3;mei@hooli.example;Mei;Hooli;\n", encoding="utf-8")
    assert crm.saved_mapping(settings, crm.preview(later)[0]) == mapping
    # Another header (a column renamed) has no saved mapping.
    assert crm.saved_mapping(settings, ["Kontakt-ID", "Mail", "Vorname", "Firma"]) is None


def test_save_refuses_a_mapping_that_does_not_fit(settings, people, export):
    header, _ = crm.preview(export)
    mkt = people["mkt"]
    with pytest.raises(InputError, match="no email column"):
        crm.save_mapping(settings, header, {"first_name": "Vorname"}, actor=mkt)
    with pytest.raises(InputError, match="for two fields"):
        crm.save_mapping(settings, header, {"email": "E-Post", "first_name": "E-Post"}, actor=mkt)
    with pytest.raises(InputError, match="does not fit"):
        crm.save_mapping(settings, header, {"email": "Email"}, actor=mkt)
    # Written the other way round ({column: field}) is read the same.
    crm.save_mapping(settings, header, {"E-Post": "email", "Vorname": "first_name"}, actor=mkt)
    assert crm.saved_mapping(settings, header) == {"email": "E-Post", "first_name": "Vorname"}
