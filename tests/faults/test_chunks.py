"""Duplicated, reordered and dropped chunks between the edge and the real
``wheel-cloud run``: duplicates and reordering change nothing; a dropped chunk leaves its
file incomplete, the monitor reports the wheel missing (with that reason), and once
``wheel-edge republish`` sent the chunk again the file is stored and scored exactly once.

The edge keeps a confirmed file's bundle ``edge.keep_bundles_s`` (the cloud notices a
lost chunk only after its ``file_timeout_s``); once the kept bundles are removed,
``republish`` must say that it can no longer send that file."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from cloud.sql.models import ExpectedWheel
from tests.faults.edgekit import edge_in_process
from tests.faults.harness import REPO, FaultSite, wait_for

FAST = {"WHEELWATCH__EDGE__CHUNK_BYTES": "8192",
        "WHEELWATCH__CLOUD__MONITOR__FILE_TIMEOUT_S": "3"}


def _republish(site: FaultSite, *args: str) -> subprocess.CompletedProcess[str]:
    """``wheel-edge republish --config site.toml ARGS`` as the crew would run it."""
    return subprocess.run([sys.executable, "-m", "edge.cli", "republish", "--config",
                           str(site.cfg_path), *args], env=site.env, cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)


def _missing(site: FaultSite) -> list[tuple[str, str | None]]:
    with site.sessions()() as s:
        return [(w.wheel_id, w.missing_reason) for w in s.scalars(
            select(ExpectedWheel).where(ExpectedWheel.state == "missing")).all()]


@pytest.mark.parametrize("passes", [pytest.param(1, id="short"),
                                    pytest.param(4, id="long", marks=pytest.mark.slow)])
def test_duplicated_reordered_dropped_chunks(make_site: Callable[..., FaultSite],
                                             passes: int) -> None:
    site = make_site(env=FAST)
    edge = edge_in_process(site.cfg(), start=time.time(), seed=3)
    edge.link.dup, edge.link.swap = 0.2, 0.3
    for n in range(passes):
        site.play(("T1", "T2")[n % 2])
    edge.link.drop_file = ("Cam_02", 1)  # chunk 1 of the second Cam_02 file is lost
    edge.idle(len(site.expected()))  # confirmed and cleaned: scans gone, bundles kept
    lost_fid = edge.link.dropped[0][1].attributes["file_id"]
    [victim] = edge.uploader.tracker.files("file_id = ?", (lost_fid,))
    assert (victim.chunk_count or 0) >= 3, "a multi-chunk file is needed"
    sent = [m for m in edge.link.sent if m.attributes.get("kind") == "wheel_chunk"]
    n_dup = len(sent) - len({(m.attributes["file_id"], m.attributes["chunk_index"])
                             for m in sent})
    assert n_dup > 0 and len(edge.link.dropped) == 1
    site.provision()
    site.start("cloud")
    total = len(site.expected())
    assert wait_for(lambda: site.written() >= total - 1, 180), site.states()
    assert wait_for(lambda: bool(_missing(site)), 60), "the incomplete file is reported"
    [(wheel, reason)] = _missing(site)
    assert wheel == victim.wheel_id and "incomplete" in (reason or "")
    assert site.written() == total - 1
    res = _republish(site, lost_fid, "--chunks", "1")
    assert res.returncode == 0, res.stderr
    assert f"republished {victim.key} (file {lost_fid}): chunk(s) [1]" in res.stdout
    assert wait_for(lambda: site.written() >= total, 60), site.states()
    assert "republished chunk(s) [1]" in (edge.uploader.tracker.history(victim.key)[-1][2]
                                          or "")
    assert edge.uploader.drop_kept_bundles(edge.clock.now) == 0  # kept for an hour
    assert edge.uploader.drop_kept_bundles(edge.clock.now + 3601) == len(site.expected())
    gone = _republish(site, lost_fid)
    assert gone.returncode == 1 and "its local bundle is gone" in gone.stderr, gone.stderr
    site.stop_all()
    fig = site.figures(f"chunks-dup-reorder-drop-{passes}p", chunks_sent=len(sent),
                       chunks_duplicated=n_dup, chunks_dropped=1,
                       reported_missing=f"{wheel}: {reason}")
    fig.report()
    assert (fig.lost, fig.duplicates) == (0, 0)
    assert fig.files_stored == fig.scores_written == fig.files_in
