"""Putting events in the database: deduplicated, all or nothing, aggregates kept current.

Events are inserted in batches with ``ON CONFLICT DO NOTHING`` on the
deduplicating key (source and event id; on PostgreSQL, whose events are
partitioned by month, with the time: store/partitions.py), each stamped
with the id of this import; the daily aggregates are then moved forward by
one SQL statement over exactly the rows this import inserted, so an event
delivered twice is neither stored nor counted twice. The caller's
transaction covers everything: an import that fails half-way leaves
nothing behind (the month partitions it added included).

The batches go to the database driver's ``executemany`` directly: through
SQLAlchemy's ORM the same million rows took several times longer than a
plain ``sqlite3`` insert (bench/events.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from checks.errors import BadInput
from compliance.audit.rules import activity_maxima, exit_minima
from compliance.contacts.erasure import forget_suppressed
from compliance.events.formats import FORMATS, EventFormat, detect
from compliance.events.formats.generic_csv import Layout, row_values
from compliance.events.normalised import DeliveryEvent, Ignored, RecordError
from compliance.events.reader import EventFile, FileError
from compliance.rates.providers import provider_of_address
from compliance.storable_text import find_unstorable, find_unstorable_cell
from store.contacts import ACTIVITY_COLUMNS, FIRST_EXIT_COLUMNS, RecipientActivity, Suppression
from store.events import COUNTERS, Event, EventDay, EventImport
from store.partitions import MonthPartitions, month_of

BATCH = 5000
_COLUMNS = (
    "source", "event_id", "type", "bounce_type", "recipient", "provider", "time", "day",
    "campaign", "message_id", "reason", "url", "machine", "import_id",
)  # fmt: skip
_TIME = _COLUMNS.index("time")


class ImportFailed(BadInput):
    """The import was refused; nothing was written. The message names file, place and field."""


@dataclass
class ImportReport:
    """What an import brought."""

    name: str
    records: int = 0
    events: int = 0
    inserted: int = 0
    duplicates: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    import_id: int | None = None

    def __str__(self) -> str:
        text = (
            f"{self.name}: {self.records} records, {self.inserted} events imported, "
            f"{self.duplicates} duplicates skipped"
        )
        if self.ignored:
            kinds = ", ".join(f"{name} {count}" for name, count in sorted(self.ignored.items()))
            text += f", {sum(self.ignored.values())} not counted ({kinds})"
        return text


def _row_writer(dialect: str) -> Callable[[DeliveryEvent, int], tuple[Any, ...]]:
    """How one event becomes a driver row: SQLite stores times as SQLAlchemy's text format."""
    if dialect == "sqlite":

        def row(event: DeliveryEvent, import_id: int) -> tuple[Any, ...]:
            moment = event.time.replace(tzinfo=None)
            return (
                event.source, event.event_id, event.type, event.bounce_type, event.recipient,
                event.provider or provider_of_address(event.recipient),
                moment.isoformat(" ", "microseconds"),
                moment.date().isoformat(), event.campaign, event.message_id, event.reason,
                event.url, int(event.machine), import_id,
            )  # fmt: skip

        return row

    def aware_row(event: DeliveryEvent, import_id: int) -> tuple[Any, ...]:
        return (
            event.source, event.event_id, event.type, event.bounce_type, event.recipient,
            event.provider or provider_of_address(event.recipient), event.time, event.time.date(),
            event.campaign, event.message_id, event.reason, event.url, event.machine, import_id,
        )  # fmt: skip

    return aware_row


def _insert_sql(dialect: str) -> str:
    mark = "?" if dialect == "sqlite" else "%s"
    return (
        f"INSERT INTO events ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_COLUMNS))}) "
        # No conflict target: the deduplicating key is (source, event_id) on SQLite and
        # (source, event_id, time) on partitioned PostgreSQL; the primary key never
        # conflicts (a sequence fills it).
        "ON CONFLICT DO NOTHING"
    )


