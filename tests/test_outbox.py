"""The outbox: claims, backoff, and recovery of a delivery cut off mid-send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from monitor.outbox import (
    CLAIM_LEASE,
    Message,
    TransportError,
    backoff,
    claim,
    deliver_due,
    enqueue,
)
from store.alerting import Notification
from store.engine import session_factory, upgrade_database

T0 = datetime(2026, 11, 3, 8, tzinfo=UTC)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    upgrade_database(engine)
    return session_factory(engine)


class Recorder:
    def __init__(self, *errors: TransportError) -> None:
        self.sent: list[Message] = []
        self.errors = list(errors)

    def notify(self, message: Message) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(message)


def queue_one(sessions: sessionmaker[Session], channel: str = "test") -> int:
    with sessions.begin() as session:
        (row,) = enqueue(session, None, "test", {"event": "test"}, [channel], T0)
        return row.id


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(20) == timedelta(hours=1)


def test_only_one_claim_of_a_notification_wins(sessions: sessionmaker[Session]) -> None:
    notification_id = queue_one(sessions)
    with sessions() as first, sessions() as second:
        assert claim(first, notification_id, T0) is not None
        first.commit()
        assert claim(second, notification_id, T0) is None


def test_a_delivery_cut_off_mid_send_is_claimed_again_after_the_lease(
    sessions: sessionmaker[Session],
) -> None:
    notification_id = queue_one(sessions)
    with sessions() as session:
        claim(session, notification_id, T0)  # ... and the process dies here
        session.commit()
    recorder = Recorder()
    with sessions() as session:
        assert str(deliver_due(session, T0 + timedelta(minutes=1), {"test": recorder})) == (
            "0 sent, 0 to retry, 0 failed"
        )
        deliver_due(session, T0 + CLAIM_LEASE + timedelta(seconds=1), {"test": recorder})
    assert [m.id for m in recorder.sent] == [notification_id]
    with sessions() as session:
        row = session.get(Notification, notification_id)
        assert row is not None and (row.state, row.attempts) == ("sent", 2)


def test_a_transient_failure_waits_its_backoff_then_sends(sessions: sessionmaker[Session]) -> None:
    queue_one(sessions)
    recorder = Recorder(TransportError("421 try later"))
    with sessions() as session:
        assert str(deliver_due(session, T0, {"test": recorder})) == "0 sent, 1 to retry, 0 failed"
        assert str(deliver_due(session, T0 + timedelta(seconds=29), {"test": recorder})) == (
            "0 sent, 0 to retry, 0 failed"
        )
        assert str(deliver_due(session, T0 + timedelta(seconds=30), {"test": recorder})) == (
            "1 sent, 0 to retry, 0 failed"
        )
    assert len(recorder.sent) == 1


def test_a_channel_no_longer_configured_fails_the_notification(
    sessions: sessionmaker[Session],
) -> None:
    notification_id = queue_one(sessions, channel="webhook:7")
    with sessions() as session:
        assert str(deliver_due(session, T0, {})) == "0 sent, 0 to retry, 1 failed"
        row = session.get(Notification, notification_id)
        assert row is not None and "not configured" in (row.last_error or "")
