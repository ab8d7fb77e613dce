"""Webhook subscriptions, the outbox of deliveries, and the log of attempts: the same SQL on both backends.

An outbox row is written in the same transaction as the score change it reports, so a committed change
always has its deliveries, and a rolled-back one has none. Deliveries are claimed with a lease
(``next_attempt_at`` moved ahead), so several delivering processes never send one row at the same time,
and a process that dies mid-delivery leaves the row to be retried when the lease runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple


class Subscription(NamedTuple):
    id: str
    url: str
    events: frozenset[str]
    min_delta_cents: int | None
    secret: str


class Delivery(NamedTuple):
    delivery_id: str
    webhook_id: str
    event: str
    payload: str
    attempts: int
    url: str
    secret: str


class OutboxRows:
    db: Any
    _mark: str
    _skip_locked: str  # "" for SQLite (one writer), " FOR UPDATE SKIP LOCKED" for PostgreSQL

    def add_webhook(self, sub: Subscription, now_us: int) -> None:
        m = self._mark
        self.db.execute(
            "INSERT INTO webhooks(id, url, events, min_delta_cents, secret, created_at) "
            f"VALUES ({m},{m},{m},{m},{m},{m})",
            (sub.id, sub.url, ",".join(sorted(sub.events)), sub.min_delta_cents, sub.secret, now_us),
        )

    def remove_webhook(self, webhook_id: str, now_us: int) -> bool:
        m = self._mark
        cursor = self.db.execute(
            f"UPDATE webhooks SET removed_at={m} WHERE id={m} AND removed_at IS NULL", (now_us, webhook_id)
        )
        return bool(cursor.rowcount)

    def webhooks(self) -> list[Subscription]:
        """The active subscriptions."""
        rows = self.db.execute(
            "SELECT id, url, events, min_delta_cents, secret FROM webhooks WHERE removed_at IS NULL "
            "ORDER BY created_at, id"
        ).fetchall()
        return [Subscription(r[0], r[1], frozenset(r[2].split(",")), r[3], r[4]) for r in rows]

    def lead_refs(self, seqs: Sequence[int]) -> dict[int, tuple[str, str | None, str | None]]:
        """(id, email, account id) per lead seq."""
        m = self._mark
        out: dict[int, tuple[str, str | None, str | None]] = {}
        for start in range(0, len(seqs), 900):
            chunk = list(seqs[start : start + 900])
            rows = self.db.execute(
                f"SELECT seq, id, email, account_id FROM leads WHERE seq IN ({','.join([m] * len(chunk))})", chunk
            ).fetchall()
            out.update({int(r[0]): (r[1], r[2], r[3]) for r in rows})
        return out

    def add_deliveries(self, rows: Sequence[tuple[str, str, str, str, int]]) -> None:
        """(delivery id, webhook id, event, payload JSON, created µs), each due at once."""
        m = self._mark
        cursor = self.db.cursor()  # both drivers' cursors have executemany
        try:
            cursor.executemany(
                f"INSERT INTO outbox(delivery_id, webhook_id, event, payload, created_at, next_attempt_at) "
                f"VALUES ({m},{m},{m},{m},{m},{m})",
                [(*row, row[4]) for row in rows],
            )
        finally:
            cursor.close()

    def claim_deliveries(self, now_us: int, lease_us: int, limit: int) -> list[Delivery]:
        """Due pending deliveries, leased to the caller until ``now + lease``."""
        m = self._mark
        rows = self.db.execute(
            f"UPDATE outbox SET next_attempt_at={m} WHERE id IN (SELECT id FROM outbox WHERE status='pending' "
            f"AND next_attempt_at <= {m} ORDER BY next_attempt_at, id LIMIT {m}{self._skip_locked}) "
            "RETURNING id, delivery_id, webhook_id, event, payload, attempts",
            (now_us + lease_us, now_us, limit),
        ).fetchall()
        rows.sort()  # RETURNING follows the update, not the ORDER BY: send in the order they were written
        # Removed subscriptions included: a delivery made before the removal is still owed.
        subs = {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT id, url, secret FROM webhooks").fetchall()}
        return [Delivery(r[1], r[2], r[3], r[4], int(r[5]), *subs[r[2]]) for r in rows]

    def finish_delivery(
        self,
        delivery_id: str,
        attempt: int,
        now_us: int,
        duration_us: int,
        status_code: int | None,
        error: str | None,
        next_attempt_us: int | None,
    ) -> None:
        """Logs an attempt; the row is delivered (no error), retried at ``next_attempt_us``, or dead (None)."""
        m = self._mark
        self.db.execute(
            f"INSERT INTO delivery_attempts(delivery_id, attempt, at, status_code, error, duration_us) "
            f"VALUES ({m},{m},{m},{m},{m},{m})",
            (delivery_id, attempt, now_us, status_code, error, duration_us),
        )
        if error is None:
            status, due = "delivered", now_us
        elif next_attempt_us is not None:
            status, due = "pending", next_attempt_us
        else:
            status, due = "dead", now_us
        self.db.execute(
            f"UPDATE outbox SET status={m}, attempts={m}, next_attempt_at={m}, last_error={m}, "
            f"delivered_at=CASE WHEN {m} = 'delivered' THEN {m} ELSE delivered_at END WHERE delivery_id={m}",
            (status, attempt, due, error, status, now_us, delivery_id),
        )

    def deliveries(self, webhook_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The newest deliveries of a subscription, each with its attempts."""
        m = self._mark
        cursor = self.db.execute(
            f"SELECT delivery_id, event, status, attempts, created_at, delivered_at, last_error FROM outbox "
            f"WHERE webhook_id={m} ORDER BY id DESC LIMIT {m}",
            (webhook_id, limit),
        )
        names = ["delivery_id", "event", "status", "attempts", "created_at", "delivered_at", "last_error"]
        out = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        for item in out:
            item["attempt_log"] = [
                dict(zip(["attempt", "at", "status_code", "error", "duration_us"], r, strict=True))
                for r in self.db.execute(
                    f"SELECT attempt, at, status_code, error, duration_us FROM delivery_attempts "
                    f"WHERE delivery_id={m} ORDER BY attempt",
                    (item["delivery_id"],),
                ).fetchall()
            ]
        return out

    def outbox_counts(self) -> dict[str, int]:
        """Deliveries by status: pending (the backlog), delivered, dead."""
        rows = self.db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall()
        return {"pending": 0, "delivered": 0, "dead": 0} | {r[0]: int(r[1]) for r in rows}
