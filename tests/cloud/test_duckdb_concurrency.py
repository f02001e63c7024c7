"""Two connections inserting the same scores at once: rows once, no error."""

from __future__ import annotations

import threading
from pathlib import Path

from cloud.warehouse.duckdb import DuckDbWarehouse
from tests.cloud.test_adapters_integration import score_row


def test_concurrent_inserts_of_the_same_rows_are_ignored_not_failed(tmp_path: Path) -> None:
    wh = DuckDbWarehouse(tmp_path / "w.duckdb")
    wh.ensure_schema()
    rows = [score_row(f"f{i}", 50.0 + i) for i in range(40)]
    ids = [f"f{i}:m1" for i in range(40)]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def insert() -> None:
        start.wait()
        try:
            for i in range(0, 40, 4):
                wh.insert_rows("wheel_scores", rows[i:i + 4], ids[i:i + 4])
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=insert) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    got = wh.query("SELECT count(*) AS n, count(DISTINCT file_id) AS d FROM {ds}.wheel_scores")
    assert got == [{"n": 40, "d": 40}]
