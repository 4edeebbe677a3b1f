"""textio: the one CSV/JSONL reader (encodings, delimiters, spreadsheet rows, limits, JSON), the
atomic writer, slugs and keys."""

from __future__ import annotations

import csv
import gzip
import json
import sqlite3
import tracemalloc
from pathlib import Path

import pytest

from brandvoice import textio
from brandvoice.errors import ConfigError, InputError


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding=encoding, newline="")
    return path


def rows(path: Path, **kw) -> tuple[textio.Table, list[tuple[int, list[str]]]]:
    table = textio.open_table(path, **kw)
    return table, list(table.rows())


# --- rows as a spreadsheet shows them -------------------------------------------------------------


def test_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path):
    content = ("\n"                                 # row 1: blank, before the header
               "name,notes\n"                       # row 2: the header
               "Ann,\"one\ntwo\nthree\"\n"          # row 3: one row over three lines
               "\n"                                 # row 4: blank, skipped but counted
               " , \n"                              # row 5: blank cells only
               "Ben,short\n")                       # row 6
    table, got = rows(write(tmp_path, "s.csv", content))
    assert table.header_row == 2 and table.header == ["name", "notes"]
    assert got == [(3, ["Ann", "one\ntwo\nthree"]), (6, ["Ben", "short"])]
    assert table.problems == []


def test_trailing_empty_cells_are_dropped_and_clean_strips(tmp_path):
    table, got = rows(write(tmp_path, "t.csv", "a,b\n x ,y\x07,,\n"))
    assert got == [(2, [" x ", "y\x07"])]
    assert list(textio.open_table(table.path).rows(clean=True)) == [(2, ["x", "y"])]


# --- delimiter --------------------------------------------------------------------------------------


def test_delimiter_splits_the_header_into_the_most_known_columns(tmp_path):
    # Commas split this header into more columns, semicolons into more known ones.
    path = write(tmp_path, "d.csv", "Email;First Name;a,b,c,d,e\nx@y.example;Ann;1,2,3,4,5\n")
    assert textio.open_table(path, known=["email", "first name"]).delimiter == ";"
    assert textio.open_table(path).delimiter == ","  # nothing known: the most columns


@pytest.mark.parametrize("delim,name", [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_each_delimiter(tmp_path, delim, name):
    table, got = rows(write(tmp_path, "d.csv", f"a{delim}b{delim}c\n1{delim}2{delim}3\n"))
    assert table.delimiter_name == name and got == [(2, ["1", "2", "3"])]


# --- bad files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("content,needle", [
    ("", "f.csv is empty"),
    ("\n \r\n\t\n", "f.csv is empty"),
    ("a,b\n", "f.csv has a header row but no contacts"),
    ("a,b\n\n,\n", "f.csv has a header row but no contacts"),
])
def test_empty_and_header_only(tmp_path, content, needle):
    with pytest.raises(InputError) as err:
        list(textio.open_table(write(tmp_path, "f.csv", content), what="CRM file", item="contacts").rows())
    assert needle in str(err.value) and "How to fix" in str(err.value)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(InputError, match=r"CRM file not found: .*nope\.csv \(it does not exist"):
        textio.open_table(tmp_path / "nope.csv", what="CRM file")


@pytest.mark.parametrize("make,needle,fix", [
    (lambda p: p.write_bytes(b"PK\x03\x04" + b"\x00" * 64), "an Excel workbook", "CSV UTF-8"),
    (lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 64), "an old Excel workbook", "CSV UTF-8"),
    (lambda p: p.write_bytes(b"%PDF-1.7\n" + b"x" * 64), "a PDF document", "Export the data"),
    (lambda p: p.write_bytes(gzip.compress(b"a,b\n1,2\n")), "a gzip archive", "gunzip"),
    (lambda p: sqlite3.connect(p).execute("create table t(x)").connection.commit(),
     "a SQLite database", "sqlite3 -header -csv"),
    (lambda p: p.write_bytes(bytes(range(32)) * 50), "looks like binary data", "Export the data"),
])
def test_binary_files_are_refused_with_what_to_do(tmp_path, make, needle, fix):
    path = tmp_path / "data.csv"
    make(path)
    with pytest.raises(InputError) as err:
        textio.open_table(path, what="CRM file", formats=("csv",))
    text = str(err.value)
    assert "CRM file data.csv is not a" in text and needle in text and fix in err.value.hint


def test_a_few_control_bytes_are_a_row_problem_not_a_binary_file(tmp_path):
    _, got = rows(write(tmp_path, "c.csv", "a,b\nx,\x00y\n"))
    assert got == [(2, ["x", "\x00y"])]


