"""Embedded transport: a durable, multi-process message queue in one SQLite file.

It mirrors the Pub/Sub semantics the edge and cloud rely on, so that the embedded
default and Google Cloud Pub/Sub are interchangeable behind the transport ports:

- topics and subscriptions; :meth:`LocalQueue.publish` fans a message out to every
  subscription the topic has *at publish time* (a topic without subscriptions drops it,
  as Pub/Sub does);
- at-least-once delivery: :meth:`LocalQueue.pull` leases messages until the ack
  deadline; unacked messages are redelivered after it, :meth:`LocalQueue.nack` makes
  them deliverable at once, :meth:`LocalQueue.modify_ack_deadline` extends a lease;
- ``delivery_attempt`` counts deliveries; with a dead-letter topic a message whose
  ``max_delivery_attempts`` are used up is moved there instead of redelivered;
- ordering keys: a message with key ``K`` is not handed out while an earlier message
  with key ``K`` on the same subscription is leased and unacked (in one pull several
  messages of one key may come back, in publish order).

Concurrency: WAL journal, every write in ``BEGIN IMMEDIATE`` (one writer at a time,
readers never blocked), ``synchronous=FULL`` so that a returned message id means the
message is on disk. Several processes (edge publisher, any number of cloud workers) may
open the same file. SQLite errors become :class:`TransportError` (``retryable`` for a
locked/busy database).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas.errors import TransportError
from schemas.localqueue_db import QueueFile, make_ack_id, parse_ack_id


@dataclass(frozen=True)
class ReceivedMessage:
    """One delivery of a message to a subscription (ack it with ``ack_id``)."""

    ack_id: str
    message_id: str
    data: bytes
    attributes: dict[str, str]
    publish_time: datetime
    delivery_attempt: int
    ordering_key: str | None = None


@dataclass(frozen=True)
class SubscriptionInfo:
    """Settings of one subscription."""

    name: str
    topic: str
    ack_deadline_s: float
    max_delivery_attempts: int
    dead_letter_topic: str | None


#: A message to move to the dead-letter topic: (seq, data, attributes JSON, ordering key).
_DeadRow = tuple[int, bytes, str, str | None]


class LocalQueue(QueueFile):
    """A Pub/Sub-like durable queue stored in the SQLite file ``path``."""

    # -- admin ----------------------------------------------------------------------
    def create_topic(self, name: str) -> None:
        """Create ``name`` if it does not exist (idempotent)."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO topics (name, created_at) VALUES (?, ?)",
                (name, time.time()),
            )

    def topic_exists(self, name: str) -> bool:
        """Whether the topic exists."""
        return bool(self._read("SELECT 1 FROM topics WHERE name = ?", (name,)))

    def create_subscription(
        self,
        name: str,
        topic: str,
        *,
        ack_deadline_s: float = 60,
        max_delivery_attempts: int = 5,
        dead_letter_topic: str | None = None,
    ) -> None:
        """Create a subscription on ``topic`` (idempotent; settings are updated)."""
        if ack_deadline_s <= 0 or max_delivery_attempts < 1:
            raise TransportError(
                f"subscription {name}: ack_deadline_s must be > 0 and "
                "max_delivery_attempts >= 1", retryable=False,
            )
        with self._write() as db:
            for t in (topic, dead_letter_topic):
                if t is not None and db.execute(
                    "SELECT 1 FROM topics WHERE name = ?", (t,)
                ).fetchone() is None:
                    raise TransportError(f"topic {t!r} not found", retryable=False)
            row = db.execute("SELECT topic FROM subscriptions WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] != topic:
                raise TransportError(
                    f"subscription {name!r} already exists on topic {row[0]!r}", retryable=False
                )
            db.execute(
                "INSERT INTO subscriptions VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE"
                " SET ack_deadline_s = excluded.ack_deadline_s,"
                " max_delivery_attempts = excluded.max_delivery_attempts,"
                " dead_letter_topic = excluded.dead_letter_topic",
                (name, topic, ack_deadline_s, max_delivery_attempts, dead_letter_topic,
                 time.time()),
            )

    def subscription(self, name: str) -> SubscriptionInfo:
        """Settings of subscription ``name`` (TransportError if it does not exist)."""
        rows = self._read(
            "SELECT name, topic, ack_deadline_s, max_delivery_attempts, dead_letter_topic"
            " FROM subscriptions WHERE name = ?", (name,),
        )
        if not rows:
            raise TransportError(f"subscription {name!r} not found", retryable=False)
        n, t, d, m, dl = rows[0]
        return SubscriptionInfo(str(n), str(t), float(d), int(m), None if dl is None else str(dl))

    def list_subscriptions(self, topic: str) -> list[str]:
        """Names of the subscriptions attached to ``topic``."""
        return [str(r[0]) for r in self._read(
            "SELECT name FROM subscriptions WHERE topic = ? ORDER BY name", (topic,)
        )]

    # -- publish --------------------------------------------------------------------
    def publish(
        self,
        topic: str,
        data: bytes,
        attributes: dict[str, str] | None = None,
        ordering_key: str | None = None,
    ) -> str:
        """Store one message durably and fan it out; returns its message id."""
        attrs = dict(attributes or {})
        return self.publish_batch(topic, [(data, attrs)], ordering_key)[0]

    def publish_batch(
        self,
        topic: str,
        messages: Sequence[tuple[bytes, dict[str, str]]],
        ordering_key: str | None = None,
    ) -> list[str]:
        """Store several messages in one transaction (all or none), in order; their ids."""
        for _, attrs in messages:
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in attrs.items()):
                raise TransportError("attributes must map str to str", retryable=False)
        with self._write() as db:
            return [str(self._insert(db, topic, bytes(d), dict(a), ordering_key))
                    for d, a in messages]

    def _insert(
        self, db: sqlite3.Connection, topic: str, data: bytes, attrs: dict[str, str],
        ordering_key: str | None,
    ) -> int:
        if db.execute("SELECT 1 FROM topics WHERE name = ?", (topic,)).fetchone() is None:
            raise TransportError(f"topic {topic!r} not found", retryable=False)
        cur = db.execute(
            "INSERT INTO messages (topic, data, attributes, ordering_key, publish_time)"
            " VALUES (?, ?, ?, ?, ?)",
            (topic, data, json.dumps(attrs, sort_keys=True), ordering_key, time.time()),
        )
        seq = int(cur.lastrowid or 0)
        db.execute(
            "INSERT INTO deliveries (subscription, seq, ordering_key)"
            " SELECT name, ?, ? FROM subscriptions WHERE topic = ?",
            (seq, ordering_key, topic),
        )
        self._drop_if_done(db, [seq])
        return seq

    @staticmethod
    def _drop_if_done(db: sqlite3.Connection, seqs: Sequence[int]) -> None:
        db.executemany(
            "DELETE FROM messages WHERE seq = ? AND NOT EXISTS"
            " (SELECT 1 FROM deliveries WHERE deliveries.seq = messages.seq)",
            [(s,) for s in seqs],
        )

    # -- subscribe ------------------------------------------------------------------
    def pull(self, subscription: str, max_messages: int = 10) -> list[ReceivedMessage]:
        """Lease up to ``max_messages`` deliverable messages (oldest first).

        The ready deliveries are chosen from their (seq, attempt, key) alone; only the
        chosen messages' data is read (a backlog behind a busy key costs no payload I/O).
        """
        sub = self.subscription(subscription)
        now = time.time()
        with self._write() as db:
            busy = dict(db.execute(
                "SELECT ordering_key, MIN(seq) FROM deliveries WHERE subscription = ?"
                " AND ordering_key IS NOT NULL AND lease_until > ? GROUP BY ordering_key",
                (subscription, now),
            ).fetchall())
            cur = db.execute(
                "SELECT seq, attempt, ordering_key FROM deliveries"
                " WHERE subscription = ? AND lease_until <= ? ORDER BY seq",
                (subscription, now),
            )
            take, dead_seqs = _choose(cur, busy, sub, max_messages)
            cur.close()
            out = [_received(row, attempt) for row, attempt in _messages(db, take)]
            dead = [(int(seq), data, attrs, key)
                    for (seq, data, attrs, _t, key), _a in _messages(db, dead_seqs)]
            db.executemany(
                "UPDATE deliveries SET attempt = attempt + 1, lease_until = ?"
                " WHERE subscription = ? AND seq = ?",
                [(now + sub.ack_deadline_s, subscription, int(m.message_id)) for m in out],
            )
            self._dead_letter(db, subscription, sub.dead_letter_topic, dead)
        return out

    def _dead_letter(
        self, db: sqlite3.Connection, subscription: str, topic: str | None,
        dead: list[_DeadRow],
    ) -> None:
        if not dead or topic is None:
            return
        for seq, data, attrs, key in dead:
            moved = json.loads(attrs)
            moved["dead_letter_source_subscription"] = subscription
            moved["dead_letter_source_message_id"] = str(seq)
            self._insert(db, topic, bytes(data), moved, key)
            db.execute("DELETE FROM deliveries WHERE subscription = ? AND seq = ?",
                       (subscription, seq))
        self._drop_if_done(db, [d[0] for d in dead])

    def ack(self, subscription: str, ack_ids: Sequence[str]) -> None:
        """Acknowledge: the messages are never delivered to this subscription again."""
        seqs = [parse_ack_id(a)[0] for a in ack_ids]
        with self._write() as db:
            db.executemany("DELETE FROM deliveries WHERE subscription = ? AND seq = ?",
                           [(subscription, s) for s in seqs])
            self._drop_if_done(db, seqs)

    def nack(self, subscription: str, ack_ids: Sequence[str]) -> None:
        """Give the messages back for immediate redelivery."""
        self.modify_ack_deadline(subscription, ack_ids, 0)

    def modify_ack_deadline(
        self, subscription: str, ack_ids: Sequence[str], seconds: float
    ) -> None:
        """Set the lease of the current deliveries to ``seconds`` from now (0 = nack).

        Ack ids of an earlier delivery of the same message are ignored.
        """
        until = time.time() + seconds if seconds > 0 else 0.0
        parsed = [parse_ack_id(a) for a in ack_ids]
        with self._write() as db:
            db.executemany(
                "UPDATE deliveries SET lease_until = ?"
                " WHERE subscription = ? AND seq = ? AND attempt = ?",
                [(until, subscription, seq, attempt) for seq, attempt in parsed],
            )

    def backlog(self, subscription: str) -> int:
        """Number of unacknowledged messages on the subscription."""
        self.subscription(subscription)
        rows = self._read("SELECT COUNT(*) FROM deliveries WHERE subscription = ?",
                          (subscription,))
        return int(rows[0][0])


