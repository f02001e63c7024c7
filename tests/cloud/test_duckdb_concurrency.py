"""DuckDB inserts: a present key is skipped (also when two connections insert it at
once), any other constraint violation is an error; callers waiting together are
written together, and a bad row fails only its own caller."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from cloud.warehouse import duckdb as duckdb_adapter
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


def _waiting_callers(wh: DuckDbWarehouse, calls: list[tuple[str, list[dict[str, object]]]]
                     ) -> tuple[list[threading.Thread], list[BaseException | None]]:
    """Start one thread per (table, rows) call while the connection is held, and wait
    until every call is queued behind it."""
    results: list[BaseException | None] = [None] * len(calls)

    def call(k: int, table: str, rows: list[dict[str, object]]) -> None:
        try:
            wh.insert_rows(table, rows, [str(r["file_id"]) for r in rows])
        except BaseException as exc:  # collected and asserted by the test
            results[k] = exc

    threads = [threading.Thread(target=call, args=(k, t, r)) for k, (t, r) in enumerate(calls)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(wh._queue) < len(calls) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(wh._queue) == len(calls)
    return threads, results


def test_callers_waiting_together_are_written_in_one_statement_per_table(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = DuckDbWarehouse(tmp_path / "w.duckdb")
    wh.ensure_schema()
    statements: list[tuple[str, int]] = []
    real = duckdb_adapter._insert_new

    def counting(c: object, qualified: str, cols: object, values: list[list[object]]) -> None:
        statements.append((qualified, len(values)))
        real(c, qualified, cols, values)  # type: ignore[arg-type]

    monkeypatch.setattr(duckdb_adapter, "_insert_new", counting)
    calls = [("wheel_scores", [score_row(f"f{i}", 50.0 + i)]) for i in range(6)]
    with wh._mu:  # the connection is busy: the six callers queue up behind it
        threads, results = _waiting_callers(wh, calls)  # type: ignore[arg-type]
    for t in threads:
        t.join()
    assert results == [None] * 6
    assert statements == [("wheelwatch.wheel_scores", 6)]
    got = wh.query("SELECT count(*) AS n FROM {ds}.wheel_scores")
    assert got == [{"n": 6}]


def test_a_bad_row_in_a_group_fails_only_its_own_caller(tmp_path: Path) -> None:
    wh = DuckDbWarehouse(tmp_path / "w.duckdb")
    wh.ensure_schema()
    bad = {**score_row("f2", 10.0), "defect": None}  # NOT NULL column
    calls = [("wheel_scores", [score_row("f0", 1.0)]), ("wheel_scores", [bad]),
             ("wheel_scores", [score_row("f3", 3.0), score_row("f4", 4.0)])]
    with wh._mu:
        threads, results = _waiting_callers(wh, calls)  # type: ignore[arg-type]
    for t in threads:
        t.join()
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], StoreError) and "NOT NULL" in str(results[1])
    got = wh.query("SELECT file_id FROM {ds}.wheel_scores ORDER BY file_id")
    assert got == [{"file_id": "f0"}, {"file_id": "f3"}, {"file_id": "f4"}]
