"""``wheel-edge republish``: send a tracked file's chunks again from its local bundle.

For a chunk the cloud reports missing (a file left incomplete), or a file whose delivery
is in doubt. Files are named by ``file_id``, ``camera/stem``, stem or ``.dat`` name, or
chosen by state (``--state``) and capture time (``--since``). Each file's bundle is
checked against the tracker (sha256, chunk count) before anything is sent; what was sent
is appended to the file's history in the pub tracker (its state does not change).
Receivers dedupe by (``file_id``, ``chunk_index``), so re-sending is always safe. After
a confirmed delivery the bundle is kept ``edge.keep_bundles_s`` (default an hour); a file
whose bundle is gone is reported (when delivered, when cleaned, where the scan went) and
the exit code is 1.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.tracker import FileRow, Tracker
    from edge.transport import Transport
    from schemas.config import SiteConfig

NAME = "republish"
HELP = ("send files recorded in the pub tracker again from their local bundles "
        "(e.g. a chunk the cloud reports missing)")
SENDABLE = ("converted", "published", "confirmed")
EPILOG = """\
FILE is a file_id, camera/stem (Cam_02/Cam_02_20261127_142301_512), a stem or a .dat
name; --state/--since add every file in that state (default: converted, published,
confirmed, or cleaned with its bundle still kept) captured at or after that time. Every
chunk is sent unless --chunks names some. Safe while `wheel-edge run` is running:
receivers drop duplicate chunks.

Only files that still have their local bundle can be sent: after a confirmed delivery
the uploader keeps the bundle for edge.keep_bundles_s (default 3600 s, less while the
disk is low), then removes it; a file without one is named with its delivery and cleanup
times and where its scan went.

examples:
  wheel-edge republish -c site.toml 7d0c5e1f2a9b4c3d8e6f1a2b3c4d5e6f --chunks 1
  wheel-edge republish -c site.toml Cam_02/Cam_02_20261127_142301_512
  wheel-edge republish -c site.toml --state published --since 2026-11-27T14:00Z --dry-run

exit codes: 0 every file sent (or would be, --dry-run); 1 a file could not be sent
or was not found (each one named on stderr); 2 usage or config error."""


def parse_chunks(text: str) -> list[int]:
    """``1,3,5-7`` -> [1, 3, 5, 6, 7] (argparse type: ArgumentTypeError when malformed)."""
    out: set[int] = set()
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            first, last = int(lo), int(hi or lo)
            if first < 0 or last < first:
                raise ValueError(part)
            out.update(range(first, last + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid chunk list {text!r}: use indexes from 0, e.g. 1,3 or 0-2") from None
    return sorted(out)


def parse_since(text: str) -> datetime:
    """An ISO 8601 time (``Z`` or offset; without one: UTC)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: use ISO 8601, e.g. 2026-11-27T14:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``republish``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("--config", "-c", type=Path, required=True, metavar="FILE",
                        help="site config TOML")
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="file_id, camera/stem, stem or .dat name of a tracked file")
    parser.add_argument("--chunks", type=parse_chunks, metavar="LIST",
                        help="only these chunk indexes, e.g. 1,3 or 0-2 (default: all)")
    parser.add_argument("--state", choices=("converted", "published", "confirmed", "cleaned"),
                        help="also every file in this state")
    parser.add_argument("--since", type=parse_since, metavar="TIME",
                        help="with --state (or alone): only files captured at/after TIME")
    parser.add_argument("--dry-run", action="store_true",
                        help="check and list what would be sent; send nothing")


@dataclass(frozen=True)
class Plan:
    """One file to send: its row, the chunk indexes and the topic."""

    row: FileRow
    chunks: list[int]
    topic: str