def test_duplicate_known_column_is_an_error_and_other_repeats_are_labelled(tmp_path):
    path = write(tmp_path, "d.csv", "Email,Notes,email,Notes,\n1,2,3,4,5\n")
    with pytest.raises(InputError) as err:
        textio.open_table(path, what="CRM file", known=["email"])
    assert "CRM file d.csv: column 'Email' appears 2 times in the header (row 1)" in str(err.value)
    assert err.value.hint
    table = textio.open_table(path, known=["email"], unique=())
    assert table.header == ["Email", "Notes", "email", "Notes (2)", "column 5"]
    table.require_unique(["Notes (2)"])  # an unknown column may repeat until someone reads it
    with pytest.raises(InputError, match="'Notes' appears 2 times"):
        table.require_unique(["Notes"])


def test_json_is_refused_where_only_csv_is_read(tmp_path):
    with pytest.raises(InputError, match="c.jsonl is JSON; a CSV file is read here"):
        textio.open_table(write(tmp_path, "c.jsonl", '{"email": "a@b.example"}\n'), formats=("csv",))


# --- size limit and quotes ----------------------------------------------------------------------


def test_a_long_cell_is_a_problem_of_its_row_and_the_file_goes_on(tmp_path):
    long = "y" * 5000
    path = write(tmp_path, "l.csv", f"email,notes\na@x.example,ok\nb@x.example,{long}\nc@x.example,ok\n")
    table, got = rows(path, max_cell=1000)
    assert [r for r, _ in got] == [2, 4]
    assert table.problems == ["row 3: notes is 5,000 characters, over the 1,000-character limit "
                              "(line 3); shorten it, or close the quote that runs it into the "
                              "following rows"]


def test_an_unclosed_quote_swallows_rows_up_to_the_limit_then_reading_goes_on(tmp_path):
    filler = "".join(f"r{i}@x.example,row {i}\n" for i in range(3, 12_000))
    path = write(tmp_path, "q.csv", 'email,notes\na@x.example,"never closed\n' + filler + "z@x.example,last\n")
    table, got = rows(path)
    problem = table.problems[0]
    assert problem.startswith("row 2: a cell is over the 131,072-character limit (lines 2-")
    assert "close the quote" in problem
    assert got[-1][1] == ["z@x.example", "last"]  # the rows after the damage are read again


def test_a_quote_open_at_the_end_of_the_file_is_an_error_naming_the_row(tmp_path):
    path = write(tmp_path, "q.csv", 'email,notes\na@x.example,fine\nb@x.example,"runs on\nc@x.example,x\n')
    with pytest.raises(InputError) as err:
        list(textio.open_table(path, what="CRM file").rows())
    assert "CRM file q.csv row 3: a quote opened in this row is never closed" in str(err.value)
    assert "(lines 3-4)" in str(err.value) and '""' in err.value.hint


def test_a_closed_multiline_cell_in_the_last_row_is_fine(tmp_path):
    _, got = rows(write(tmp_path, "m.csv", 'a,b\n1,"two\nlines"'))
    assert got == [(2, ["1", "two\nlines"])]


def test_rows_are_streamed(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["email", "notes"])
        w.writerows([f"user{i}@x.example", "some notes " * 4] for i in range(40_000))
    table = textio.open_table(path, known=["email"])
    tracemalloc.start()
    n = sum(1 for _ in table.rows(clean=True))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n == 40_000 and peak < path.stat().st_size / 4, (peak, path.stat().st_size)


# --- encodings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding,codec,label", [
    ("utf-8", "utf-8-sig", "utf-8"),
    ("utf-8-sig", "utf-8-sig", "utf-8-sig"),
    ("utf-16", "utf-16", "utf-16"),
    ("cp1252", "cp1252", "windows-1252"),
])
def test_encodings(tmp_path, encoding, codec, label):
    path = write(tmp_path, "e.csv", "name,city\r\nJürgen,München\r\n", encoding=encoding)
    table, got = rows(path)
    assert (table.encoding, table.encoding_label) == (codec, label)
    assert table.header == ["name", "city"] and got == [(2, ["Jürgen", "München"])]


def test_legacy_encoding_is_detected(tmp_path):
    text = "email,name,city\n" + "".join(f"u{i}@x.example,Сергей Иванов,Москва\n" for i in range(5))
    table, got = rows(write(tmp_path, "ru.csv", text, encoding="cp1251"))
    assert table.encoding == "cp1251" and got[0][1][1:] == ["Сергей Иванов", "Москва"]


