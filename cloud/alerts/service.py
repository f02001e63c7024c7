"""The alerting service: the :class:`AlertSink` the pipeline hands its events to.

``handle(event)`` applies the rules in one transaction (idempotent: an event already seen
is ignored) and then sends what became due (``handle_many``: several events, one
transaction); ``tick()`` flushes pass groups past their
grace time, escalates unacknowledged alerts and re-sends alerts a crash left unsent;
``ack(id, by)`` acknowledges. Time comes from an injectable clock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from cloud.alerts import rules
from cloud.alerts.delivery import Outcome
from cloud.alerts.dispatch import Dispatcher, next_level, recipients_for
from cloud.alerts.grouping import due_groups, flush_group, new_alert, resolve_condition
from cloud.alerts.rules import RuleContext, due, touch_condition
from cloud.alerts.severity import Severity
from cloud.alerts.store import AlertStore
from cloud.alerts.tables import AlertRow, ConditionRow, SeenEventRow
from cloud.domain_events import (
    DomainEvent,
    FileArrivedLate,
    FileMissing,
    PipelineError,
    RunComplete,
    SourceBack,
    SourceSilent,
    WheelScored,
)
from schemas.config.alerts import RecipientConfig
from schemas.errors import WheelWatchError

log = logging.getLogger(__name__)
STALE_SENDING = timedelta(minutes=15)


class UnknownAlertError(WheelWatchError):
    """No alert has this id."""


def event_digest(event: DomainEvent) -> str:
    """Content digest of an event: a redelivered event has the same one."""
    body = json.dumps(dataclasses.asdict(event), default=str, sort_keys=True)
    return hashlib.sha256(f"{type(event).__name__}:{body}".encode()).hexdigest()


def _hm(t: datetime | None) -> str:
    return f"{t:%H:%M}Z" if t else "never"


class AlertService:
    """Rules, grouping, de-duplication, delivery, acknowledgement and escalation."""

    def __init__(self, ctx: RuleContext, store: AlertStore, dispatcher: Dispatcher,
                 clock: Callable[[], datetime], tick_every_s: float = 30.0) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.store = store
        self.dispatcher = dispatcher
        self.clock = clock
        self._lock = threading.RLock()
        self._tick_every = timedelta(seconds=tick_every_s)
        self._last_tick: datetime | None = None
        self._ticker_stop: threading.Event | None = None

    # --- AlertSink -------------------------------------------------------------------
    def handle(self, event: DomainEvent) -> None:
        """Apply one event (ignored if already handled), then send what became due."""
        if not self.cfg.enabled:
            return
        with self._lock:
            now = self.clock()
            with self.store.tx() as s:
                self._apply_once(s, event, now)
            self._send_due(now)

    def handle_many(self, events: Sequence[DomainEvent]) -> list[Exception | None]:
        """Apply ``events`` in order in one transaction (each as :meth:`handle`), then
        send what became due. If that transaction fails, each event is applied alone, so
        that a bad event fails only itself. Returns, per event, its error (None: applied)."""
        errors: list[Exception | None] = [None] * len(events)
        if not self.cfg.enabled or not events:
            return errors
        with self._lock:
            now = self.clock()
            try:
                with self.store.tx() as s:
                    for event in events:
                        self._apply_once(s, event, now)
            except Exception as exc:  # which event failed? applying each alone tells
                log.warning("%d events in one transaction failed (%s); applying each alone",
                            len(events), exc)
                errors = [self._apply_alone(event, now) for event in events]
            self._send_due(now)
        return errors

    def _apply_alone(self, event: DomainEvent, now: datetime) -> Exception | None:
        try:
            with self.store.tx() as s:
                self._apply_once(s, event, now)
        except Exception as exc:  # reported to the caller, which retries the event later
            log.error("alert event %s failed: %s", type(event).__name__, exc)
            return exc
        return None

    def _apply_once(self, s: Session, event: DomainEvent, now: datetime) -> None:
        """Apply ``event`` in ``s`` unless it was seen before (a redelivery)."""
        digest = event_digest(event)
        if s.get(SeenEventRow, digest) is not None:
            log.debug("event %s already handled", type(event).__name__)
            return
        self._apply(s, event, now)
        s.add(SeenEventRow(digest=digest, kind=type(event).__name__, seen_at=now))

    def _send_due(self, now: datetime) -> None:
        self._dispatch_pending()
        if self._last_tick is None or now - self._last_tick >= self._tick_every:
            self._tick(now)  # a safety net: the worker should call tick() on its own

    def _apply(self, s: Session, ev: DomainEvent, now: datetime) -> None:
        new_id = self.store.new_alert_id
        if isinstance(ev, WheelScored):
            rules.on_wheel_scored(s, ev, self.ctx, now)
        elif isinstance(ev, FileMissing):
            rules.on_file_missing(s, ev, self.ctx, now)
        elif isinstance(ev, RunComplete):
            flush_group(s, rules.group_key(ev.site, ev.run_id, ev.train_id), self.ctx, new_id, now)
        elif isinstance(ev, FileArrivedLate):
            cond = rules.on_file_arrived_late(s, ev, now)
            if cond is not None:
                self._resolve(s, cond, f"file {ev.wheel_id} ({ev.camera}) arrived "
                              f"{_hm(ev.arrived_at)}", ev.site, now)
        elif isinstance(ev, SourceSilent):
            key = rules.source_cond(ev.site, ev.kind, ev.source)
            title = f"{ev.kind} {ev.source} silent, last seen {_hm(ev.last_seen)}"
            self._raise(s, key, "source", title, ev.site, self.cfg.severity.source_silent, now)
        elif isinstance(ev, SourceBack):
            cond = s.get(ConditionRow, rules.source_cond(ev.site, ev.kind, ev.source))
            if cond is not None and cond.active:
                self._resolve(s, cond, f"{ev.kind} {ev.source} back {_hm(ev.seen_at)}",
                              ev.site, now)
        elif isinstance(ev, PipelineError):
            key = rules.pipeline_cond(ev.site, ev.where)
            file = f" (file {ev.file_id})" if ev.file_id else ""
            title = f"{ev.where} error stops scoring{file}: {ev.reason}"
            self._raise(s, key, "pipeline", title, ev.site, self.cfg.severity.pipeline_error, now)

    def _raise(self, s: Session, key: str, kind: str, title: str, site: str, sev: str,
               now: datetime) -> None:
        cond = touch_condition(s, key, site=site, kind=kind, summary=title, now=now)
        if not due(cond, now, self.ctx.repeat):
            return
        alert = new_alert(s, self.store.new_alert_id, site=site, kind=kind,
                          severity=Severity.parse(sev), title=title, now=now,
                          escalate_after=timedelta(seconds=self.cfg.escalate_after_s))
        cond.active, cond.last_sent_at, cond.last_alert_id = True, now, alert.id

    def _resolve(self, s: Session, cond: ConditionRow, title: str, site: str, now: datetime
                 ) -> None:
        resolve_condition(s, cond, now)
        parent = s.get(AlertRow, cond.last_alert_id) if cond.last_alert_id else None
        new_alert(s, self.store.new_alert_id, site=site, kind="resolution",
                  severity=Severity(parent.severity) if parent else Severity.WATCH,
                  title=title, now=now, parent_id=parent.id if parent else None,
                  run_id=parent.run_id if parent else None,
                  train_id=parent.train_id if parent else None)

    # --- sending ---------------------------------------------------------------------
    def _dispatch_pending(self) -> None:
        with self.store.tx() as s:
            pending = list(s.scalars(select(AlertRow).where(AlertRow.dispatch == "pending")
                                     .order_by(AlertRow.created_at, AlertRow.id)))
        for alert in pending:
            if not self._claim(alert.id, "pending", "sending"):
                continue  # another worker took it
            purpose = "resolution" if alert.kind == "resolution" else "alert"
            self._send(alert, purpose, alert.level)

    def _claim(self, alert_id: str, old: str, new: str) -> bool:
        """Move ``dispatch`` from ``old`` to ``new`` atomically; False if someone else did."""
        with self.store.tx() as s:
            res = s.execute(update(AlertRow).where(
                AlertRow.id == alert_id, AlertRow.dispatch == old).values(dispatch=new))
            return cast(CursorResult[Any], res).rowcount == 1

    def _requeue_stale(self, s: Session, now: datetime) -> None:
        """Alerts left 'sending' by a crashed worker go back to 'pending'."""
        s.execute(update(AlertRow).where(
            AlertRow.dispatch == "sending", AlertRow.kind != "undeliverable",
            AlertRow.created_at < now - STALE_SENDING).values(dispatch="pending"))

    def _send(self, alert: AlertRow, purpose: str, level: int) -> None:
        if purpose == "escalation":
            recipients = recipients_for(self.cfg, level, alert.severity)
        else:
            recipients = self.dispatcher.recipients(alert, purpose)
        outcomes = self.dispatcher.send(alert, purpose, recipients, level)
        failed = [o for o in outcomes if not o.reached]
        if purpose != "escalation":
            self._mark(alert.id, "failed" if failed or not outcomes else "sent")
        if failed:
            self._report_undeliverable(alert, purpose, failed)

    def _mark(self, alert_id: str, dispatch: str) -> None:
        with self.store.tx() as s:
            row = s.get(AlertRow, alert_id)
            assert row is not None
            row.dispatch = dispatch

    def _report_undeliverable(self, alert: AlertRow, purpose: str, failed: list[Outcome]
                              ) -> None:
        """Tell everyone else (and the outbox) that ``alert`` did not reach somebody."""
        unreached = {o.recipient for o in failed}
        errors = " | ".join(e for o in failed for e in o.errors)
        title = f"alert {alert.id} ({purpose}) NOT delivered to {', '.join(sorted(unreached))}"
        with self.store.tx() as s:
            report = new_alert(s, self.store.new_alert_id, site=alert.site, kind="undeliverable",
                               severity=Severity(alert.severity), title=f"{title}: {errors}",
                               now=self.clock(), parent_id=alert.id,
                               run_id=alert.run_id, train_id=alert.train_id)
            report.dispatch = "sending"
        log.error("UNDELIVERABLE: %s: %s", title, errors)
        targets = [r for r in self.cfg.recipients if r.name not in unreached]
        if "outbox" in self.dispatcher.deliverer.channels:
            targets.append(RecipientConfig(name="undeliverable-log", channels=["outbox"]))
        outcomes = self.dispatcher.send(report, "undeliverable", targets, 0)
        self._mark(report.id, "sent" if any(o.reached for o in outcomes) else "failed")

    # --- time-driven -----------------------------------------------------------------
    def tick(self) -> None:
        """Flush pass groups past grace, escalate unacknowledged alerts, send leftovers."""
        if not self.cfg.enabled:
            return
        with self._lock:
            self._tick(self.clock())

    def start_ticker(self, every_s: float) -> None:
        """Call :meth:`tick` every ``every_s`` seconds in a daemon thread (idempotent)."""
        if self._ticker_stop is not None or every_s <= 0:
            return
        stop = self._ticker_stop = threading.Event()

        def loop() -> None:
            while not stop.wait(every_s):
                try:
                    self.tick()
                except Exception:  # long-running loop: log, retry next period
                    log.exception("alerts tick failed")

        threading.Thread(target=loop, name="alerts-ticker", daemon=True).start()

    def stop_ticker(self) -> None:
        """Stop the background ticker (if running)."""
        if self._ticker_stop is not None:
            self._ticker_stop.set()
            self._ticker_stop = None

    def _tick(self, now: datetime) -> None:
        self._last_tick = now
        with self.store.tx() as s:
            self._requeue_stale(s, now)
            grace = timedelta(seconds=self.cfg.grace_s)
            for gk in due_groups(s, now, grace):
                flush_group(s, gk, self.ctx, self.store.new_alert_id, now)
        self._dispatch_pending()
        self._escalate(now)

    def _escalate(self, now: datetime) -> None:
        with self.store.tx() as s:
            due_alerts = list(s.scalars(select(AlertRow).where(
                AlertRow.status == "open", AlertRow.next_escalation_at.is_not(None),
                AlertRow.next_escalation_at <= now)))
        for alert in due_alerts:
            level = next_level(self.cfg, alert.level)
            nxt = now + timedelta(seconds=self.cfg.escalate_after_s) if level else None
            with self.store.tx() as s:  # claim: only one worker escalates a given level
                res = s.execute(update(AlertRow).where(
                    AlertRow.id == alert.id, AlertRow.level == alert.level,
                    AlertRow.status == "open").values(level=level or alert.level,
                                                      next_escalation_at=nxt))
                claimed = cast(CursorResult[Any], res).rowcount == 1
            if claimed and level is not None:
                log.warning("alert %s not acknowledged: escalating to level %d", alert.id, level)
                self._send(alert, "escalation", level)

    # --- acknowledgement ---------------------------------------------------------------
    def ack(self, alert_id: str, by: str) -> AlertRow:
        """Acknowledge an alert (stops its escalation); acknowledging twice keeps the first."""
        with self._lock, self.store.tx() as s:
            alert = s.get(AlertRow, alert_id.strip().upper())
            if alert is None:
                raise UnknownAlertError(f"no alert with id {alert_id!r}")
            if alert.acked_at is None:
                alert.acked_at, alert.acked_by = self.clock(), by
                alert.next_escalation_at = None
                if alert.status == "open":
                    alert.status = "acked"
            return alert
