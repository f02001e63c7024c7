"""Processes killed with SIGKILL and restarted, with the real programs: the edge mid-
publish, the cloud worker mid-file. Nothing lost, nothing stored or scored twice."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest

from cloud.demo.site import Backends
from edge.tracker import Tracker
from tests.faults.harness import FaultSite, wait_for

SMALL_CHUNKS = {"WHEELWATCH__EDGE__CHUNK_BYTES": "12288",
                "WHEELWATCH__EDGE__PUBLISH_WINDOW_FILES": "1"}


def _edge_count(site: FaultSite, where: str) -> int:
    path = site.cfg().path(site.cfg().edge.tracker_path)
    if not path.exists():
        return 0
    t = Tracker(path, readonly=True)
    try:
        return int(t.query(f"SELECT COUNT(*) FROM files WHERE {where}")[0][0])
    except Exception:  # the tracker may be mid-creation
        return 0
    finally:
        t.close()


@pytest.mark.parametrize("passes,backend", [
    pytest.param(3, "embedded", id="short"),
    pytest.param(3, "pubsub", id="pubsub-emulator", marks=pytest.mark.integration),
    pytest.param(6, "embedded", id="long", marks=pytest.mark.slow)])
def test_edge_sigkill_mid_publish(make_site: Callable[..., FaultSite], passes: int,
                                  backend: str, request: pytest.FixtureRequest) -> None:
    backends = None
    if backend == "pubsub":  # edge and cloud over Google's Pub/Sub emulator
        request.getfixturevalue("pubsub_env")
        backends = Backends(name="pubsub", transport="pubsub",
                            project=f"faults-{uuid.uuid4().hex[:8]}")
    site = make_site(env=SMALL_CHUNKS, backends=backends)
    site.provision()
    site.start("cloud")
    edge = site.start("edge")
    writer = threading.Thread(target=lambda: [site.play(("T1", "T2")[n % 2], pace_s=0.15)
                                              for n in range(passes)])
    writer.start()
    assert wait_for(lambda: _edge_count(site, "state = 'cleaned'") >= 3, 120), edge.tail()
    assert edge.kill() == -9
    killed_at = _edge_count(site, "state = 'cleaned'")
    writer.join(120)
    assert killed_at < len(site.expected()), "the kill must land mid-stream"
    site.start("edge")
    total = len(site.expected())
    assert wait_for(lambda: site.written() >= total, 240), site.states()
    site.stop_all()
    fig = site.figures(f"edge-sigkill-{passes}p-{backend}", cleaned_at_kill=killed_at)
    fig.report()
    assert (fig.lost, fig.duplicates) == (0, 0)
    assert fig.files_stored == fig.scores_written == total


def _receiving(site: FaultSite) -> bool:
    return site.states().get("receiving", 0) > 0 and site.written() >= 1


@pytest.mark.parametrize("passes", [pytest.param(2, id="short"),
                                    pytest.param(4, id="long", marks=pytest.mark.slow)])
def test_cloud_sigkill_mid_file(make_site: Callable[..., FaultSite], passes: int) -> None:
    site = make_site(env=SMALL_CHUNKS)
    site.provision()
    cloud = site.start("cloud")
    site.start("edge")
    for n in range(passes):
        site.play(("T1", "T2")[n % 2])
    total = len(site.expected())
    assert wait_for(lambda: _receiving(site), 120), site.states()
    states_at_kill = dict(site.states())
    assert cloud.kill() == -9
    assert site.written() < total, "the kill must land mid-stream"
    site.start("cloud")
    assert wait_for(lambda: site.written() >= total, 240), site.states()
    site.stop_all()
    fig = site.figures(f"cloud-sigkill-{passes}p", states_at_kill=states_at_kill)
    fig.report()
    assert (fig.lost, fig.duplicates) == (0, 0)
    assert fig.files_stored == fig.scores_written == total
