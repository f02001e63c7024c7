"""Hostile and broken scan files next to a normal pass, through the real ``wheel-edge
run`` and ``wheel-cloud run``: each is quarantined with a clear reason and reported,
neither program crashes, nothing is read or written outside the site's folders, and the
normal pass is stored and scored exactly once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.harness import FaultSite, wait_for
from tests.faults.hostile import write_hostile

SITE_DIRS = {"Cam_01", "Cam_02", "archive", "quarantine", "state", "logs", "rfid", "truth",
             "site.toml", ".wheelwatch-demo"}
EXPECT = {  # hostile stem -> words its quarantine reason must contain (any of)
    "Cam_01_truncated": ("truncat", "whole number", "lines"),
    "Cam_01_oversized": ("whole number", "size", "bytes", "lines"),
    "Cam_01_laughs": ("entit", "DTD", "forbidden"),
    "Cam_01_xxe": ("entit", "DTD", "forbidden"),
    "Cam_01_sizes": ("size", "bytes", "width", "disagree", "larger"),
    "Cam_01_random": ("XML", "xml", "parse", "not well-formed"),
    "Cam_01_..": ("size", "bytes", "lines", "whole number"),
    "Cam_01_..\\..\\..\\etc\\passwd": ("size", "bytes", "lines", "whole number"),
    "Cam_01_symlink": ("symlink", "link", "size", "bytes", "lines", "whole number"),
}


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("passes", [pytest.param(1, id="short"),
                                    pytest.param(3, id="long", marks=pytest.mark.slow)])
def test_hostile_scan_files(make_site: Callable[..., FaultSite], tmp_path: Path,
                            passes: int) -> None:
    site = make_site()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET-7f3a")
    for n in range(passes):
        site.play(("T1", "T2")[n % 2])
    sample = tmp_path / "sample"
    sample.mkdir()
    rec = site.records[0].files[0]
    for ext in (".dat", ".xml"):  # a copy of a real scan to derive the hostile ones from
        src = site.root / rec.camera_id / rec.file.replace(".dat", ext)
        (sample / f"s{ext}").write_bytes(src.read_bytes())
    made = write_hostile(site.root / "Cam_01", sample / "s.dat", sample / "s.xml", outside)
    site.extra_in |= {("Cam_01", f"{stem}.dat") for stem in made}
    before = _snapshot(outside)
    site.provision()
    edge = site.start("edge", "--until-idle", "3")
    assert edge.wait(240) == 0, edge.tail()
    assert "Traceback" not in edge.log.read_text(), edge.tail(60)
    site.start("cloud")
    good = len(site.expected()) - len(made)
    assert wait_for(lambda: site.written() >= good, 180), site.states()
    assert wait_for(lambda: _quarantine_events(site) >= len(made), 60)
    site.stop_all()
    assert _snapshot(outside) == before, "nothing outside the site is changed"
    assert (outside / "target.dat").exists()
    assert {p.name for p in tmp_path.iterdir()} <= {"site", "outside", "sample"}
    assert {p.name for p in site.root.iterdir()} <= SITE_DIRS
    leaked = [p for p in site.root.rglob("*") if p.is_file() and not p.is_symlink()
              and b"TOP-SECRET-7f3a" in p.read_bytes()]
    assert not leaked, f"the external entity was resolved into {leaked}"
    reasons = _reasons_by_stem(site)
    for stem, what in made.items():
        assert stem in reasons, f"{what}: not quarantined ({sorted(reasons)})"
        assert any(w in reasons[stem] for w in EXPECT[stem]), (what, reasons[stem])
    fig = site.figures(f"hostile-edge-{passes}p", reasons={
        made[s]: reasons[s][:90] for s in made})
    fig.report()
    assert (fig.lost, fig.duplicates) == (0, 0)
    assert fig.files_stored == fig.scores_written == good
    assert fig.quarantined == len(made)


def _reasons_by_stem(site: FaultSite) -> dict[str, str]:
    qdir = site.cfg().path(site.cfg().edge.quarantine_dir)
    out = {}
    for note in qdir.glob("*/*.reason.txt"):
        text = note.read_text()
        files = next(x[7:] for x in text.splitlines() if x.startswith("files: "))
        stem = files.split(",")[0].strip().rsplit(".", 1)[0]
        out[stem] = next(x[8:] for x in text.splitlines() if x.startswith("reason: "))
    return out


def _quarantine_events(site: FaultSite) -> int:
    from sqlalchemy import func, select

    from cloud.sql.models import OutboxEvent
    with site.sessions()() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxEvent)
                            .where(OutboxEvent.key.like("quarantine:%"))) or 0)
