"""Transport down for ten minutes of passes, then back: the backlog is delivered in
order, nothing is lost, nothing deleted before it is confirmed; the cloud stores and
scores every scan exactly once (the real ``wheel-cloud run``)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

import pytest

from tests.faults.edgekit import edge_in_process
from tests.faults.harness import FaultSite, wait_for

LONG = pytest.mark.slow


@pytest.mark.parametrize("passes", [pytest.param(2, id="short"),
                                    pytest.param(5, id="10min", marks=LONG)])
def test_transport_down_then_back(make_site: Callable[..., FaultSite], passes: int) -> None:
    site = make_site()
    cfg = site.cfg()
    edge = edge_in_process(cfg, start=time.time())
    edge.link.down = True
    # ten minutes of simulated time: a pass every 2 minutes, the edge stepping every 5 s
    for n in range(passes):
        site.play(("T1", "T2")[n % 2])
        edge.step(24, advance_s=5.0)
    down_s = edge.steps * 5.0
    tracker = edge.uploader.tracker
    states = {str(r[0]): int(r[1]) for r in
              tracker.query("SELECT state, COUNT(*) FROM files GROUP BY state")}
    assert states.get("cleaned", 0) == 0 and states.get("confirmed", 0) == 0
    files_on_disk = sum(1 for c in ("Cam_01", "Cam_02") for _ in (site.root / c).glob("*.dat"))
    assert files_on_disk == len(site.expected()), "nothing deleted while the link is down"
    status = tracker.status()
    assert "network unreachable" in status["Cam_01"]["last_error"]["message"]
    assert not edge.link.sent
    edge.link.down = False
    edge.idle(len(site.expected()))
    # in order: per camera, chunks went out by capture time, chunk index within a file
    order: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for m in edge.link.sent:
        if m.attributes.get("kind") == "wheel_chunk":
            order[m.attributes["camera"]].append((m.attributes["capture_time"],
                                                  int(m.attributes["chunk_index"])))
    for cam, seq in order.items():
        assert seq == sorted(seq), f"{cam} backlog out of order"
    assert sum(len({t for t, _ in s}) for s in order.values()) == len(site.expected())
    site.provision()
    site.start("cloud")
    assert wait_for(lambda: site.written() >= len(site.expected()), 180), site.states()
    site.stop_all()
    fig = site.figures(f"transport-down-{passes}-passes", simulated_down_s=down_s,
                       publish_calls_refused=edge.link.calls)
    fig.report()
    assert (fig.lost, fig.duplicates) == (0, 0)
    assert fig.files_stored == fig.scores_written == fig.files_in