def _when(t: float | None) -> str:
    if t is None:
        return "an unrecorded time"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def select(tracker: Tracker, names: list[str], state: str | None,
           since: datetime | None) -> tuple[list[FileRow], list[str]]:
    """(rows to consider, errors for names that match no file or several)."""
    rows: dict[str, FileRow] = {}
    errors = []
    for name in names:
        stem = Path(name).name.removesuffix(".dat").removesuffix(".xml")
        key = name.removesuffix(".dat").removesuffix(".xml")
        found = tracker.files("file_id = ? OR key = ? OR stem = ?", (name, key, stem))
        if len(found) == 1:
            rows[found[0].key] = found[0]
            continue
        what = "no file" if not found else \
            f"{len(found)} files ({', '.join(r.key for r in found)})"
        errors.append(f"{name}: {what} in the pub tracker {tracker.path} match this "
                      "file_id, camera/stem, stem or .dat name")
    if state is not None or since is not None:
        states = (state,) if state else SENDABLE
        marks = ", ".join("?" * len(states))
        kept = "" if state else " OR (state = 'cleaned' AND bundle_path IS NOT NULL)"
        for r in tracker.files(f"state IN ({marks}){kept}", states):
            if since is None or r.capture_time >= since:
                rows.setdefault(r.key, r)
    return sorted(rows.values(), key=lambda r: (r.capture_time, r.key)), errors


def _cleaned_reason(cfg: SiteConfig, tracker: Tracker, row: FileRow) -> str:
    """Why a cleaned file cannot be sent: when delivered and cleaned, where the scan is."""
    [info] = tracker.query("SELECT confirmed_at, updated_at FROM files WHERE key = ?",
                           (row.key,))
    cleaned = [(at, d) for s, at, d in tracker.history(row.key) if s == "cleaned"]
    at = cleaned[-1][0] if cleaned else info["updated_at"]  # the bundle went last
    detail = next((d for _a, d in cleaned if d and d.startswith("retention ")), "")
    retention = detail.removeprefix("retention ").split(";")[0] or cfg.edge.retention
    scan = {"delete": "the raw scan was deleted (retention delete)",
            "archive": "the raw scan was moved to "
                       f"{cfg.path(cfg.edge.archive_dir) / row.camera / row.dat_path.name}",
            "keep": f"the raw scan is still at {row.dat_path}"}.get(retention, retention)
    return (f"delivered (all {row.chunk_count} chunk(s) confirmed at "
            f"{_when(info['confirmed_at'])}) and cleaned up at {_when(at)}: its local "
            f"bundle is gone, there is nothing to re-publish from; {scan}. A converted-again "
            "scan would not match the chunks the cloud already holds (new conversion "
            f"time). What to do: if the cloud reports wheel {row.wheel_id or 'unassigned'} "
            f"of run {row.run_id} missing (file {row.file_id} incomplete), it cannot be "
            "completed from the edge: check that wheel by hand or on its next pass")


def problem(cfg: SiteConfig, tracker: Tracker, row: FileRow, chunks: list[int] | None
            ) -> str | None:
    """Why ``row`` cannot be re-published as asked (None: it can)."""
    from edge.bundle import chunk_count

    if row.state == "cleaned" and (row.bundle_path is None or not row.bundle_path.exists()):
        return _cleaned_reason(cfg, tracker, row)
    if row.state == "quarantined":
        [info] = tracker.query("SELECT reason FROM files WHERE key = ?", (row.key,))
        return (f"quarantined, never published ({info['reason']}); see "
                f"{cfg.path(cfg.edge.quarantine_dir) / row.camera}")
    if row.state not in (*SENDABLE, "cleaned") or row.bundle_path is None:
        return "not converted yet, so there is no bundle: `wheel-edge run` publishes it"
    if not row.bundle_path.exists():
        return (f"its bundle {row.bundle_path} is missing; `wheel-edge run` converts the "
                "scan again and publishes it" if row.state != "confirmed" else
                f"its bundle {row.bundle_path} is missing (being cleaned up?)")
    count = row.chunk_count or 1
    if chunk_count(row.payload_bytes or 0, cfg.edge.chunk_bytes) != count:
        return (f"edge.chunk_bytes is now {cfg.edge.chunk_bytes}, but the file was cut into "
                f"{count} chunk(s) of its {row.payload_bytes} bytes: the chunks would not "
                "match; set edge.chunk_bytes back to the value it was converted with")
    bad = [i for i in chunks or [] if i >= count]
    if bad:
        return f"no chunk(s) {bad}: the file has {count} chunk(s), indexes 0-{count - 1}"
    with row.bundle_path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    if digest != row.sha256:
        return (f"its bundle {row.bundle_path} changed on disk (sha256 {digest[:12]}…, the "
                f"tracker recorded {(row.sha256 or '')[:12]}…): not sent")
    return None


