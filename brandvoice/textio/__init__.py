"""Text in and out, the same way for every stage: the one CSV/JSONL reader, the one atomic file
writer, and the names made from what people type.

    from brandvoice import textio
    table = textio.open_table("crm.csv", what="CRM file", known=["Email", "First Name"], item="contacts")
    for row, cells in table.rows():      # row = the row number a spreadsheet shows
        ...
    table.problems                       # ["row 7: Notes is 200,000 characters, ..."]
    textio.atomic_write(path, data); textio.write_csv(path, header, rows); textio.write_json(path, obj)
    textio.workspace_part(settings, out_path)   # what of the workspace a user's path would hit
    textio.slug("Julián Castro") == "julian-castro"; textio.compact_key("Bright Bean") == "brightbean"
    for line, record in textio.read_jsonl(path, what="Labelled drafts"): ...
    data, text = textio.read_toml(path, what="Policy file", error=ConfigError)

Reading lives in `tables` (rows, delimiter, header, JSON) and `decode` (binary files, encodings),
the project's own JSON Lines and TOML files in `structured`, writing in `files`, names in `names`,
where a path a user names may be written in `targets`.
"""

from brandvoice.textio.decode import line_ranges
from brandvoice.textio.files import atomic_write, write_csv, write_json
from brandvoice.textio.names import (
    check_username,
    column_key,
    compact_key,
    normalize_username,
    slug,
)
from brandvoice.textio.structured import parse_toml, read_jsonl, read_toml
from brandvoice.textio.tables import DELIMITERS, MAX_CELL, Table, clean_cell, open_table
from brandvoice.textio.targets import outside_workspace, workspace_part

__all__ = ["DELIMITERS", "MAX_CELL", "Table", "atomic_write", "check_username", "clean_cell",
           "column_key",
           "compact_key", "line_ranges", "normalize_username", "open_table", "outside_workspace", "parse_toml", "read_jsonl", "read_toml", "slug",
           "workspace_part", "write_csv", "write_json"]
