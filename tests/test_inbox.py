"""The webhook inbox: accepted requests are imported once, in batches, and never lost."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from compliance.events import RecordError
from compliance.inbox import accept, drain_inbox, parse_records, waiting
from store.engine import session_factory, upgrade_database
from store.events import Event, EventDay, InboxRequest

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def postmark(number: int, kind: str = "Delivery") -> dict[str, Any]:
    return {"RecordType": kind, "MessageID": f"m-{number}", "Recipient": f"u{number}@gmail.com",
            "DeliveredAt": "2026-11-24T10:00:00Z", "BouncedAt": "2026-11-24T10:00:00Z",
            "Type": "HardBounce", "Tag": "november", "ServerID": 1,
            "MessageStream": "outbound"}  # fmt: skip


def accepted(engine: Engine, requests: list[list[dict[str, Any]]]) -> None:
    """Accept each request as the hook does: parsed first, then appended."""
    with session_factory(engine)() as session:
        for records in requests:
            accept(session, "postmark", records, len(parse_records("postmark", records)), NOW)
            session.commit()


def delivered_on_the_day(engine: Engine) -> tuple[int, int]:
    """Events stored, and the day's aggregate count of deliveries."""
    with session_factory(engine)() as session:
        events = session.scalar(select(func.count()).select_from(Event)) or 0
        counted = session.scalar(
            select(func.sum(EventDay.delivered)).where(EventDay.day == date(2026, 11, 24))
        )
        return events, counted or 0


def test_a_request_with_a_bad_record_is_refused_naming_it() -> None:
    with pytest.raises(RecordError, match=r"^record 2: expected a JSON object"):
        parse_records("postmark", [postmark(1), "not an object"])


def test_requests_wait_until_drained_and_retries_are_counted_once(engine: Engine) -> None:
    upgrade_database(engine)
    # 300 requests of one event; every tenth is an ESP's retry of the one before.
    requests = [[postmark(n - 1 if n % 10 == 0 else n)] for n in range(1, 301)]
    accepted(engine, requests)
    with session_factory(engine)() as session:
        assert waiting(session) == (300, 300)
        report = drain_inbox(session, NOW, batch=64)
        assert (report.requests, report.inserted, report.duplicates) == (300, 270, 30)
        assert waiting(session) == (0, 0)
    assert delivered_on_the_day(engine) == (270, 270)
    with session_factory(engine)() as session:
        assert str(drain_inbox(session, NOW)) == (
            "0 webhook requests: 0 events imported, 0 duplicates"
        )


def test_a_request_that_no_longer_parses_is_kept_with_its_reason(engine: Engine) -> None:
    """Validated when accepted; a later parser refusing it must neither lose it nor stall
    the requests behind it."""
    upgrade_database(engine)
    accepted(engine, [[postmark(1)]])
    with session_factory(engine)() as session:
        accept(session, "postmark", [{"RecordType": "Delivery"}], 1, NOW)  # no MessageID
        session.commit()
    accepted(engine, [[postmark(2)]])
    with session_factory(engine)() as session:
        report = drain_inbox(session, NOW)
        assert (report.requests, report.inserted, report.kept_with_error) == (2, 2, 1)
        assert "could not be imported (kept in the inbox)" in str(report)
        (kept,) = session.scalars(select(InboxRequest)).all()
        assert kept.error is not None and kept.error.startswith("RecordError: record 1:")
        assert waiting(session) == (0, 0)
        # The next drain does not try it again.
        assert drain_inbox(session, NOW).kept_with_error == 0


def test_two_drains_at_once_import_each_request_once(engine: Engine) -> None:
    """Two workers draining together (PostgreSQL: SKIP LOCKED) store and count each event
    once; the aggregates are exact."""
    if engine.dialect.name != "postgresql":
        pytest.skip("only one scheduler may run on a SQLite database, so one drain at a time")
    upgrade_database(engine)
    accepted(engine, [[postmark(n), postmark(n + 100_000)] for n in range(1000)])
    reports = []

    def drain() -> None:
        with session_factory(engine)() as session:
            reports.append(drain_inbox(session, NOW, batch=25))

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(report.requests for report in reports) == 1000
    assert sum(report.inserted for report in reports) == 2000
    assert all(report.requests for report in reports), "both drains should have taken a share"
    assert delivered_on_the_day(engine) == (2000, 2000)
