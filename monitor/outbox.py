"""The notification outbox: queued with the alert, delivered until sent.

A notification is written in the same transaction as the alert transition
it reports, so nothing is lost if the process dies. Delivery claims a row
with a conditional UPDATE (``pending`` -> ``sending``); a worker that finds
the row already claimed moves on ("another worker got there first" is a
normal outcome). A transient failure puts the row back with a later
``next_attempt_at`` (exponential backoff, capped); a permanent one marks it
``failed``. A row left ``sending`` longer than the claim lease (the process
died mid-send) is claimed again.

Delivery is therefore *at least once*: if the process dies after the SMTP
server or webhook accepted a message but before the row is marked sent,
that message is sent again. Both carry a stable identity so the receiver
can tell: e-mail a ``Message-ID`` made from the row id, webhooks an
``Idempotency-Key`` header and ``notification_id`` field.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from checks.errors import Unavailable
from store.alerting import Notification

logger = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)
FIRST_BACKOFF = timedelta(seconds=30)


class TransportError(Unavailable):
    """A notification could not be delivered; ``permanent`` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Message:
    """A notification as a transport sees it."""

    id: int
    channel: str
    event: str
    payload: Mapping[str, Any]


class Transport(Protocol):
    """Delivers messages to one channel; raises TransportError when it cannot."""

    def notify(self, message: Message) -> None: ...


def enqueue(
    session: Session,
    alert_id: int | None,
    event: str,
    payload: Mapping[str, Any],
    channels: Sequence[str],
    now: datetime,
) -> list[Notification]:
    """Queue one notification per channel (none configured: the log and dashboard only)."""
    rows = [
        Notification(
            alert_id=alert_id,
            channel=channel,
            event=event,
            payload=dict(payload),
            state="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        for channel in channels
    ]
    session.add_all(rows)
    session.flush()
    return rows


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: 30 s, 1 min, 2 min, … up to an hour."""
    doubling: int = 2 ** max(attempts - 1, 0)
    return min(FIRST_BACKOFF * doubling, MAX_BACKOFF)


def _deliverable(now: datetime) -> Any:
    return or_(
        and_(Notification.state == "pending", Notification.next_attempt_at <= now),
        and_(Notification.state == "sending", Notification.claimed_at < now - CLAIM_LEASE),
    )


def due(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Ids of notifications to deliver now, oldest first."""
    return list(
        session.scalars(
            select(Notification.id)
            .where(_deliverable(now))
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        )
    )


def claim(session: Session, notification_id: int, now: datetime) -> Notification | None:
    """Take ``notification_id`` for delivery; None if another worker has it or it is done."""
    claimed = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, _deliverable(now))
        .values(state="sending", claimed_at=now, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(Notification, notification_id, populate_existing=True)


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed"


def deliver_due(
    session: Session, now: datetime, transports: Mapping[str, Transport]
) -> DeliveryReport:
    """Deliver what is due, committing after each step so a crash loses nothing."""
    report = DeliveryReport()
    ids = due(session, now)
    session.commit()
    for notification_id in ids:
        row = claim(session, notification_id, now)
        session.commit()
        if row is None:
            continue
        transport = transports.get(row.channel)
        try:
            if transport is None:
                raise TransportError(f"channel {row.channel!r} is not configured", permanent=True)
            transport.notify(Message(row.id, row.channel, row.event, row.payload))
        except TransportError as error:
            row.last_error = str(error)
            if error.permanent:
                row.state = "failed"
                report.failed += 1
                logger.error("notification %s to %s failed: %s", row.id, row.channel, error)
            else:
                row.state = "pending"
                row.next_attempt_at = now + backoff(row.attempts)
                report.retrying += 1
                logger.warning(
                    "notification %s to %s will be retried: %s", row.id, row.channel, error
                )
        else:
            row.state, row.sent_at, row.last_error = "sent", now, None
            report.sent += 1
        session.commit()
    return report
