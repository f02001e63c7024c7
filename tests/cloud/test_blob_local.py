"""The local folder blob store: create-only objects that stay inside the store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloud.blob.local import LocalBlobStore
from schemas.errors import StoreError

KEY = "demo-park/Cam_01/date=2026-11-27/W01.csv"


def test_an_object_is_written_once_and_read_back(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    assert store.put_if_absent(KEY, b"one", "text/csv")
    assert not store.put_if_absent(KEY, b"two", "text/csv")
    assert store.get(KEY) == b"one"
    assert store.uri(KEY) == (tmp_path / "blobs" / KEY).resolve().as_uri()
    assert [p.name for p in (tmp_path / "blobs" / KEY).parent.iterdir()] == ["W01.csv"]


@pytest.mark.parametrize("key", ["../outside.csv", "a/../../outside.csv", "/etc/passwd",
                                 "a/b/..", "a/b/", "a/.", "a\x00b.csv"])
def test_a_key_leading_outside_the_store_is_refused(tmp_path: Path, key: str) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(StoreError):
        store.put_if_absent(key, b"x", "text/csv")
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["blobs"])


def test_a_folder_linked_outside_the_store_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store = LocalBlobStore(tmp_path / "blobs")
    assert store.put_if_absent("site/ok.csv", b"x", "text/csv")  # folder checked and cached
    os.symlink(outside, tmp_path / "blobs" / "linked")
    with pytest.raises(StoreError, match="escapes the store"):
        store.put_if_absent("linked/evil.csv", b"x", "text/csv")
    assert list(outside.iterdir()) == []
    assert store.put_if_absent("site/ok2.csv", b"y", "text/csv")
