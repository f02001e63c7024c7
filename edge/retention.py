"""What happens to a file's local copies once the cloud confirmed it.

The scan (``.dat`` + ``.xml``) is deleted, archived or kept (``edge.retention``) and the
CSV work files are removed at once. The compressed bundle, exactly the bytes that were
published, stays ``edge.keep_bundles_s`` longer so that ``wheel-edge republish`` can
resend a chunk the cloud reports missing; it goes early while the disk is getting low.
"""

from __future__ import annotations

from edge.files import apply_retention
from edge.tracker import StateChange, Tracker
from schemas.config import SiteConfig


def clean_confirmed(cfg: SiteConfig, tracker: Tracker, *, keep_bundles: bool) -> int:
    """Apply the retention setting to every confirmed file and mark it cleaned."""
    keep = keep_bundles and cfg.edge.keep_bundles_s > 0
    rows = tracker.files("state = 'confirmed'")
    detail = f"retention {cfg.edge.retention}"
    changes: list[StateChange] = []
    try:
        for row in rows:
            kept = keep and row.bundle_path is not None
            apply_retention([row.dat_path, row.xml_path],
                            [row.csv_path, row.meta_path, None if kept else row.bundle_path],
                            cfg.edge.retention, cfg.path(cfg.edge.archive_dir) / row.camera)
            changes.append(StateChange(
                row.key, "cleaned", f"{detail}; bundle kept {cfg.edge.keep_bundles_s:.0f} s"
                " for wheel-edge republish") if kept else
                StateChange(row.key, "cleaned", detail, {"bundle_path": None}))
    finally:  # the files cleaned so far are recorded in one transaction, even on an error
        tracker.set_states(changes)
    return len(rows)


def drop_kept_bundles(cfg: SiteConfig, tracker: Tracker, now: float, *, all_: bool) -> int:
    """Remove the kept bundles confirmed ``keep_bundles_s`` ago (every one if ``all_``)."""
    cutoff = now if all_ else now - cfg.edge.keep_bundles_s
    rows = tracker.files("state = 'cleaned' AND bundle_path IS NOT NULL AND confirmed_at <= ?",
                         (cutoff,))
    for row in rows:
        if row.bundle_path is not None:
            row.bundle_path.unlink(missing_ok=True)
        tracker.set_state(row.key, "cleaned", "kept bundle removed", bundle_path=None)
    return len(rows)
