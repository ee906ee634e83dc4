"""Storing ARF complaints: one message (what a mailbox poller hands over) or a file of them.

Complaints go through :func:`compliance.events.importer.import_events`, so they
land in the same events table, daily aggregates and recipient activity as an
ESP's complaints: the rates and the ``mailed_after_complaint`` rule see them.
Each file is all or nothing in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.events.arf import SOURCE, ArfError, Complaint, read_arf
from compliance.events.importer import ImportReport, import_events
from compliance.events.normalised import DeliveryEvent, Ignored
from compliance.messages.files import DEFAULT_MAX_BYTES, MessageFileError, read_messages
from store.events import Event


@dataclass
class ArfReport:
    """What one file (or one polled message) of feedback reports brought."""

    file: str
    reports: int = 0
    complaints: int = 0
    inserted: int = 0
    duplicates: int = 0
    redacted: int = 0
    # Messages that are no ARF report (a feedback mailbox also gets other mail).
    skipped: int = 0
    # Reports of other feedback types (fraud, not-spam, …): read, not counted.
    other_types: int = 0

    @property
    def status(self) -> str:
        return "duplicate" if self.complaints and not self.inserted else "imported"

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file, "status": self.status, "reports": self.reports,
            "complaints": self.complaints, "inserted": self.inserted,
            "duplicates": self.duplicates, "redacted": self.redacted, "skipped": self.skipped,
            "other_types": self.other_types, "error": None,
        }  # fmt: skip

    def __str__(self) -> str:
        text = (
            f"{self.file}: {self.reports} reports, {self.inserted} complaints imported, "
            f"{self.duplicates} duplicates skipped"
        )
        if self.redacted:
            text += f", {self.redacted} with the recipient redacted"
        if self.skipped:
            text += f", {self.skipped} messages not ARF"
        return text


class ArfImportFailed(ValueError):
    """A file that was refused; nothing of it was written. One line naming file and place."""


def import_arf_message(session: Session, raw: bytes, *, name: str, now: datetime) -> ArfReport:
    """Store the complaint of one message in the caller's transaction (the poller's handler).

    A message that is no ARF report is counted as skipped, not refused;
    a broken report raises ArfError.
    """
    return _store(session, [(name, raw)], name=name, now=now)


def import_arf_file(
    session: Session, path: Path, *, now: datetime, max_bytes: int = DEFAULT_MAX_BYTES
) -> ArfReport:
    """Store every report of an .eml or .mbox file, all or nothing; ArfImportFailed names why."""
    try:
        messages = list(read_messages([path], max_bytes))
    except MessageFileError as error:
        raise ArfImportFailed(str(error)) from None
    items: list[tuple[str, bytes]] = []
    for message in messages:
        if message.raw is None:
            raise ArfImportFailed(f"{message.where}: {message.problem}")
        items.append((message.where, message.raw))
    try:
        return _store(session, items, name=str(path), now=now)
    except ArfError as error:
        raise ArfImportFailed(str(error)) from None


def arf_files(paths: Iterable[Path]) -> list[Path]:
    """The files to import: the paths given, and the .eml/.mbox files under directories."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".eml", ".mbox")
            )
        else:
            found.append(path)
    return found


def _store(
    session: Session, items: list[tuple[str, bytes]], *, name: str, now: datetime
) -> ArfReport:
    report = ArfReport(file=name)
    events: list[DeliveryEvent | Ignored] = []
    for where, raw in items:
        try:
            found = read_arf(raw, now=now)
        except ArfError as error:
            raise ArfError(f"{where}: {error}") from None
        if found is None:
            report.skipped += 1
            continue
        report.reports += 1
        if isinstance(found, Complaint):
            report.complaints += 1
            report.redacted += found.redacted
            events.append(found.event)
        else:
            report.other_types += 1
            events.append(found)
    known = _already_stored(session, [e for e in events if isinstance(e, DeliveryEvent)])
    events = [e for e in events if not (isinstance(e, DeliveryEvent) and _key(e) in known)]
    events = _first_of_each(events)
    if report.reports:
        stored = import_events(
            session, events, source=SOURCE, name=name, now=now, report=ImportReport(name=name)
        )
        report.inserted = stored.inserted
        report.duplicates = stored.duplicates + report.complaints - stored.events
    return report


def _key(event: DeliveryEvent) -> tuple[str, str]:
    return event.recipient, (event.message_id or "").strip("<>")


def _first_of_each(events: list[DeliveryEvent | Ignored]) -> list[DeliveryEvent | Ignored]:
    """The events without repeats of an event id met earlier in the same batch."""
    seen: set[str] = set()
    kept: list[DeliveryEvent | Ignored] = []
    for event in events:
        if isinstance(event, DeliveryEvent):
            if event.event_id in seen:
                continue
            seen.add(event.event_id)
        kept.append(event)
    return kept


def _already_stored(session: Session, events: list[DeliveryEvent]) -> set[tuple[str, str]]:
    """Complaints stored before for the same recipient and Message-ID, by an ESP or by ARF.

    ESPs forward the feedback loops they receive as complaint events; the same
    complaint read again from the ARF report must not count twice. Nor must a
    report read twice: its event id names the message and recipient but not the
    time, which falls back to the time of reading when the report gives none, and
    on PostgreSQL the deduplicating key includes the time (store/partitions.py).
    """
    ids = {event.message_id for event in events if event.message_id}
    if not ids:
        return set()
    forms = ids | {i.strip("<>") for i in ids} | {f"<{i.strip('<>')}>" for i in ids}
    rows = session.execute(
        select(Event.recipient, Event.message_id).where(
            Event.type == "complaint", Event.message_id.in_(forms)
        )
    )
    return {(recipient, (message_id or "").strip("<>")) for recipient, message_id in rows}