def _label(row: FileRow) -> str:
    return f"{row.key} (file {row.file_id or 'without a file_id yet'})"


def send(cfg: SiteConfig, tracker: Tracker, transport: Transport, plan: Plan) -> list[str]:
    """Publish one file's chunks, record it in the file's history; their message ids."""
    from edge.publishing import file_messages

    row = plan.row
    transport.ensure_topic(plan.topic)
    ids = transport.publish(plan.topic, file_messages(cfg, row, plan.chunks),
                            ordering_key=row.camera)
    tracker.record(row.key, f"republished chunk(s) {plan.chunks} of {row.chunk_count} by "
                            f"wheel-edge republish, message ids {ids}")
    return ids


def _plans(cfg: SiteConfig, tracker: Tracker, rows: list[FileRow],
           chunks: list[int] | None) -> tuple[list[Plan], list[str]]:
    plans, errors = [], []
    for row in rows:
        why = problem(cfg, tracker, row, chunks)
        if why is not None:
            errors.append(f"{_label(row)}: {why}")
            continue
        plans.append(Plan(row, chunks or list(range(row.chunk_count or 1)),
                          cfg.camera(row.camera).topic))
    return plans, errors


def _send_all(cfg: SiteConfig, tracker: Tracker, plans: list[Plan]) -> list[str]:
    """Send every plan over the configured transport; errors of those that failed."""
    from edge.bootstrap import build_transport
    from schemas.errors import TransportError

    errors = []
    transport = build_transport(cfg)
    try:
        for plan in plans:
            try:
                ids = send(cfg, tracker, transport, plan)
            except TransportError as exc:
                errors.append(f"{_label(plan.row)}: not sent: {exc}")
                continue
            print(f"republished {_label(plan.row)}: chunk(s) {plan.chunks} of "
                  f"{plan.row.chunk_count} to {plan.topic}, message ids {ids}")
    finally:
        transport.close()
    return errors


def run(args: argparse.Namespace) -> int:
    """Re-publish the chosen files; see the module doc for the exit codes."""
    from edge.cmd_validate import load_site_config
    from edge.tracker import Tracker
    from schemas.errors import StoreError

    if not args.files and args.state is None and args.since is None:
        print("wheel-edge republish: name at least one FILE, or use --state/--since "
              "(see --help)", file=sys.stderr)
        return 2
    cfg = load_site_config(args.config)
    if cfg is None:
        return 2
    path = cfg.path(cfg.edge.tracker_path)
    if not path.exists():
        print(f"wheel-edge: no pub tracker at {path} (has the uploader run?)", file=sys.stderr)
        return 1
    tracker: Tracker | None = None
    rows: list[FileRow] = []
    errors: list[str] = []
    try:
        tracker = Tracker(path)
        rows, errors = select(tracker, args.files, args.state, args.since)
        plans, problems = _plans(cfg, tracker, rows, args.chunks)
        errors += problems
        for plan in plans if args.dry_run else []:
            print(f"would republish {_label(plan.row)}: chunk(s) {plan.chunks} of "
                  f"{plan.row.chunk_count} to {plan.topic}")
        if plans and not args.dry_run:
            errors += _send_all(cfg, tracker, plans)
    except StoreError as exc:
        errors.append(str(exc))
    finally:
        if tracker is not None:
            tracker.close()
    for err in errors:
        print(f"wheel-edge republish: {err}", file=sys.stderr)
    if not rows and not errors:
        print("wheel-edge republish: no tracked file matches", file=sys.stderr)
    return 1 if errors else 0