def test_pasted_windows_1252_line_in_a_utf8_file(tmp_path):
    raw = "name,note\nCafé,Crème\n".encode() + b"Na\xefve,Don\x92t\n"
    table, got = rows(write(tmp_path, "m.csv", raw))
    assert table.encoding_label == "utf-8 + windows-1252 (lines 3)"
    assert [c for _, c in got] == [["Café", "Crème"], ["Naïve", "Don’t"]]


def test_undecodable_line_is_named(tmp_path):
    raw = b"a,b\nok,fine\nbad,\x81\x8d\n"
    with pytest.raises(InputError, match=r"b\.csv line 3: byte 0x81 is neither UTF-8 nor Windows-1252"):
        textio.open_table(write(tmp_path, "b.csv", raw))


# --- JSON ---------------------------------------------------------------------------------------


def test_jsonl_lines_nested_values_and_huge_numbers_are_row_problems(tmp_path):
    content = ('{"subject": "ok", "sends": 10, "meta": {"ignored": [1]}}\n'
               "\n"
               '{"subject": {"nested": 1}}\n'
               '{"subject": "s", "sends": 123456789012345678901234567890}\n'
               '{"subject": "s", "sends": ' + "9" * 5000 + "}\n"
               '{"subject": "s", "sends": NaN}\n'
               '{"subject": "s", "sends": 1e999}\n'
               "[1, 2]\n"
               '{"subject": "broken",\n'
               + "[" * 100_000 + "]" * 100_000 + "\n")
    table = textio.open_table(write(tmp_path, "e.jsonl", content), known=["subject", "sends"])
    got = list(table.records())
    assert table.format == "jsonl" and table.unit == "line"
    assert got == [(1, {"subject": "ok", "sends": 10, "meta": {"ignored": [1]}})]
    problems = table.problems
    assert problems[0] == "line 3: subject is a nested JSON object, not a single value"
    assert problems[1].startswith("line 4: sends is not a usable number (1234")
    assert problems[2].startswith("line 5: sends is not a usable number (9999")
    assert problems[3] == "line 6: sends is not a usable number (nan)"
    assert problems[4] == "line 7: sends is not a usable number (inf)"
    assert problems[5] == "line 8: expected a JSON object, got list"
    assert problems[6].startswith("line 9: not valid JSON (")
    assert problems[7].startswith("line 10: not valid JSON (RecursionError")


def test_json_array_items_are_numbered_and_checked_one_by_one(tmp_path):
    data = '[{"body": "a"}, {"body": ["x"]}, {"body": "c", "sends": 99999999999999999999999}]'
    table = textio.open_table(write(tmp_path, "a.json", data), known=["body", "sends"])
    assert [n for n, _ in table.records()] == [1]
    assert table.unit == "item" and [p[:6] for p in table.problems] == ["item 2", "item 3"]


def test_empty_and_bad_json_array(tmp_path):
    with pytest.raises(InputError, match="e.json contains no emails"):
        list(textio.open_table(write(tmp_path, "e.json", "[]\n"), item="emails").records())
    with pytest.raises(InputError, match=r"a\.json line 1: not valid JSON"):
        list(textio.open_table(write(tmp_path, "a.json", "[{,]")).records())


# --- writing ------------------------------------------------------------------------------------


def test_atomic_write_replaces_whole_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    textio.atomic_write(target, "first")
    textio.atomic_write(target, b"second")
    assert target.read_text() == "second" and [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    textio.atomic_write(target, "old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("brandvoice.textio.files.os.fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        textio.atomic_write(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_write_csv_and_json_read_back(tmp_path):
    out = textio.write_csv(tmp_path / "o.csv", ["a", "b"], [{"a": "1", "b": "x,y\nz", "c": "left out"}])
    assert list(textio.open_table(out).rows()) == [(2, ["1", "x,y\nz"])]
    j = textio.write_json(tmp_path / "o.json", {"name": "Café", "path": tmp_path})
    assert json.loads(j.read_text(encoding="utf-8")) == {"name": "Café", "path": str(tmp_path)}


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("Julián Castro", "julian-castro"), ("Café Olé", "cafe-ole"), ("Bright Bean", "bright-bean"),
    ("  Ledgerly ", "ledgerly"), ("Merrow & Finch", "merrow-finch"),
])
def test_slug(text, expected):
    assert textio.slug(text) == expected


def test_slug_needs_letters_or_digits():
    with pytest.raises(ConfigError, match="no letters or digits"):
        textio.slug("!!!")


def test_compact_key_matches_spellings_of_one_name():
    keys = {textio.compact_key(n) for n in ("Bright Bean", "bright-bean", "brightbean", "BRIGHT_BEAN")}
    assert keys == {"brightbean"}
    assert textio.compact_key("Café Olé") == textio.compact_key("cafe ole") == "cafeole"
    assert textio.compact_key(None) == ""
