"""Duplicated, reordered and dropped chunks between the edge and the real
``wheel-cloud run``: duplicates and reordering change nothing; a dropped chunk leaves its
file incomplete, the monitor reports the wheel missing (with that reason), and once the
chunk is re-published the file is stored and scored exactly once."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from cloud.sql.models import ExpectedWheel
from tests.faults.edgekit import edge_in_process
from tests.faults.harness import FaultSite, wait_for

FAST = {"WHEELWATCH__EDGE__CHUNK_BYTES": "8192",
        "WHEELWATCH__CLOUD__MONITOR__FILE_TIMEOUT_S": "3"}


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
    edge.idle(len(site.expected()))
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
    topic, msg = edge.link.dropped[0]
    edge.link.inner.publish(topic, [msg], ordering_key="Cam_02")  # the edge re-publishes
    assert wait_for(lambda: site.written() >= total, 60), site.states()
    site.stop_all()
    fig = site.figures(f"chunks-dup-reorder-drop-{passes}p", chunks_sent=len(sent),
                       chunks_duplicated=n_dup, chunks_dropped=1,
                       reported_missing=f"{wheel}: {reason}")
    fig.report()
    assert (fig.lost, fig.duplicates) == (0, 0)
    assert fig.files_stored == fig.scores_written == fig.files_in
