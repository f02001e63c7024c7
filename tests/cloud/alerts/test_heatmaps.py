"""Heatmaps in emails: PNG bytes or a blob URI (file:// or the blob store's gs://)."""

from __future__ import annotations

from pathlib import Path

from cloud.alerts.bootstrap import blob_fetcher, build_service
from cloud.alerts.store import AlertStore
from cloud.blob.local import LocalBlobStore
from cloud.domain_events import WheelScored
from tests.cloud.alerts.conftest import make_cfg
from tests.cloud.alerts.helpers import FakeChannel, ManualClock, Sleeps, a_pass

PNG = b"\x89PNG\r\n\x1a\n fake"


class FakeGcs:
    def __init__(self) -> None:
        self.objects = {"heat/L03.png": PNG}
        self.built = 0

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def uri(self, key: str) -> str:
        return f"gs://bucket-a/{key}"


def test_blob_fetcher_reads_file_uris_and_store_uris_building_the_store_lazily(
    tmp_path: Path
) -> None:
    gcs = FakeGcs()

    def make() -> FakeGcs:
        gcs.built += 1
        return gcs

    fetch = blob_fetcher(make)
    (tmp_path / "h.png").write_bytes(b"local")
    assert fetch((tmp_path / "h.png").as_uri()) == b"local"
    assert gcs.built == 0
    assert fetch("gs://bucket-a/heat/L03.png") == PNG
    assert fetch("gs://bucket-a/heat/L03.png") == PNG
    assert gcs.built == 1
    local = LocalBlobStore(tmp_path / "blobs")
    local.put_if_absent("a/b.png", b"blob", "image/png")
    assert blob_fetcher(lambda: local)(local.uri("a/b.png")) == b"blob"


def test_unreadable_heatmap_leaves_it_out_but_sends_the_alert(
    store: AlertStore, clock: ManualClock, tmp_path: Path
) -> None:
    channels = {n: FakeChannel(n) for n in ("sms", "email", "outbox")}

    def heatmap(ev: WheelScored) -> str | None:
        return "gs://bucket-a/heat/L03.png" if ev.wheel_id == "T2-L03" else "gs://other/x.png"

    svc = build_service(make_cfg(), store, outbox_path=tmp_path / "o.jsonl", clock=clock,
                        sleep=Sleeps(), channels=channels,  # type: ignore[arg-type]
                        heatmap=heatmap, fetch_blob=blob_fetcher(FakeGcs))
    for ev in a_pass():
        svc.handle(ev)
    mail = channels["email"].sent[0].message
    assert [img.png for img in mail.images] == [PNG]
    assert mail.html.count('src="cid:') == 1
    assert len(channels["sms"].sent) == 2