def _months(batch: list[tuple[Any, ...]]) -> set[date]:
    """The UTC months of a batch of driver rows (a time is aware, or a UTC text stamp)."""
    return {
        month_of(moment) if isinstance(moment, datetime) else
        date(int(moment[:4]), int(moment[5:7]), 1)
        for moment in {row[_TIME] for row in batch}
    }  # fmt: skip


# This import's rows: their ids are above the largest before it began, so they
# are found by the primary key, without an index on ``import_id``.
_MINE = (Event.id > bindparam("after_id")) & (Event.import_id == bindparam("import_id"))


@cache
def _aggregate_statement(dialect: str) -> Any:
    """Add an import's inserted events to the daily aggregates, in one statement.

    Built once per dialect (a webhook imports one event per request, and
    building the statement cost more than running it).
    """
    conditions = {
        "sent": Event.type == "sent",
        "delivered": Event.type == "delivered",
        "bounced_hard": (Event.type == "bounce") & (Event.bounce_type == "hard"),
        "bounced_soft": (Event.type == "bounce") & (Event.bounce_type == "soft"),
        "complaints": Event.type == "complaint",
        "unsubscribes": Event.type == "unsubscribe",
        "opens": (Event.type == "open") & ~Event.machine,
        "machine_opens": (Event.type == "open") & Event.machine,
        "clicks": Event.type == "click",
    }
    counts = (
        select(
            Event.day,
            Event.campaign,
            Event.provider,
            *(func.sum(case((conditions[name], 1), else_=0)).label(name) for name in COUNTERS),
        )
        .where(_MINE)
        .group_by(Event.day, Event.campaign, Event.provider)
    )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(EventDay).from_select(["day", "campaign", "provider", *COUNTERS], counts)
    return statement.on_conflict_do_update(
        index_elements=["day", "campaign", "provider"],
        set_={name: getattr(EventDay, name) + statement.excluded[name] for name in COUNTERS},
    )


@cache
def _activity_statement(dialect: str) -> Any:
    """Move each recipient's latest sent/engaged/unsubscribe/bounce/complaint forward, and
    its first unsubscribe/hard bounce/complaint back, in one statement over the rows an
    import inserted (the list audit reads the result instead of the events). Events may
    arrive in any order, so each column takes the later (first: earlier) of both.
    Built once per dialect."""
    rows = (
        select(Event.recipient, *activity_maxima(), *exit_minima())
        .where(_MINE)
        .group_by(Event.recipient)
    )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(RecipientActivity).from_select(
        ["address", *ACTIVITY_COLUMNS, *FIRST_EXIT_COLUMNS], rows
    )
    return statement.on_conflict_do_update(
        index_elements=["address"],
        set_={
            **{
                name: _later(getattr(RecipientActivity, name), statement.excluded[name])
                for name in ACTIVITY_COLUMNS
            },
            **{
                name: _earlier(getattr(RecipientActivity, name), statement.excluded[name])
                for name in FIRST_EXIT_COLUMNS
            },
        },
    )


def _record_activity(session: Session, dialect: str, mine: dict[str, int]) -> None:
    # Core, not ORM: given parameters, an ORM INSERT would be taken for a bulk insert.
    session.connection().execute(_activity_statement(dialect), mine)
    if session.scalar(select(func.count()).select_from(Suppression)):
        recipients = session.scalars(select(Event.recipient).where(_MINE).distinct(), mine)
        forget_suppressed(session, list(recipients))


def _later(stored: Any, new: Any) -> Any:
    """The later of two times, either of which may be NULL (SQL's max() would give NULL)."""
    return case((new.is_(None), stored), (stored.is_(None) | (new > stored), new), else_=stored)


def _earlier(stored: Any, new: Any) -> Any:
    """The earlier of two times, either of which may be NULL."""
    return case((new.is_(None), stored), (stored.is_(None) | (new < stored), new), else_=stored)


