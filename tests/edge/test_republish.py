"""``wheel-edge republish``: re-sending tracked files from their local bundles."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from edge.bootstrap import build_uploader
from edge.cli import main
from edge.cmd_republish import parse_chunks
from edge.simulator.site import SiteSimulator
from edge.transport import OutMessage
from edge.transport.local import LocalTransport
from edge.uploader import Uploader
from schemas.errors import TransportError
from schemas.localqueue import LocalQueue
from tests.edge.sitekit import drain, make_site, pass_start, reassemble, run_until_idle

REPO = Path(__file__).resolve().parents[2]
SUBS = ("wheelwatch-cam-01-sub", "wheelwatch-cam-02-sub")


class LossyLink:
    """Drops chunk 1 of the first multi-chunk file (but reports it sent); can be cut."""

    def __init__(self, inner: LocalTransport) -> None:
        self.inner = inner
        self.down = False
        self.dropped: list[OutMessage] = []

    def ensure_topic(self, topic: str) -> None:
        self.inner.ensure_topic(topic)

    def publish(self, topic: str, messages: Sequence[OutMessage],
                ordering_key: str | None = None) -> list[str]:
        if self.down:
            raise TransportError("network unreachable (test)")
        keep = []
        for m in messages:
            if (not self.dropped and m.attributes.get("chunk_index") == "1"):
                self.dropped.append(m)
            else:
                keep.append(m)
        ids = self.inner.publish(topic, keep, ordering_key) if keep else []
        return (ids + ["lost"] * len(messages))[:len(messages)]

    def close(self) -> None:
        self.inner.close()


def _site(tmp_path: Path) -> tuple[Path, Any, LocalQueue, LossyLink, Uploader]:
    config, cfg = make_site(tmp_path, edge={"chunk_bytes": 8192})
    SiteSimulator.from_config(cfg, seed=4, width=200).run_pass("T1", pass_start(0))
    queue = LocalQueue(cfg.path(cfg.transport.local_path))
    link = LossyLink(LocalTransport(queue))
    return config, cfg, queue, link, build_uploader(cfg, transport=link)


def _publish_without_cleanup(up: Uploader) -> None:
    """Discover, map, convert and publish every scan; keep the bundles (no cleanup)."""
    up.discover(up.clock())
    up.closer.close_ready(up.clock())
    for cam in up.cfg.cameras:
        up.transport.ensure_topic(cam.topic)
    while up.convert_ready():
        pass
    for cam in up.folders:
        up.publisher.publish_camera(cam)


def _messages(queue: LocalQueue) -> list[Any]:
    return [m for sub in SUBS for m in drain(queue, sub)]


def test_parse_chunks() -> None:
    assert parse_chunks("1,3,5-7") == [1, 3, 5, 6, 7]
    assert parse_chunks(" 2 , 2") == [2]
    for bad in ("", "a", "-1", "3-1", "1,,2"):
        with pytest.raises(Exception, match="invalid chunk list"):
            parse_chunks(bad)


def test_dropped_chunk_resent_by_name_and_recorded(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config, _cfg, queue, link, up = _site(tmp_path)
    _publish_without_cleanup(up)
    [lost] = link.dropped
    fid = lost.attributes["file_id"]
    [victim] = up.tracker.files("file_id = ?", (fid,))
    assert victim.state == "confirmed" and (victim.chunk_count or 0) >= 2
    first = _messages(queue)
    with pytest.raises(AssertionError, match=f"{fid}: chunks"):
        reassemble(first)  # the file is incomplete
    assert main(["republish", "--config", str(config), f"{victim.stem}.dat",
                 "--chunks", "1"]) == 0
    out = capsys.readouterr().out
    assert f"republished {victim.key} (file {fid}): chunk(s) [1] of {victim.chunk_count}" in out
    again = _messages(queue)
    assert [(m.attributes["file_id"], m.attributes["chunk_index"]) for m in again] == \
        [(fid, "1")]
    files = reassemble(first + again)
    assert len(files) == 8 and files[fid]["attrs"]["sha256"] == victim.sha256
    hist = up.tracker.history(victim.key)
    assert hist[-1][0] == "confirmed" and "republished chunk(s) [1]" in (hist[-1][2] or "")
    assert up.tracker.get(victim.key).state == "confirmed"  # type: ignore[union-attr]


def test_state_selection_dry_run_sends_nothing(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    config, _cfg, queue, link, up = _site(tmp_path)
    link.down = True
    up.step()
    converted = up.tracker.files("state = 'converted'")
    assert len(converted) == 8
    assert main(["republish", "-c", str(config), "--state", "converted", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("would republish") == 8 and not _messages(queue)
    assert main(["republish", "-c", str(config), "--since", "2099-01-01T00:00Z"]) == 0
    assert "no tracked file matches" in capsys.readouterr().err
    fid = converted[0].file_id or ""
    assert main(["republish", "-c", str(config), fid]) == 0  # the link of the uploader is down
    sent = _messages(queue)
    assert {m.attributes["file_id"] for m in sent} == {fid}
    assert len(sent) == converted[0].chunk_count
    assert up.tracker.get(converted[0].key).state == "converted"  # type: ignore[union-attr]


def test_exact_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, _cfg, queue, _link, up = _site(tmp_path)
    _publish_without_cleanup(up)
    [a, b] = up.tracker.files("state = 'confirmed'")[:2]
    assert main(["republish", "-c", str(config), "Cam_09/nothing"]) == 1
    assert "Cam_09/nothing: no file in the pub tracker" in capsys.readouterr().err
    assert main(["republish", "-c", str(config), a.key, "--chunks", "99"]) == 1
    err = capsys.readouterr().err
    assert f"{a.key} (file {a.file_id}): no chunk(s) [99]: the file has {a.chunk_count}" in err
    assert b.bundle_path is not None
    b.bundle_path.write_bytes(b.bundle_path.read_bytes()[::-1])
    assert main(["republish", "-c", str(config), b.key, a.key]) == 1  # a is sent, b is not
    captured = capsys.readouterr()
    assert f"{b.key} (file {b.file_id}): its bundle {b.bundle_path} changed on disk" in \
        captured.err and f"republished {a.key}" in captured.out
    assert {m.attributes["file_id"] for m in _messages(queue)} >= {a.file_id}
    assert main(["republish", "-c", str(config)]) == 2
    assert "name at least one FILE" in capsys.readouterr().err


def test_cleaned_file_is_resent_while_its_bundle_is_kept(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, cfg, queue, link, up = _site(tmp_path)
    run_until_idle(up)
    [lost] = link.dropped
    fid = lost.attributes["file_id"]
    [victim] = up.tracker.files("file_id = ?", (fid,))
    assert victim.state == "cleaned" and victim.bundle_path is not None
    assert victim.bundle_path.exists() and not victim.dat_path.exists()  # scan deleted
    assert not list(cfg.path(cfg.edge.work_dir).rglob("*.csv"))  # CSV work files gone
    first = _messages(queue)
    assert main(["republish", "--config", str(config), fid, "--chunks", "1"]) == 0
    assert f"republished {victim.key} (file {fid}): chunk(s) [1]" in capsys.readouterr().out
    assert reassemble(first + _messages(queue))[fid]["attrs"]["sha256"] == victim.sha256
    assert main(["republish", "-c", str(config), "--since", "2000-01-01T00:00Z",
                 "--dry-run"]) == 0  # every kept bundle is a candidate
    assert capsys.readouterr().out.count("would republish") == 8


def test_kept_bundles_go_after_keep_bundles_s_or_on_a_low_disk(tmp_path: Path) -> None:
    _config, _cfg, _queue, _link, up = _site(tmp_path)
    run_until_idle(up)
    rows = up.tracker.files("state = 'cleaned'")
    now = up.tracker.query("SELECT MAX(confirmed_at) FROM files")[0][0]
    assert len(rows) == 8 and all(r.bundle_path and r.bundle_path.exists() for r in rows)
    assert up.drop_kept_bundles(now + 10) == 0
    up.free_mb = up.cfg.edge.warn_free_mb - 1  # the disk is getting low: all go now
    assert up.drop_kept_bundles(now) == 8
    assert all(not r.bundle_path.exists() for r in rows if r.bundle_path)
    assert all(r.bundle_path is None for r in up.tracker.files())
    assert up.tracker.history(rows[0].key)[-1][2] == "kept bundle removed"


def test_cleaned_file_via_the_real_cli(tmp_path: Path) -> None:
    config, _cfg, _queue, _link, up = _site(tmp_path)
    run_until_idle(up)
    assert up.drop_kept_bundles(up.clock() + up.cfg.edge.keep_bundles_s + 1) == 8
    row = up.tracker.files("state = 'cleaned'")[0]
    res = subprocess.run([sys.executable, "-m", "edge.cli", "republish", "--config",
                          str(config), row.file_id or ""], capture_output=True, text=True,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert res.returncode == 1, res.stderr
    err = res.stderr
    assert f"wheel-edge republish: {row.key} (file {row.file_id}): delivered (all " \
           f"{row.chunk_count} chunk(s) confirmed at 20" in err
    assert "cleaned up at 20" in err and "its local bundle is gone" in err
    assert "the raw scan was deleted (retention delete)" in err
    assert f"What to do: if the cloud reports wheel {row.wheel_id} of run {row.run_id}" in err
    assert not res.stdout
