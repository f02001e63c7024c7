"""A slow consumer: the real ``wheel-cloud run`` gets a fraction of the CPU (SIGSTOP /
SIGCONT duty cycle) while the edge publishes passes at full speed. The backlog waits in
the queue, not in the worker's memory: its RSS stays bounded by flow control; once it
catches up every scan is stored and scored exactly once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import pytest

from bench._procs import RssSampler
from cloud.bootstrap import subscriptions
from schemas.localqueue import LocalQueue
from tests.faults.harness import FaultSite, wait_for

GROWTH_MB = 150.0  # worker RSS above its steady state while the backlog builds


def _throttle(pid: int, stop: threading.Event, run_s: float = 0.15,
              pause_s: float = 0.6) -> None:
    import os
    while not stop.is_set():
        os.kill(pid, signal.SIGSTOP)
        stop.wait(pause_s)
        os.kill(pid, signal.SIGCONT)
        stop.wait(run_s)
    os.kill(pid, signal.SIGCONT)


@pytest.mark.parametrize("passes", [pytest.param(2, id="short"),
                                    pytest.param(12, id="long", marks=pytest.mark.slow)])
def test_slow_consumer_bounded_memory(make_site: Callable[..., FaultSite],
                                      passes: int) -> None:
    site = make_site(env={"WHEELWATCH__EDGE__CHUNK_BYTES": "16384"})
    cfg = site.cfg()
    site.provision()
    cloud = site.start("cloud")
    edge = site.start("edge")
    sampler = RssSampler({"cloud": cloud.p.pid, "edge": edge.p.pid}).start()
    site.play("T1")
    assert wait_for(lambda: site.written() >= 2, 120), site.states()
    steady = max(v for _, v in sampler.samples["cloud"][-5:])
    stop = threading.Event()
    throttle = threading.Thread(target=_throttle, args=(cloud.p.pid, stop), daemon=True)
    throttle.start()
    q = LocalQueue(cfg.path(cfg.transport.local_path))
    subs = [s.name for s in subscriptions(cfg) if s.camera]
    backlog = 0
    try:
        for n in range(1, passes):
            site.play(("T1", "T2")[n % 2])
            backlog = max(backlog, sum(q.backlog(s) for s in subs))
        def backlog_built() -> bool:  # sample while the edge publishes (slow under load)
            nonlocal backlog
            backlog = max(backlog, sum(q.backlog(s) for s in subs))
            return backlog >= 10

        wait_for(backlog_built, 45, step=0.2)
    finally:
        stop.set()
        throttle.join(5)
    total = len(site.expected())
    assert wait_for(lambda: site.written() >= total, 300), site.states()
    sampler.stop()
    site.stop_all()
    peak = sampler.peak("cloud")
    fig = site.figures(f"slow-consumer-{passes}p", max_backlog_msgs=backlog,
                       cloud_steady_mb=round(steady), cloud_peak_mb=round(peak),
                       edge_peak_mb=round(sampler.peak("edge")))
    fig.report()
    assert backlog >= 10, "the consumer was not slower than the producer"
    assert peak - steady < GROWTH_MB, f"worker grew {peak - steady:.0f} MiB with the backlog"
    assert (fig.lost, fig.duplicates) == (0, 0)
    assert fig.files_stored == fig.scores_written == total
