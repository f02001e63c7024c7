"""The DuckDB warehouse keeps its connection while busy and lets go of the file when quiet
or after ``max_hold_s`` of steady writing, so other processes get their turn."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

import cloud.warehouse.duckdb as wdb
from cloud.warehouse.duckdb import DuckDbWarehouse
from tests.cloud.test_adapters_integration import score_row

# Another process opening the file (waiting up to 60 s while it is locked), then writing.
_OTHER = ("import sys; from pathlib import Path; from cloud.warehouse.duckdb import "
          "connect_when_free; c = connect_when_free(Path(sys.argv[1]), 60.0); "
          "c.execute('CREATE TABLE IF NOT EXISTS wheelwatch.other_was_here (x INT)'); c.close()")


def _other_process(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _OTHER, str(path)], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])


def test_one_open_serves_consecutive_inserts(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Path] = []
    real = wdb.connect_when_free

    def counting(path: Path, wait_s: float) -> duckdb.DuckDBPyConnection:
        opened.append(path)
        return real(path, wait_s)

    monkeypatch.setattr(wdb, "connect_when_free", counting)
    wh = DuckDbWarehouse(tmp_path / "w.duckdb", linger_s=600, max_hold_s=600)
    wh.ensure_schema()
    for i in range(5):
        wh.insert_rows("wheel_scores", [score_row(f"f{i}", 50.0)], [f"f{i}:m1"])
    assert wh.query("SELECT count(*) AS n FROM {ds}.wheel_scores") == [{"n": 5}]
    assert len(opened) == 1
    wh.close()
    wh.insert_rows("wheel_scores", [score_row("f0", 50.0)], ["f0:m1"])  # reopened, ignored
    assert len(opened) == 2
    assert wh.query("SELECT count(*) AS n FROM {ds}.wheel_scores") == [{"n": 5}]
    wh.close()


def test_file_is_released_when_quiet(tmp_path: Path) -> None:
    wh = DuckDbWarehouse(tmp_path / "w.duckdb", linger_s=0.2, max_hold_s=600)
    wh.ensure_schema()
    wh.insert_rows("wheel_scores", [score_row("f1", 50.0)], ["f1:m1"])
    other = _other_process(wh.path)  # waits until the linger has passed
    assert other.returncode == 0, other.stderr
    rows = wh.query("SELECT count(*) AS n FROM information_schema.tables "
                    "WHERE table_name = 'other_was_here'")
    assert rows == [{"n": 1}]
    wh.close()


def test_steady_writer_gives_other_processes_a_turn(tmp_path: Path) -> None:
    wh = DuckDbWarehouse(tmp_path / "w.duckdb", linger_s=600, max_hold_s=0.2)
    wh.ensure_schema()
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:  # never quiet: without max_hold the file would stay locked
        i = 0
        while not stop.is_set():
            wh.insert_rows("wheel_scores", [score_row(f"f{i}", 50.0)], [f"f{i}:m1"])
            written.append(i)
            i += 1
            time.sleep(0.005)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        other = _other_process(wh.path)
    finally:
        stop.set()
        writer.join()
    assert other.returncode == 0, other.stderr
    got = wh.query("SELECT count(*) AS n FROM {ds}.wheel_scores")
    assert got == [{"n": len(written)}]
    wh.close()


# Exits just as the background closer closes the file: without the exit hook, DuckDB's
# C++ close in a daemon thread meets Python's finalization and aborts (rc 134) most times.
_EXIT_DURING_LINGER = (
    "import sys, time; from pathlib import Path; from cloud.warehouse.duckdb import "
    "DuckDbWarehouse; wh = DuckDbWarehouse(Path(sys.argv[1]), linger_s=0.3); "
    "wh.ensure_schema(); time.sleep(0.3)")


def test_exit_while_the_closer_runs_does_not_abort(tmp_path: Path) -> None:
    for i in range(6):
        done = subprocess.run([sys.executable, "-c", _EXIT_DURING_LINGER,
                               str(tmp_path / f"w{i}.duckdb")], capture_output=True,
                              text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
        assert done.returncode == 0, (i, done.returncode, done.stderr[-500:])


def test_exit_hook_closes_live_warehouses(tmp_path: Path) -> None:
    wh = DuckDbWarehouse(tmp_path / "w.duckdb", linger_s=600, max_hold_s=600)
    wh.ensure_schema()
    assert wh in wdb._LIVE
    wdb.close_all_at_exit()
    other = _other_process(wh.path)  # opens at once: the file was let go
    assert other.returncode == 0, other.stderr


def test_exit_hook_does_not_hang_on_a_busy_warehouse(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    wh = DuckDbWarehouse(tmp_path / "w.duckdb", linger_s=600, max_hold_s=600)
    wh.ensure_schema()
    with wh._mu:  # another thread's statement that does not end
        t0 = time.monotonic()
        wdb.close_all_at_exit(wait_s=0.2)
        assert time.monotonic() - t0 < 5.0
    assert "still busy" in caplog.text
    wh.close()
