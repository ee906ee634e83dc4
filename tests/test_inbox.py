"""The webhook inbox: accepted requests are imported once, in batches, and never lost."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from compliance.events.normalised import RecordError
from monitor.inbox import (
    InboxUnavailable,
    InboxWriter,
    drain_inbox,
    kept_requests,
    parse_records,
    waiting,
)
from store.engine import make_engine, session_factory, upgrade_database
from store.events import Event, EventDay, InboxRequest
from tests.conftest import postwarden
from tests.waiting import eventually

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def postmark(number: int, kind: str = "Delivery") -> dict[str, Any]:
    return {"RecordType": kind, "MessageID": f"m-{number}", "Recipient": f"u{number}@gmail.com",
            "DeliveredAt": "2026-11-24T10:00:00Z", "BouncedAt": "2026-11-24T10:00:00Z",
            "Type": "HardBounce", "Tag": "november", "ServerID": 1,
            "MessageStream": "outbound"}  # fmt: skip


def accepted(engine: Engine, requests: list[list[dict[str, Any]]]) -> None:
    """Accept each request as the hook does: parsed first, then appended."""
    writer = InboxWriter(engine)
    try:
        for records in requests:
            writer.append("postmark", records, len(parse_records("postmark", records)), NOW)
    finally:
        writer.close()


def accepted_unparsed(engine: Engine, records: list[dict[str, Any]]) -> None:
    """Append a request that the parser of today refuses (one accepted by an older one)."""
    writer = InboxWriter(engine)
    try:
        writer.append("postmark", records, len(records), NOW)
    finally:
        writer.close()


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
    accepted_unparsed(engine, [{"RecordType": "Delivery"}])  # no MessageID
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


def inbox_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT count(*) FROM event_inbox").scalar_one())


@contextmanager
def inbox_locked(engine: Engine) -> Iterator[None]:
    """Another transaction holds the inbox against writers until the block ends."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("LOCK TABLE event_inbox IN EXCLUSIVE MODE")
        yield
        connection.rollback()


@pytest.fixture
def writer(engine: Engine) -> Iterator[InboxWriter]:
    """A writer on its own engine, which waits for a lock as long as a test holds it
    (SQLite gives up after busy_timeout, 5 s, which a loaded machine can reach)."""
    patient = make_engine(engine.url.render_as_string(hide_password=False))
    if patient.dialect.name == "sqlite":
        event.listen(
            patient,
            "connect",
            lambda connection, _record: connection.execute("PRAGMA busy_timeout=120000"),
        )
    writer = InboxWriter(patient)
    yield writer
    writer.close()
    patient.dispose()


