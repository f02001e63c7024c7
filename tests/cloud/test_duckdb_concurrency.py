"""DuckDB inserts: a present key is skipped (also when two connections insert it at
once), any other constraint violation is an error."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cloud.warehouse.duckdb import DuckDbWarehouse
from schemas.errors import StoreError
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


def test_a_batch_with_a_present_row_stores_the_others_once(tmp_path: Path) -> None:
    wh = DuckDbWarehouse(tmp_path / "w.duckdb")
    wh.ensure_schema()
    wh.insert_rows("wheel_scores", [score_row("f1", 10.0)], ["f1:m1"])
    batch = [score_row(f"f{i}", 60.0 + i) for i in range(4)]  # f1 is already there
    wh.insert_rows("wheel_scores", batch, [f"f{i}:m1" for i in range(4)])
    got = wh.query("SELECT file_id, score FROM {ds}.wheel_scores ORDER BY file_id")
    assert got == [{"file_id": "f0", "score": 60.0}, {"file_id": "f1", "score": 10.0},
                   {"file_id": "f2", "score": 62.0}, {"file_id": "f3", "score": 63.0}]


def test_a_row_breaking_another_constraint_is_an_error_not_skipped(tmp_path: Path) -> None:
    wh = DuckDbWarehouse(tmp_path / "w.duckdb")
    wh.ensure_schema()
    bad = {**score_row("f1", 10.0), "defect": None}  # NOT NULL column
    with pytest.raises(StoreError, match="NOT NULL"):
        wh.insert_rows("wheel_scores", [bad], ["f1:m1"])
    with pytest.raises(StoreError, match="NOT NULL"):
        wh.insert_rows("wheel_scores", [score_row("f0", 1.0), bad], ["f0:m1", "f1:m1"])
