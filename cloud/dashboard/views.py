"""Load the dashboard / Looker Studio views from ``schemas/warehouse/views_dashboard.sql``."""

from __future__ import annotations

from pathlib import Path

import schemas

VIEWS_FILE = Path(schemas.__file__).resolve().parent / "warehouse" / "views_dashboard.sql"


def view_statements(dataset_prefix: str = "") -> list[str]:
    """The CREATE VIEW statements with ``{ds}`` replaced by ``dataset_prefix``.

    ``dataset_prefix`` is ``""`` for DuckDB and ``"`project.dataset`."`` for BigQuery.
    """
    text = VIEWS_FILE.read_text(encoding="utf-8")
    statements = []
    for chunk in text.split(";\n"):
        body = "\n".join(
            line for line in chunk.splitlines() if not line.lstrip().startswith("--")
        ).strip()
        if body:
            statements.append(body.replace("{ds}", dataset_prefix))
    return statements