def test_an_appended_request_is_committed_when_append_returns(
    engine: Engine, writer: InboxWriter
) -> None:
    upgrade_database(engine)
    seen_after_return = []

    def client(number: int) -> None:
        for n in range(number * 100, number * 100 + 25):
            writer.append("postmark", [postmark(n)], 1, NOW)
            # Another connection sees it: the request is on disk once answered.
            with engine.connect() as connection:
                seen_after_return.append(
                    connection.execute(
                        text("SELECT count(*) FROM event_inbox WHERE records LIKE :id"),
                        {"id": f'%"m-{n}"%'},
                    ).scalar_one()
                )

    threads = [threading.Thread(target=client, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert seen_after_return == [1] * 200
    assert (writer.requests, inbox_rows(engine)) == (200, 200)
    with session_factory(engine)() as session:
        assert drain_inbox(session, NOW).inserted == 200


def test_requests_arriving_during_a_commit_share_the_next_one(
    engine: Engine, writer: InboxWriter
) -> None:
    """Group commit: while one commit waits on the database, the requests that come in
    queue up, and are committed together, in one statement, once it is done."""
    upgrade_database(engine)
    answered: list[bool] = []
    released = threading.Event()

    def client(number: int) -> None:
        writer.append("postmark", [postmark(number)], 1, NOW)
        answered.append(released.is_set())

    with inbox_locked(engine):
        first = threading.Thread(target=client, args=(0,))
        first.start()
        eventually(lambda: writer.running() and writer.queued() == 0, timeout=10, interval=0.01)
        time.sleep(0.2)  # the writer has taken its group of one and waits on the lock
        others = [threading.Thread(target=client, args=(n,)) for n in range(1, 21)]
        for thread in others:
            thread.start()
        eventually(lambda: writer.queued() == 20, timeout=10, interval=0.01)
        assert answered == []  # nobody is answered before their request is committed
        released.set()
    for thread in [first, *others]:
        thread.join(30)
    assert answered == [True] * 21
    assert (writer.requests, writer.commits) == (21, 2)
    assert inbox_rows(engine) == 21


def test_a_group_the_database_refuses_is_refused_to_every_request_in_it(
    engine: Engine, writer: InboxWriter
) -> None:
    # No migrations: the inbox table does not exist, a real refusal by the database.
    failures: list[str] = []

    def client(number: int) -> None:
        try:
            writer.append("postmark", [postmark(number)], 1, NOW)
        except InboxUnavailable as error:
            failures.append(str(error))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(failures) == 5 and all("event_inbox" in reason for reason in failures)
    assert writer.requests == 0
    # Once the database can take it, the same writer goes on.
    upgrade_database(engine)
    writer.append("postmark", [postmark(1)], 1, NOW)
    assert inbox_rows(engine) == 1


def test_the_writer_thread_ends_when_idle_and_starts_again_on_the_next_request(
    engine: Engine,
) -> None:
    upgrade_database(engine)
    writer = InboxWriter(engine, idle_seconds=0.05)
    writer.append("postmark", [postmark(1)], 1, NOW)
    eventually(lambda: not writer.running(), timeout=10, interval=0.01)
    writer.append("postmark", [postmark(2)], 1, NOW)
    assert (writer.requests, inbox_rows(engine)) == (2, 2)
    writer.close()
    assert not writer.running()


def test_close_commits_what_is_queued_then_ends_the_writer(
    engine: Engine, writer: InboxWriter
) -> None:
    upgrade_database(engine)

    def client(number: int) -> threading.Thread:
        thread = threading.Thread(
            target=writer.append, args=("postmark", [postmark(number)], 1, NOW)
        )
        thread.start()
        return thread

    with inbox_locked(engine):
        clients = [client(0)]
        eventually(lambda: writer.running() and writer.queued() == 0, timeout=10, interval=0.01)
        time.sleep(0.2)  # the writer has taken its group of one and waits on the lock
        clients += [client(n) for n in range(1, 10)]
        eventually(lambda: writer.queued() == 9, timeout=10, interval=0.01)
        closing = threading.Thread(target=writer.close)
        closing.start()
    closing.join(30)
    for thread in clients:
        thread.join(30)
    assert not writer.running()
    assert (writer.requests, inbox_rows(engine)) == (10, 10)


def test_requests_kept_with_an_error_can_be_listed_read_and_retried(
    engine: Engine, database_url: str
) -> None:
    upgrade_database(engine)
    accepted(engine, [[postmark(1)]])
    accepted_unparsed(engine, [{"RecordType": "Delivery"}])  # no MessageID
    with session_factory(engine)() as session:
        drain_inbox(session, NOW)
        (kept,) = kept_requests(session)
    listed = postwarden("inbox", "list", "--db", database_url, "--format", "json")
    assert listed.code == 1, listed.stderr  # a request kept is a warning
    report = json.loads(listed.stdout)
    assert report["waiting"] == {"requests": 0, "events": 0}
    [item] = report["kept"]
    assert item["id"] == kept.id and item["source"] == "postmark"
    assert item["error"].startswith("RecordError: record 1:")
    table = postwarden("inbox", "list", "--db", database_url)
    assert f"#{kept.id}" in table.stdout and "RecordError" in table.stdout
    shown = postwarden("inbox", "show", str(kept.id), "--db", database_url)
    assert shown.code == 0 and json.loads(shown.stdout) == [{"RecordType": "Delivery"}]

    missing = postwarden("inbox", "retry", str(kept.id + 1000), "--db", database_url)
    assert missing.code == 3 and len(missing.stderr.strip().splitlines()) == 1
    assert postwarden("inbox", "retry", "--db", database_url).code == 3
    retried = postwarden("inbox", "retry", str(kept.id), "--db", database_url)
    assert retried.code == 0, retried.stderr
    again = json.loads(postwarden("inbox", "list", "--db", database_url, "--format", "json").stdout)
    assert again == {"waiting": {"requests": 1, "events": 1}, "kept": []}
    # Still unreadable: the next drain keeps it again, with its reason; nothing is lost.
    with session_factory(engine)() as session:
        assert drain_inbox(session, NOW).kept_with_error == 1
        assert [request.id for request in kept_requests(session)] == [kept.id]
    assert postwarden("inbox", "retry", "--all", "--db", database_url).stdout.startswith("1 ")
