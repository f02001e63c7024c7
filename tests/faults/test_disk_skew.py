"""Disk nearly full on the edge, and clock skew between the site and the cloud, with the
real programs.

- Disk: ``edge.min_free_mb`` above the free space there really is: ``wheel-edge run``
  converts nothing, deletes nothing, reports "disk low" (status, log, heartbeat's
  ``free_disk_mb``); with space back every scan goes through exactly once.
- Skew: the site PC's clock (scan names, RFID log) is hours ahead of or behind the cloud:
  every scan is still mapped, stored and scored once and no wheel is reported missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cloud.sql.models import ExpectedWheel
from schemas.localqueue import LocalQueue
from schemas.messages import decode_event
from tests.faults.harness import REPO, FaultSite, wait_for


def _heartbeats(site: FaultSite) -> list[object]:
    cfg = site.cfg()
    q = LocalQueue(cfg.path(cfg.transport.local_path))
    sub = cfg.transport.events_topic + "-faults-peek"
    q.create_subscription(sub, cfg.transport.events_topic)
    return [decode_event(m.data, m.attributes) for m in q.pull(sub, max_messages=500)
            if m.attributes.get("kind") == "heartbeat"]


@pytest.mark.parametrize("passes", [pytest.param(1, id="short"),
                                    pytest.param(3, id="long", marks=pytest.mark.slow)])
def test_disk_nearly_full_on_the_edge(make_site: Callable[..., FaultSite],
                                      passes: int) -> None:
    site = make_site()
    cfg = site.cfg()
    free = shutil.disk_usage(site.root).free // (1 << 20)
    low = {"WHEELWATCH__EDGE__MIN_FREE_MB": str(free + 50_000),
           "WHEELWATCH__EDGE__WARN_FREE_MB": str(free + 60_000)}
    site.provision()
    _heartbeats(site)  # subscribe before the edge sends anything
    site.start("cloud", env=low)  # same site config: the cloud alerts below warn_free_mb
    edge = site.start("edge", env=low)
    for n in range(passes):
        site.play(("T1", "T2")[n % 2])
    time.sleep(4)
    assert edge.alive()
    assert site.written() == 0 and not list(site.root.glob("archive/*/*.dat"))
    on_disk = sorted(p.name for c in ("Cam_01", "Cam_02") for p in (site.root / c).glob("*"))
    assert len(on_disk) == 2 * len(site.expected()), "no scan deleted or moved"
    status = subprocess.run([sys.executable, "-m", "edge.cli", "status", "--config",
                             str(site.cfg_path), "--json"], env={**site.env, **low}, cwd=REPO,
                            capture_output=True, text=True, timeout=60, check=False)
    assert "disk low" in status.stdout, status.stdout + status.stderr
    assert "disk low" in edge.log.read_text()
    hbs = _heartbeats(site)
    assert hbs and all(h.free_disk_mb is not None  # type: ignore[attr-defined]
                       and h.free_disk_mb < free + 50_000 for h in hbs)  # type: ignore[attr-defined]
    outbox = site.cfg().path(site.cfg().alerts.outbox_path)
    assert wait_for(lambda: outbox.exists() and "disk free" in outbox.read_text(), 60), \
        "the crew was not told that the edge's disk is low"
    edge.stop()
    site.start("edge")  # space is back
    total = len(site.expected())
    assert wait_for(lambda: site.written() >= total, 180), site.states()
    site.stop_all()
    fig = site.figures(f"edge-disk-low-{passes}p", free_mb=free, heartbeats_while_low=len(hbs),
                       crew_alert_for_disk_low="sent (outbox)")
    fig.report()
    assert (fig.lost, fig.duplicates) == (0, 0)
    assert fig.files_stored == fig.scores_written == total
    assert cfg.edge.retention == "archive"


@pytest.mark.parametrize("skew_h", [pytest.param(3, id="edge-ahead"),
                                    pytest.param(-5, id="edge-behind",
                                                 marks=pytest.mark.slow)])
def test_clock_skew_between_edge_and_cloud(make_site: Callable[..., FaultSite],
                                           skew_h: int) -> None:
    site = make_site(env={"WHEELWATCH__CLOUD__MONITOR__FILE_TIMEOUT_S": "4"})
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=skew_h)
    site.provision()
    site.start("cloud")
    site.start("edge")
    site.play("T1", start=now)
    site.play("T2", start=now + timedelta(minutes=2), drop=["T2-R02"])
    total = len(site.expected())
    assert wait_for(lambda: site.written() >= total, 180), site.states()
    time.sleep(6)  # past the file timeout: only the dropped wheel may be missing
    site.stop_all()
    with site.sessions()() as s:
        missing = [w.wheel_id for w in s.scalars(
            select(ExpectedWheel).where(ExpectedWheel.state == "missing")).all()]
        expected = len(s.scalars(select(ExpectedWheel)).all())
    assert missing == ["T2-R02"]
    assert expected == total + 1
    scores = site.warehouse_ids()
    fig = site.figures(f"clock-skew-{skew_h:+d}h", wheels_expected=expected, missing=missing)
    fig.report()
    assert (fig.lost, fig.duplicates) == (0, 0)
    assert fig.files_stored == len(set(scores)) == total
    json.dumps(fig.notes)