def import_events(
    session: Session,
    items: Iterable[DeliveryEvent | Ignored],
    *,
    source: str,
    name: str,
    now: datetime,
    report: ImportReport | None = None,
) -> ImportReport:
    """Store ``items`` (events, and ignored types to count) in the caller's transaction."""
    record = EventImport(source=source, name=name[:500], started_at=now, ignored={})
    session.add(record)
    session.flush()
    report = report or ImportReport(name=name)
    report.import_id = record.id
    dialect = session.get_bind().dialect.name
    to_row, sql = _row_writer(dialect), _insert_sql(dialect)
    connection = session.connection()
    after_id = session.scalar(select(func.max(Event.id))) or 0
    partitions = MonthPartitions(connection)
    events = _counted(items, report)
    while batch := [to_row(event, record.id) for event in islice(events, BATCH)]:
        if partitions.active:
            partitions.cover(_months(batch))
        connection.exec_driver_sql(sql, batch)
    report.records = report.records or report.events + sum(report.ignored.values())
    mine = {"after_id": after_id, "import_id": record.id}
    session.connection().execute(_aggregate_statement(dialect), mine)
    _record_activity(session, dialect, mine)
    inserted = session.scalar(select(func.count()).select_from(Event).where(_MINE), mine) or 0
    _finish(session, record, report, inserted, now)
    return report


def _counted(
    items: Iterable[DeliveryEvent | Ignored], report: ImportReport
) -> Iterator[DeliveryEvent]:
    for item in items:
        if isinstance(item, Ignored):
            report.ignored[item.type] += 1
        else:
            report.events += 1
            yield item


def read_json(
    file: EventFile, source: str, report: ImportReport
) -> Iterator[DeliveryEvent | Ignored]:
    """The events of a JSON file in ``source``'s format (``auto``: detected per record)."""
    chosen: EventFormat | None = None if source == "auto" else FORMATS[source]
    for record in file:
        report.records += 1
        if problem := find_unstorable(record.data):
            raise ImportFailed(f"{record.where}: {problem}")
        try:
            yield from (chosen or detect(record.data)).parse(record.data)
        except RecordError as error:
            raise ImportFailed(f"{record.where}: {error}") from None


# Which aggregate counter an event adds to, by (type, bounce type, machine).
_COUNTER_OF = {
    ("sent", None, False): "sent",
    ("delivered", None, False): "delivered",
    ("bounce", "hard", False): "bounced_hard",
    ("bounce", "soft", False): "bounced_soft",
    ("complaint", None, False): "complaints",
    ("unsubscribe", None, False): "unsubscribes",
    ("open", None, False): "opens",
    ("open", None, True): "machine_opens",
    ("click", None, False): "clicks",
}


