"""The Pub/Sub adapter and the whole uploader against Google's Pub/Sub emulator."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from google.api_core.exceptions import DeadlineExceeded

from edge.bootstrap import build_transport, build_uploader
from edge.simulator.site import SiteSimulator
from edge.transport import OutMessage
from schemas.errors import TransportError
from tests.edge.sitekit import make_site, pass_start, reassemble, run_until_idle
from tests.edge.tcpproxy import TcpProxy
from tests.fixtures.pubsub_emulator import PubsubEmulator, subscriber_client

pytestmark = pytest.mark.integration


def _subscribe(emu: PubsubEmulator, topic: str, name: str) -> tuple[Any, str]:
    sub = subscriber_client(emu.host)
    path = sub.subscription_path(emu.project, name)
    sub.create_subscription(request={
        "name": path, "topic": f"projects/{emu.project}/topics/{topic}",
        "enable_message_ordering": True, "ack_deadline_seconds": 60})
    return sub, path


def _pull_all(sub: Any, path: str) -> list[Any]:
    out: list[Any] = []
    empty = 0
    while empty < 2:
        try:
            resp = sub.pull(request={"subscription": path, "max_messages": 100}, timeout=3)
        except DeadlineExceeded:
            empty += 1
            continue
        if not resp.received_messages:
            empty += 1
            continue
        empty = 0
        sub.acknowledge(request={"subscription": path,
                                 "ack_ids": [m.ack_id for m in resp.received_messages]})
        out += resp.received_messages
    return out


class _Msg:
    """Adapts a Pub/Sub ReceivedMessage to what sitekit.reassemble expects."""

    def __init__(self, rm: Any) -> None:
        self.data = rm.message.data
        self.attributes = dict(rm.message.attributes)
        self.message_id = rm.message.message_id


def test_adapter_publishes_in_order_with_big_messages(
        tmp_path: Path, pubsub_env: PubsubEmulator) -> None:
    _, cfg = make_site(tmp_path, transport={"kind": "pubsub", "project": pubsub_env.project})
    transport = build_transport(cfg)
    transport.ensure_topic("adapter-test")
    transport.ensure_topic("adapter-test")  # idempotent
    sub, path = _subscribe(pubsub_env, "adapter-test", "adapter-test-sub")
    big = os.urandom(6_000_000)  # > 4 MiB: needs the subscriber's unlimited channel
    msgs = [OutMessage(big, {"n": "0"})] + [OutMessage(f"m{i}".encode(), {"n": str(i)})
                                           for i in range(1, 20)]
    ids = transport.publish("adapter-test", msgs, ordering_key="Cam_01")
    assert len(ids) == 20 and len(set(ids)) == 20
    got = _pull_all(sub, path)
    assert [m.message.attributes["n"] for m in got] == [str(i) for i in range(20)]
    assert got[0].message.data == big
    transport.close()


def test_adapter_translates_errors(tmp_path: Path, pubsub_env: PubsubEmulator,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _, cfg = make_site(tmp_path, transport={"kind": "pubsub", "project": pubsub_env.project})
    transport = build_transport(cfg)
    with pytest.raises(TransportError) as missing:
        transport.publish("no-such-topic", [OutMessage(b"x", {})], ordering_key="Cam_01")
    assert not missing.value.retryable
    transport.ensure_topic("ok-topic")  # the key was resumed: publishing goes on
    assert transport.publish("ok-topic", [OutMessage(b"y", {})], ordering_key="Cam_01")
    transport.close()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:9")  # nothing listens: link down
    cfg.edge.pubsub.publish_timeout_s = 2.0
    cfg.edge.pubsub.confirm_timeout_s = 2.0
    down = build_transport(cfg)
    with pytest.raises(TransportError) as unreachable:
        down.publish("ok-topic", [OutMessage(b"z", {})], ordering_key="Cam_01")
    assert unreachable.value.retryable


def test_uploader_end_to_end_over_pubsub(tmp_path: Path, pubsub_env: PubsubEmulator) -> None:
    _, cfg = make_site(tmp_path, transport={"kind": "pubsub", "project": pubsub_env.project})
    uploader = build_uploader(cfg)
    uploader.step()  # creates the topics
    subs = [_subscribe(pubsub_env, f"wheelwatch-cam-0{i}", f"e2e-cam-0{i}") for i in (1, 2)]
    events = _subscribe(pubsub_env, "wheelwatch-events", "e2e-events")
    sim = SiteSimulator.from_config(cfg, seed=5, width=200)
    sim.run_pass("T1", pass_start(0))
    sim.run_pass("T2", pass_start(1), drop=["T2-R04"])
    uploader.closer.close_s = 0.0
    run_until_idle(uploader)
    got = [_Msg(m) for s, p in subs for m in _pull_all(s, p)]
    files = reassemble(got)
    assert len(files) == 15
    assert all(not f["dupes"] for f in files.values())
    kinds = [m.message.attributes["kind"] for m in _pull_all(*events)]
    assert kinds.count("run_manifest") == 2
    assert not list((tmp_path / "Cam_01").glob("*.dat"))
    uploader.transport.close()


def test_pubsub_link_down_then_back(tmp_path: Path, pubsub_emulator: PubsubEmulator,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The network to Pub/Sub is cut mid-run and comes back: the backlog goes out, once."""
    host, port = pubsub_emulator.host.split(":")
    proxy = TcpProxy((host, int(port)))
    project = "link-down-test"
    _, cfg = make_site(tmp_path, transport={"kind": "pubsub", "project": project},
                       edge={"pubsub": {"publish_timeout_s": 2.0, "confirm_timeout_s": 1.5}})
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{proxy.port}")
    emu = PubsubEmulator(host=pubsub_emulator.host, project=project)
    sim = SiteSimulator.from_config(cfg, seed=9, width=200)
    uploader = build_uploader(cfg)
    uploader.closer.close_s = 0.0
    uploader.step()  # creates the topics
    subs = [_subscribe(emu, f"wheelwatch-cam-0{i}", f"ld-cam-0{i}") for i in (1, 2)]
    try:
        sim.run_pass("T1", pass_start(0))
        run_until_idle(uploader)
        first = reassemble([_Msg(m) for s, p in subs for m in _pull_all(s, p)])
        assert len(first) == 8
        proxy.cut()
        sim.run_pass("T2", pass_start(1))
        for _ in range(2):
            uploader.step()
        status = uploader.tracker.status()
        assert sum(s["states"]["converted"] for s in status.values()) == 8
        assert len(list((tmp_path / "Cam_02").glob("*.dat"))) == 4, "nothing deleted while down"
        assert "not confirmed" in status["Cam_01"]["last_error"]["message"]
        proxy.restore()
        uploader.retry_at.clear()
        run_until_idle(uploader, budget_s=150, pause_s=0.2)  # gRPC reconnect backoff
        second = reassemble([_Msg(m) for s, p in subs for m in _pull_all(s, p)])
    finally:
        proxy.close()
        uploader.transport.close()
    assert len(second) == 8, "every file of the outage delivered"
    assert all(not f["dupes"] for f in second.values()), "in-flight messages not re-sent"
    assert {f["attrs"]["train_id"] for f in second.values()} == {"T2"}
