"""Importing conversions, touchpoints of other channels and costs: CSV, all or nothing.

Each file is read row by row and refused at its first bad row with one
line naming the file, the line and the field; the caller's transaction
then rolls back, so nothing of it is kept. Conversions are de-duplicated
on ``conversion_id`` (a file can be imported again safely); a touchpoint
is the same touch when address, time, channel and campaign are; a cost row
replaces the stored amount of the same campaign, month, item and currency.
Conversions and touches of an address erased before are stored under its
erasure token, as its events are (:func:`compliance.contacts.erasure.anonymiser`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from compliance.contacts.erasure import anonymiser
from compliance.events.normalised import RecordError, normalise_recipient, parse_time
from compliance.events.reader import EventFile, FileError
from compliance.roi.attribution import SCALE
from store.conversions import CampaignCost, Conversion, Touchpoint

BATCH = 5000
CONVERSION_COLUMNS = ("conversion_id", "email", "time", "value", "currency", "type")
TOUCHPOINT_COLUMNS = ("email", "time", "channel", "campaign")
COST_COLUMNS = ("campaign", "cost", "currency", "month", "item")
# The largest amount stored: ten-thousandths in a signed 64-bit integer, with room to sum.
MAX_AMOUNT = Decimal(10) ** 12
_CURRENCY = re.compile(r"[A-Z]{3}")
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
# A cell a spreadsheet would run as a formula must not come back out in a report.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ImportFailed(ValueError):
    """The import was refused; nothing was written. The message names file, line and field."""


@dataclass
class ImportReport:
    """What one file brought."""

    name: str
    kind: str
    rows: int = 0
    inserted: int = 0
    duplicates: int = 0

    def __str__(self) -> str:
        if self.kind == "costs":
            return f"{self.name}: {self.rows} rows, {self.inserted} costs stored"
        return (
            f"{self.name}: {self.rows} rows, {self.inserted} {self.kind} imported, "
            f"{self.duplicates} duplicates skipped"
        )

    def as_json(self) -> dict[str, Any]:
        """The file's line of ``--format json``."""
        return {"file": self.name, "status": "pass", self.kind: self.inserted, "error": None,
                "rows": self.rows, "duplicates": self.duplicates}  # fmt: skip


def parse_amount(value: str, field: str) -> int:
    """A non-negative decimal amount (at most four decimals) in ten-thousandths, or RecordError."""
    text = value.strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RecordError(f"{field} {value!r} is not a number") from None
    if not number.is_finite() or number < 0 or number >= MAX_AMOUNT:
        raise RecordError(f"{field} {value!r} is not an amount from 0 to {MAX_AMOUNT:,}")
    scaled = number * SCALE
    if scaled != scaled.to_integral_value():
        raise RecordError(f"{field} {value!r} has more than four decimals")
    return int(scaled)


def _currency(value: str) -> str:
    text = value.strip().upper()
    if not _CURRENCY.fullmatch(text):
        raise RecordError(f"currency {value!r} is not an ISO 4217 code such as EUR")
    return text


