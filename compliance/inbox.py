"""The webhook inbox: requests accepted at once, imported in batches by the ``ingest`` job.

A webhook request is verified and validated, then appended to
``event_inbox`` in one short transaction; it is then accepted, and the ESP
may forget it. :func:`drain_inbox` imports what waits through the same
:func:`~compliance.event_import.import_events` as a file, many requests per
import, and deletes them in that import's transaction: a request is imported
once or, if the transaction fails, stays waiting. Duplicates (an ESP's
retries) are dropped on the ESP's event id at import, as for files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from compliance.event_formats import FORMATS
from compliance.event_import import import_events
from compliance.events import DeliveryEvent, Ignored, RecordError
from store.events import InboxRequest

logger = logging.getLogger(__name__)

# Requests imported per transaction: large enough that an import's fixed
# statements are shared by many events, small enough that a backlog of a
# million requests commits as it goes.
DRAIN_BATCH = 2000
_APPEND = insert(InboxRequest)


def parse_records(source: str, records: list[Any]) -> list[DeliveryEvent | Ignored]:
    """Every record of one request in ``source``'s format; RecordError names the bad one."""
    items: list[DeliveryEvent | Ignored] = []
    parse = FORMATS[source].parse
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise RecordError(f"record {number}: expected a JSON object")
        try:
            items.extend(parse(record))
        except RecordError as error:
            raise RecordError(f"record {number}: {error}") from None
    return items


def accept(session: Session, source: str, records: list[Any], events: int, now: datetime) -> None:
    """Append one validated request to the inbox, in the caller's transaction."""
    # Core on the connection, one statement built once: the ORM's per-call
    # statement building cost more than the INSERT itself.
    session.connection().execute(
        _APPEND,
        {"source": source, "received_at": now, "records": json.dumps(records), "events": events},
    )


def waiting(session: Session) -> tuple[int, int]:
    """Requests and events waiting to be imported (requests kept with an error excluded)."""
    requests, events = session.execute(
        select(func.count(), func.coalesce(func.sum(InboxRequest.events), 0)).where(
            InboxRequest.error.is_(None)
        )
    ).one()
    return int(requests), int(events)


@dataclass
class DrainReport:
    """What one drain imported."""

    requests: int = 0
    events: int = 0
    inserted: int = 0
    duplicates: int = 0
    kept_with_error: int = 0

    def __str__(self) -> str:
        text = (
            f"{self.requests} webhook requests: {self.inserted} events imported, "
            f"{self.duplicates} duplicates"
        )
        if self.kept_with_error:
            text += f"; {self.kept_with_error} could not be imported (kept in the inbox)"
        return text


def drain_inbox(session: Session, now: datetime, batch: int = DRAIN_BATCH) -> DrainReport:
    """Import everything waiting, ``batch`` requests per committed transaction."""
    report = DrainReport()
    while True:
        rows = session.execute(
            select(InboxRequest.id, InboxRequest.source, InboxRequest.records)
            .where(InboxRequest.error.is_(None))
            .order_by(InboxRequest.id)
            .limit(batch)
            # A second drain (another worker) takes other requests, never these.
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            session.commit()
            return report
        imported = _import_batch(session, rows, now, report)
        session.execute(delete(InboxRequest).where(InboxRequest.id.in_(imported)))
        session.commit()
        report.requests += len(imported)


def _import_batch(
    session: Session, rows: Sequence[Any], now: datetime, report: DrainReport
) -> list[int]:
    """Import ``rows``; the ids of those imported (the others are kept with their error)."""
    by_source: dict[str, list[DeliveryEvent | Ignored]] = {}
    imported = []
    for row in rows:
        try:
            items = parse_records(row.source, json.loads(row.records))
        except (RecordError, ValueError) as error:
            # Validated when it was accepted, so only a changed parser gets
            # here: keep it, with the reason, rather than lose or retry it forever.
            logger.error("webhook request %s (%s) cannot be imported: %s", row.id, row.source,
                         error)  # fmt: skip
            session.execute(
                update(InboxRequest)
                .where(InboxRequest.id == row.id)
                .values(error=f"{type(error).__name__}: {error}")
            )
            report.kept_with_error += 1
            continue
        by_source.setdefault(row.source, []).extend(items)
        imported.append(row.id)
    for source, items in by_source.items():
        done = import_events(session, items, source=source, name=f"hook:{source}", now=now)
        report.events += done.events
        report.inserted += done.inserted
        report.duplicates += done.duplicates
    return imported