def import_csv(
    session: Session,
    file: EventFile,
    *,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a CSV file of events in the caller's transaction (the bulk path).

    The daily aggregates are counted while the rows go by; they are used if
    the insert skipped no row as a duplicate, and the SQL aggregation over
    the rows actually inserted is used otherwise.
    """
    record = EventImport(source="csv", name=str(file.path)[:500], started_at=now, ignored={})
    session.add(record)
    session.flush()
    report = ImportReport(name=file.name, import_id=record.id)
    rows = file.csv_rows()
    try:
        _line, header = next(rows)
        layout = Layout.from_header(header)
    except StopIteration:
        raise ImportFailed(f"{file.name}: empty file, expected a header line") from None
    except RecordError as error:
        raise ImportFailed(f"{file.name}:1: {error}") from None
    dialect = session.get_bind().dialect.name
    connection = session.connection()
    after_id = session.scalar(select(func.max(Event.id))) or 0
    import_id = record.id
    zoned = dialect != "sqlite"
    counted: Counter[tuple[Any, ...]] = Counter()

    def values() -> Iterator[tuple[Any, ...]]:
        for line, row in rows:
            if not row:
                continue
            if problem := find_unstorable_cell(row, header):
                raise ImportFailed(f"{file.name}:{line}: {problem}")
            try:
                (event_id, kind, bounce, recipient, provider, stamp, day, campaign, message_id,
                 reason, url, machine) = row_values(row, layout)  # fmt: skip
            except RecordError as error:
                raise ImportFailed(f"{file.name}:{line}: {error}") from None
            report.records += 1
            if progress is not None and report.records % 50_000 == 0:
                progress(file.bytes_read)
            counter = _COUNTER_OF.get((kind, bounce, machine and kind == "open"))
            counted[(day, campaign, provider, counter)] += 1
            if zoned:
                stamp += "+00:00"  # PostgreSQL would read a bare time in the session's zone
            yield (
                "csv", event_id, kind, bounce, recipient, provider, stamp, day,
                campaign, message_id, reason, url, machine, import_id,
            )  # fmt: skip

    sql = _insert_sql(dialect)
    partitions = MonthPartitions(connection)
    pending = values()
    while batch := list(islice(pending, BATCH)):
        if partitions.active:
            partitions.cover(_months(batch))
        connection.exec_driver_sql(sql, batch)
    if progress is not None:
        progress(file.bytes_read)
    report.events = report.records
    mine = {"after_id": after_id, "import_id": import_id}
    inserted = session.scalar(select(func.count()).select_from(Event).where(_MINE), mine) or 0
    if inserted == report.events:
        _add_to_days(session, counted)
    else:
        session.connection().execute(_aggregate_statement(dialect), mine)
    _record_activity(session, dialect, mine)
    _finish(session, record, report, inserted, now)
    return report


def _add_to_days(session: Session, counted: Counter[tuple[Any, ...]]) -> None:
    """Upsert counts by (day, campaign, provider, counter) into the daily aggregates."""
    days: dict[tuple[Any, ...], dict[str, int]] = {}
    for (day, campaign, provider, counter), count in counted.items():
        row = days.setdefault(
            (date.fromisoformat(day), campaign, provider), dict.fromkeys(COUNTERS, 0)
        )
        if counter is not None:
            row[counter] += count
    if not days:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(EventDay)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "campaign", "provider"],
        set_={name: getattr(EventDay, name) + statement.excluded[name] for name in COUNTERS},
    )
    session.execute(
        statement,
        [
            {"day": day, "campaign": campaign, "provider": provider, **counts}
            for (day, campaign, provider), counts in days.items()
        ],
    )


def _finish(
    session: Session, record: EventImport, report: ImportReport, inserted: int, now: datetime
) -> None:
    """Write down what the import did."""
    report.inserted = inserted
    report.duplicates = report.events - inserted
    record.records, record.inserted, record.duplicates = (
        report.records,
        report.inserted,
        report.duplicates,
    )
    record.ignored, record.finished_at = dict(report.ignored), now
    session.flush()


def import_file(
    session: Session,
    path: Path,
    *,
    source: str,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import one file, all or nothing (the caller commits or rolls back)."""
    try:
        with EventFile(path) as file:
            if file.kind == "csv":
                if source not in ("auto", "csv"):
                    raise ImportFailed(f"{file.name}: is CSV, but --source {source} expects JSON")
                return import_csv(session, file, now=now, progress=progress)
            if source == "csv":
                raise ImportFailed(f"{file.name}: is JSON, but --source csv expects CSV")
            report = ImportReport(name=path.name)
            items = read_json(file, source, report)
            if progress is not None:
                items = _reporting(items, file, progress)
            return import_events(
                session, items, source=source, name=str(path), now=now, report=report
            )
    except FileError as error:
        raise ImportFailed(str(error)) from None


def _reporting(
    items: Iterator[DeliveryEvent | Ignored], file: EventFile, progress: Callable[[int], None]
) -> Iterator[DeliveryEvent | Ignored]:
    for count, item in enumerate(items):
        if count % 10_000 == 0:
            progress(file.bytes_read)
        yield item
    progress(file.bytes_read)
