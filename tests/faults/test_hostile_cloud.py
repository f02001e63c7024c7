"""Hostile messages on the cloud's subscriptions, next to a normal pass, through the
real ``wheel-cloud run``: each is dead-lettered with a clear reason, the worker keeps
running, nothing is written outside its blob store, the normal pass is scored once."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard
from sqlalchemy import select

from cloud.reassembly import build_bundle
from cloud.sql.models import DeadLetter
from edge.bootstrap import build_transport
from edge.transport import OutMessage
from schemas.messages import ChunkAttributes
from tests.faults.harness import FaultSite, wait_for

T = "2026-11-28T10:00:00+00:00"


def _attrs(payload: bytes, raw: int, n: int, **over: str) -> dict[str, str]:
    a = ChunkAttributes(site="demo-park", camera="Cam_01", file_id=f"{n:032x}",
                        wheel_id="T1-L01", train_id="T1", run_id="run-hostile",
                        capture_time=T, chunk_index=0, chunk_count=1,  # type: ignore[arg-type]
                        sha256=hashlib.sha256(payload).hexdigest(),
                        payload_bytes=len(payload), raw_bytes=raw).to_attributes()
    a.update(over)
    return a


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def hostile_messages(csv: bytes, meta: dict[str, Any]) -> list[tuple[str, str, bytes,
                                                                     dict[str, str]]]:
    """(what, camera topic key, data, attributes) of every hostile message."""
    out: list[tuple[str, str, bytes, dict[str, str]]] = []
    ok, raw = build_bundle(csv, dict(meta, file_id=f"{1:032x}", site="demo-park",
                                     camera="Cam_01", wheel_id="T1-L01"))
    for n, (key, value) in enumerate((("wheel_id", "../../../../tmp/evil"),
                                      ("camera", "../Cam_02"), ("site", "../../etc"),
                                      ("file_id", "../../../../tmp/evil-file")), start=2):
        out.append((f"path traversal in attribute {key}", "cam1", ok,
                    _attrs(ok, raw, n, **{key: value})))
    bomb = zstandard.ZstdCompressor(level=3).compress(b"\0" * 200_000_000)
    out.append(("decompression bomb (200 MB declared as 10 kB)", "cam1", bomb,
                _attrs(bomb, 10_000, 10)))
    out.append(("declared raw size over the limit", "cam1", bomb,
                _attrs(bomb, 10**12, 11)))
    other, raw_o = build_bundle(csv, dict(meta, file_id=f"{12:032x}", site="other-park",
                                          camera="Cam_01", wheel_id="T1-L01"))
    out.append(("bundle claims another site", "cam1", other, _attrs(other, raw_o, 12)))
    cam2, raw_c = build_bundle(csv, dict(meta, file_id=f"{13:032x}", site="demo-park",
                                         camera="Cam_02", wheel_id="T1-L01"))
    out.append(("bundle claims another camera", "cam1", cam2, _attrs(cam2, raw_c, 13)))
    topic2, raw_t = build_bundle(csv, dict(meta, file_id=f"{16:032x}", site="demo-park",
                                           camera="Cam_02", wheel_id="T1-R01"))
    out.append(("message on Cam_01's topic claims Cam_02", "cam1", topic2,
                _attrs(topic2, raw_t, 16, camera="Cam_02", wheel_id="T1-R01")))
    junk = bytes(range(256)) * 40
    out.append(("random bytes as payload", "cam1", junk, _attrs(junk, 50_000, 14)))
    evil = _tar({"../../evil.csv": csv, "wheel.json": json.dumps(meta).encode()})
    evil_z = zstandard.ZstdCompressor().compress(evil)
    out.append(("bundle member with a path", "cam1", evil_z, _attrs(evil_z, len(evil), 15)))
    out.append(("event that is not JSON", "events", b"\xff{not json",
                {"schema_version": "1", "kind": "run_manifest", "site": "demo-park"}))
    out.append(("event of an unknown kind", "events", b"{}",
                {"schema_version": "1", "kind": "../../x", "site": "demo-park"}))
    return out


def _dead(site: FaultSite) -> list[tuple[dict[str, str], str]]:
    with site.sessions()() as s:
        return [(json.loads(d.attributes), d.reason)
                for d in s.scalars(select(DeadLetter)).all()]


def _key(attrs: dict[str, str]) -> str:
    return attrs.get("file_id") or attrs.get("kind", "")


@pytest.mark.parametrize("passes", [pytest.param(1, id="short"),
                                    pytest.param(3, id="long", marks=pytest.mark.slow)])
def test_hostile_messages(make_site: Callable[..., FaultSite], tmp_path: Path,
                          passes: int) -> None:
    from tests.cloud.support import make_sample

    site = make_site()
    for n in range(passes):
        site.play(("T1", "T2")[n % 2])
    csv, meta = make_sample(tmp_path / "sample", lines=60, width=40)
    msgs = hostile_messages(csv, meta)
    cfg = site.cfg()
    site.provision()
    edge = site.start("edge", "--until-idle", "2")
    assert edge.wait(240) == 0, edge.tail()
    topics = {"cam1": cfg.cameras[0].topic, "events": cfg.transport.events_topic}
    link = build_transport(cfg)
    for _what, key, data, attrs in msgs:
        link.publish(topics[key], [OutMessage(data, attrs)])
    link.close()
    cloud = site.start("cloud")
    good = len(site.expected())
    assert wait_for(lambda: site.written() >= good and len(_dead(site)) >= len(msgs), 180), (
        site.states(), _dead(site))
    assert cloud.alive(), cloud.tail()
    site.stop_all()
    dead = _dead(site)
    reasons = [r for _, r in dead]
    by_key = {_key(a): r for a, r in dead}
    table = {w: by_key.get(_key(a), "NOT REJECTED") for w, _k, _d, a in msgs}
    assert len(reasons) == len(msgs), reasons
    for words in (("wheel_id",), ("camera",), ("site",), ("file_id",),
                  ("inflates beyond",), ("over limit",), ("site='other-park'",),
                  ("camera='Cam_02'",), ("Cam_02", "topic"), ("zstd",),
                  ("unexpected bundle member",),
                  ("bad run_manifest",), ("unknown event kind",)):
        assert any(all(w in r for w in words) for r in reasons), (words, reasons)
    assert not [p for p in tmp_path.rglob("*evil*")], "nothing written from hostile names"
    blob_root = cfg.path(cfg.cloud.blob_dir).resolve()
    for p in blob_root.rglob("*"):
        assert p.resolve().is_relative_to(blob_root)
    fig = site.figures(f"hostile-cloud-{passes}p", dead_lettered=len(reasons))
    fig.notes["reasons"] = table
    fig.report()
    assert (fig.lost, fig.duplicates) == (0, 0)
    assert fig.files_stored == fig.scores_written == good