def _text(value: str, field: str, longest: int, required: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise RecordError(f"{field} is empty")
    if len(text) > longest:
        raise RecordError(f"{field} is longer than {longest} characters")
    if text.startswith(_FORMULA_START) or any(ord(c) < 32 for c in text):
        raise RecordError(f"{field} {text[:40]!r} starts like a formula or holds control codes")
    return text


def _name(value: str, field: str, required: bool) -> str:
    text = value.strip().lower()
    if not text and not required:
        return ""
    if not _NAME.fullmatch(text):
        raise RecordError(f"{field} {value!r} is not a short lower-case name such as purchase")
    return text


def _rows(
    file: EventFile, required: Sequence[str], known: Sequence[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """The data rows of a CSV file as {column: cell}, checked against its header."""
    rows = file.csv_rows()
    try:
        _line, header = next(rows)
    except StopIteration:
        raise ImportFailed(f"{file.name}: empty file, expected a header line") from None
    names = [name.strip().lower() for name in header]
    missing = [name for name in required if name not in names]
    unknown = [name for name in names if name not in known]
    if missing or unknown:
        what = (
            f"lacks the column(s) {', '.join(missing)}"
            if missing
            else f"has unknown column(s) {', '.join(unknown)}"
        )
        raise ImportFailed(f"{file.name}:1: header {what}; expected {','.join(known)}")
    for line, row in rows:
        if not row or row == [""]:
            continue
        if len(row) != len(names):
            more = len(row) > len(names)
            raise ImportFailed(
                f"{file.name}:{line}: {'more' if more else 'fewer'} fields than the header"
            )
        cells = dict(zip(names, row, strict=True))
        for name in known:
            cells.setdefault(name, "")
        yield line, cells


def _insert(session: Session, table: Any) -> Any:
    """An INSERT of ``table`` with the dialect's ON CONFLICT (Core: the rows go as parameters)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table.__table__)


def import_conversions(session: Session, path: Path, *, now: datetime) -> ImportReport:
    """Import one CSV of conversions in the caller's transaction (all or nothing)."""
    report = ImportReport(name=path.name, kind="conversions")
    before = session.scalar(select(func.count()).select_from(Conversion)) or 0
    statement = _insert(session, Conversion).on_conflict_do_nothing(
        index_elements=["conversion_id"]
    )
    anonymise = anonymiser(session)

    def values(file: EventFile) -> Iterator[dict[str, Any]]:
        for line, cells in _rows(file, CONVERSION_COLUMNS[:5], CONVERSION_COLUMNS):
            try:
                row = {
                    "conversion_id": _text(cells["conversion_id"], "conversion_id", 255, True),
                    "email": anonymise(normalise_recipient(cells["email"], "email")),
                    "time": parse_time(cells["time"]),
                    "value": parse_amount(cells["value"], "value"),
                    "currency": _currency(cells["currency"]),
                    "type": _name(cells["type"], "type", required=False),
                    "imported_at": now,
                }
            except RecordError as error:
                raise ImportFailed(f"{file.name}:{line}: {error}") from None
            report.rows += 1
            yield row

    _run(session, path, statement, values)
    inserted = (session.scalar(select(func.count()).select_from(Conversion)) or 0) - before
    report.inserted, report.duplicates = inserted, report.rows - inserted
    return report


def import_touchpoints(session: Session, path: Path, *, now: datetime) -> ImportReport:
    """Import one CSV of touches on other channels (``email,time,channel,campaign``)."""
    report = ImportReport(name=path.name, kind="touchpoints")
    before = session.scalar(select(func.count()).select_from(Touchpoint)) or 0
    statement = _insert(session, Touchpoint).on_conflict_do_nothing(
        index_elements=["email", "time", "channel", "campaign"]
    )
    anonymise = anonymiser(session)

    def values(file: EventFile) -> Iterator[dict[str, Any]]:
        for line, cells in _rows(file, TOUCHPOINT_COLUMNS[:3], TOUCHPOINT_COLUMNS):
            try:
                channel = _name(cells["channel"], "channel", required=True)
                if channel == "email":
                    raise RecordError("channel 'email' comes from the events, not touchpoints")
                row = {
                    "email": anonymise(normalise_recipient(cells["email"], "email")),
                    "time": parse_time(cells["time"]),
                    "channel": channel,
                    "campaign": _text(cells["campaign"], "campaign", 255),
                }
            except RecordError as error:
                raise ImportFailed(f"{file.name}:{line}: {error}") from None
            report.rows += 1
            yield row

    _run(session, path, statement, values)
    inserted = (session.scalar(select(func.count()).select_from(Touchpoint)) or 0) - before
    report.inserted, report.duplicates = inserted, report.rows - inserted
    return report


def import_costs(session: Session, path: Path, *, now: datetime) -> ImportReport:
    """Import one CSV of costs (``campaign,cost,currency`` and optional ``month``, ``item``)."""
    report = ImportReport(name=path.name, kind="costs")
    statement = _insert(session, CampaignCost)
    statement = statement.on_conflict_do_update(
        index_elements=["campaign", "month", "item", "currency"],
        set_={"amount": statement.excluded.amount, "imported_at": statement.excluded.imported_at},
    )
    seen: set[tuple[Any, ...]] = set()

    def values(file: EventFile) -> Iterator[dict[str, Any]]:
        for line, cells in _rows(file, COST_COLUMNS[:3], COST_COLUMNS):
            try:
                row = {
                    "campaign": _text(cells["campaign"], "campaign", 255),
                    "month": _month(cells["month"]),
                    "item": _text(cells["item"], "item", 64),
                    "amount": parse_amount(cells["cost"], "cost"),
                    "currency": _currency(cells["currency"]),
                    "imported_at": now,
                }
                if not row["campaign"] and not row["month"]:
                    raise RecordError("campaign is empty: a cost names a campaign or a month")
            except RecordError as error:
                raise ImportFailed(f"{file.name}:{line}: {error}") from None
            key = (row["campaign"], row["month"], row["item"], row["currency"])
            report.rows += 1
            if key in seen:
                # One statement must not update a row twice (PostgreSQL refuses it).
                raise ImportFailed(f"{file.name}:{line}: the same cost is given twice")
            seen.add(key)
            yield row

    _run(session, path, statement, values)
    report.inserted = report.rows
    return report


def _month(value: str) -> str:
    text = value.strip()
    if text and not _MONTH.fullmatch(text):
        raise RecordError(f"month {value!r} is not YYYY-MM")
    return text


def _run(
    session: Session,
    path: Path,
    statement: Any,
    values: Callable[[EventFile], Iterator[dict[str, Any]]],
) -> None:
    try:
        with EventFile(path) as file:
            if file.kind != "csv":
                raise ImportFailed(f"{file.name}: expected CSV with a header line")
            rows = values(file)
            while batch := list(islice(rows, BATCH)):
                session.connection().execute(statement, batch)
    except FileError as error:
        raise ImportFailed(str(error)) from None


IMPORTERS: dict[str, Callable[..., ImportReport]] = {
    "conversions": import_conversions,
    "touchpoints": import_touchpoints,
    "costs": import_costs,
}
