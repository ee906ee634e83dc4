"""Putting events in the database: deduplicated, all or nothing, aggregates kept current.

Events are inserted in batches with ``ON CONFLICT (source, event_id) DO
NOTHING``, each stamped with the id of this import; the daily aggregates
are then moved forward by one SQL statement over exactly the rows this
import inserted, so an event delivered twice is neither stored nor counted
twice. The caller's transaction covers everything: an import that fails
half-way leaves nothing behind.

The batches go to the database driver's ``executemany`` directly: through
SQLAlchemy's ORM the same million rows took several times longer than a
plain ``sqlite3`` insert (bench/events.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from compliance.event_formats import FORMATS, EventFormat, detect
from compliance.event_formats.generic_csv import check_header
from compliance.event_reader import EventFile, FileError
from compliance.events import DeliveryEvent, Ignored, RecordError
from compliance.providers import provider_of_address
from store.events import COUNTERS, Event, EventDay, EventImport

BATCH = 5000
_COLUMNS = (
    "source", "event_id", "type", "bounce_type", "recipient", "provider", "time", "day",
    "campaign", "message_id", "reason", "url", "machine", "import_id",
)  # fmt: skip


class ImportFailed(ValueError):
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
                provider_of_address(event.recipient), moment.isoformat(" ", "microseconds"),
                moment.date().isoformat(), event.campaign, event.message_id, event.reason,
                event.url, int(event.machine), import_id,
            )  # fmt: skip

        return row

    def aware_row(event: DeliveryEvent, import_id: int) -> tuple[Any, ...]:
        return (
            event.source, event.event_id, event.type, event.bounce_type, event.recipient,
            provider_of_address(event.recipient), event.time, event.time.date(), event.campaign,
            event.message_id, event.reason, event.url, event.machine, import_id,
        )  # fmt: skip

    return aware_row


def _insert_sql(dialect: str) -> str:
    mark = "?" if dialect == "sqlite" else "%s"
    return (
        f"INSERT INTO events ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_COLUMNS))}) "
        "ON CONFLICT (source, event_id) DO NOTHING"
    )


def _aggregate(session: Session, import_id: int) -> None:
    """Add this import's inserted events to the daily aggregates, in one statement."""
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
        .where(Event.import_id == import_id)
        .group_by(Event.day, Event.campaign, Event.provider)
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(EventDay).from_select(["day", "campaign", "provider", *COUNTERS], counts)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "campaign", "provider"],
        set_={name: getattr(EventDay, name) + statement.excluded[name] for name in COUNTERS},
    )
    session.execute(statement)


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
    events = _counted(items, report)
    while batch := [to_row(event, record.id) for event in islice(events, BATCH)]:
        connection.exec_driver_sql(sql, batch)  # type: ignore[arg-type]
    _aggregate(session, record.id)
    report.inserted = (
        session.scalar(select(func.count()).select_from(Event).where(Event.import_id == record.id))
        or 0
    )
    report.duplicates = report.events - report.inserted
    report.records = report.records or report.events + sum(report.ignored.values())
    record.records, record.inserted, record.duplicates = (
        report.records,
        report.inserted,
        report.duplicates,
    )
    record.ignored, record.finished_at = dict(report.ignored), now
    session.flush()
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


def read_file(
    file: EventFile, source: str, report: ImportReport
) -> Iterator[DeliveryEvent | Ignored]:
    """The events of ``file`` in ``source``'s format (``auto``: detected per record)."""
    chosen: EventFormat | None = None if source == "auto" else FORMATS[source]
    checked_header = False
    for record in file:
        report.records += 1
        try:
            if record.csv:
                if not checked_header:
                    check_header(list(record.data))
                    checked_header = True
                event_format = FORMATS["csv"]
            else:
                if chosen is FORMATS["csv"]:
                    raise RecordError("is JSON, but --source csv expects CSV")
                event_format = chosen or detect(record.data)
            yield from event_format.parse(record.data)
        except RecordError as error:
            where = f"{file.name}:1" if record.csv and not checked_header else record.where
            raise ImportFailed(f"{where}: {error}") from None


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
            report = ImportReport(name=path.name)
            items = read_file(file, source, report)
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