def _choose(
    rows: Iterable[tuple[Any, ...]], busy: dict[str, int], sub: SubscriptionInfo, limit: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """From ready (seq, attempt, key) rows: up to ``limit`` (seq, attempt) to deliver, and
    those to dead-letter. A key held by an earlier leased message (``busy``) waits."""
    out: list[tuple[int, int]] = []
    dead: list[tuple[int, int]] = []
    for seq, attempt, key in rows:
        if len(out) >= limit:
            break
        if key is not None and key in busy and busy[key] < seq:
            continue
        if sub.dead_letter_topic and attempt >= sub.max_delivery_attempts:
            dead.append((seq, attempt))
            continue
        out.append((seq, attempt))
    return out, dead


def _messages(db: sqlite3.Connection, chosen: list[tuple[int, int]]
              ) -> list[tuple[tuple[Any, ...], int]]:
    """((seq, data, attributes, publish_time, key), attempt) of the chosen messages."""
    found = []
    for seq, attempt in chosen:
        row = db.execute("SELECT seq, data, attributes, publish_time, ordering_key"
                         " FROM messages WHERE seq = ?", (seq,)).fetchone()
        if row is not None:  # a delivery always has its message (same transaction)
            found.append((tuple(row), attempt))
    return found


def _received(row: tuple[Any, ...], attempt: int) -> ReceivedMessage:
    seq, data, attrs, ptime, key = row
    return ReceivedMessage(
        ack_id=make_ack_id(seq, attempt + 1), message_id=str(seq), data=bytes(data),
        attributes=json.loads(attrs), publish_time=datetime.fromtimestamp(ptime, UTC),
        delivery_attempt=attempt + 1, ordering_key=key,
    )
