"""``wheel-cloud status``: backlog, last file per camera, tracker counts, dead letters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cloud.bootstrap import subscriptions
from cloud.outbox import utc
from cloud.ports import Transport
from cloud.provision import dead_letter_subscription
from cloud.sql.models import DeadLetter, OutboxEvent, TrackedFile
from cloud.tracker import STATES
from schemas.config import SiteConfig
from schemas.errors import TransportError


def collect(cfg: SiteConfig, transport: Transport | None,
            sessions: sessionmaker[Session]) -> dict[str, Any]:
    """The status as a JSON-able dict."""
    backlog: dict[str, int | str | None] = {}
    for sub in subscriptions(cfg):
        dls = dead_letter_subscription(sub.dead_letter_topic, cfg.transport.subscription_suffix)
        for name in (sub.name, dls):
            try:
                backlog[name] = transport.backlog(name) if transport else None
            except TransportError as exc:
                backlog[name] = f"error: {exc}"
    with sessions() as s:
        last = {str(cam): utc(t).isoformat() for cam, t in s.execute(
            select(TrackedFile.camera, func.max(TrackedFile.last_chunk_at))
            .group_by(TrackedFile.camera)).all() if t is not None}
        counts = dict.fromkeys(STATES, 0)
        for state, n in s.execute(select(TrackedFile.state, func.count())
                                  .group_by(TrackedFile.state)).all():
            counts[str(state)] = int(n)
        dead = int(s.scalar(select(func.count()).select_from(DeadLetter)) or 0)
        recent = [{"subscription": d.subscription, "message_id": d.message_id,
                   "file_id": d.file_id, "reason": d.reason,
                   "at": utc(d.received_at).isoformat()}
                  for d in s.scalars(select(DeadLetter)
                                     .order_by(DeadLetter.received_at.desc()).limit(5))]
        pending = int(s.scalar(select(func.count()).select_from(OutboxEvent)
                               .where(OutboxEvent.delivered_at.is_(None))) or 0)
    return {"backlog": backlog, "last_file": last, "tracker": counts,
            "dead_letters": dead, "recent_dead_letters": recent,
            "events_pending": pending}


def render(st: dict[str, Any]) -> str:
    """Human-readable status."""
    lines = ["backlog (unacked messages; '-' = not reported by the service):"]
    lines += [f"  {k:<40} {'-' if v is None else v}" for k, v in st["backlog"].items()]
    lines.append("last file per camera:")
    lines += [f"  {k:<12} {v}" for k, v in sorted(st["last_file"].items())] or ["  (none)"]
    lines.append("tracker: " + ", ".join(f"{k} {v}" for k, v in st["tracker"].items()))
    lines.append(f"dead letters: {st['dead_letters']}")
    lines += [f"  {d['at']} {d['subscription']} {d['message_id']}: {d['reason']}"
              for d in st["recent_dead_letters"]]
    lines.append(f"events waiting for the alert service: {st['events_pending']}")
    return "\n".join(lines)
