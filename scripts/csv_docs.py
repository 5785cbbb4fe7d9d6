"""Write docs/csv-formats.md from the importer's column table: `python scripts/csv_docs.py`."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.csv_schema import describe_kinds  # noqa: E402

TARGET = Path(__file__).resolve().parent.parent / "docs" / "csv-formats.md"


def render() -> str:
    lines = ["# CSV formats", "",
             "Generated from `services/csv_schema.py` by `python scripts/csv_docs.py`; do not edit by hand.", "",
             "Files are UTF-8 (with or without BOM). Headers are matched by name: case, spaces, underscores",
             "and hyphens are ignored, and the aliases below are accepted. Unknown columns are ignored and",
             "reported. A file with any bad row imports nothing; the report lists row, column, value and reason.", ""]
    for kind, spec in describe_kinds().items():
        lines += [f"## `{kind}`: {spec['title']}", "", spec["description"], "",
                  "| column | required | type | constraints | aliases |", "|---|---|---|---|---|"]
        for column in spec["columns"]:
            aliases = ", ".join(f"`{alias}`" for alias in column["aliases"])
            lines.append(f"| `{column['name']}` | {'yes' if column['required'] else ''} | {column['type']} "
                         f"| {column['constraints']} | {aliases} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
