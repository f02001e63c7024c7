"""edge.watcher: which filesystem events wake the uploader."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.watcher import FolderWatcher

WAIT_S = 5.0  # generous: the events are asynchronous


def _write_in_place(folder: Path, outside: Path) -> None:
    with open(folder / "a.dat", "wb") as fh:
        fh.write(b"x" * 1000)


def _rename_in_folder(folder: Path, outside: Path) -> None:
    (folder / ".a.dat.part").write_bytes(b"x")
    os.replace(folder / ".a.dat.part", folder / "a.dat")


def _move_in_from_elsewhere(folder: Path, outside: Path) -> None:
    (outside / "a.dat").write_bytes(b"x")
    os.replace(outside / "a.dat", folder / "a.dat")


@pytest.mark.parametrize("arrive", [_write_in_place, _rename_in_folder,
                                    _move_in_from_elsewhere])
def test_a_file_arriving_wakes_the_uploader(
        tmp_path: Path, arrive: Callable[[Path, Path], None]) -> None:
    folder, outside = tmp_path / "cam", tmp_path / "elsewhere"
    outside.mkdir()
    wake = threading.Event()
    watcher = FolderWatcher([folder], wake)
    assert watcher.start()
    try:
        arrive(folder, outside)
        assert wake.wait(WAIT_S)
    finally:
        watcher.stop()


def test_reading_and_deleting_files_does_not_wake_the_uploader(tmp_path: Path) -> None:
    folder = tmp_path / "cam"
    folder.mkdir()
    (folder / "a.dat").write_bytes(b"x" * 1000)
    wake = threading.Event()
    watcher = FolderWatcher([folder], wake)
    assert watcher.start()
    try:
        assert (folder / "a.dat").read_bytes()  # what the uploader itself does
        (folder / "a.dat").unlink()
        (folder / "b.dat").touch(exist_ok=True)  # an event that must wake, as a marker
        assert wake.wait(WAIT_S)
        wake.clear()
        assert (folder / "b.dat").read_bytes() == b""
        (folder / "b.dat").unlink()
        assert not wake.wait(1.0)
    finally:
        watcher.stop()
