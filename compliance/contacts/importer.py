"""Importing contact exports: streamed, checked, upserted, all or nothing.

A row becomes the values of one ``INSERT … ON CONFLICT (list_name,
address) DO UPDATE``, so importing the same export again (or a newer one)
updates contacts instead of adding them twice; a value the new file leaves
empty keeps the stored one. Addresses on the suppression list (erased)
are skipped and counted, never stored again. The caller's transaction
covers the whole file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks.errors import BadInput
from compliance.compressed import GZIP_MAGIC, CompressedFileError, inflated
from compliance.contacts.fields import (
    FIELDS,
    FLAG_FIELDS,
    TIME_FIELDS,
    address_of,
    address_problem,
    check_flag,
    check_legal_basis,
    check_status,
    is_role,
    stamp_of,
)
from compliance.contacts.formats import FORMATS, ContactFormat, detect
from compliance.contacts.suppression import address_hash, salt, suppressed_hashes
from compliance.events.normalised import RecordError
from compliance.storable_text import find_unstorable_cell
from store.contacts import Contact, ContactImport

BATCH = 5000
_COLUMNS = (
    "address", "list_name", "domain", "address_problem", "role_account", "status",
    "legal_basis", "subscribed_at", "opted_in", "optin_time", "optin_ip", "confirmed",
    "confirm_time", "confirm_ip", "consent_source", "consent_version", "last_mailed_at",
    "last_engaged_at", "unsubscribed_at", "bounced_at", "complained_at", "first_seen_at",
    "updated_at",
)  # fmt: skip
# Replaced on every import; the rest keep the stored value when the file has none.
_REPLACED = ("domain", "address_problem", "role_account", "status", "updated_at")
_FLAGS = ("opted_in", "confirmed")


class ContactImportFailed(BadInput):
    """The import was refused; nothing was written. The message names file, line and column."""


@dataclass
class ContactImportReport:
    """What a contact import brought."""

    name: str
    source: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    suppressed: int = 0

    def __str__(self) -> str:
        return (
            f"{self.name} ({self.source}): {self.rows} rows, {self.inserted} contacts added, "
            f"{self.updated} updated, {self.suppressed} skipped as erased"
        )


def _lines(path: Path, encoding: str, read: list[int]) -> Generator[str, None, None]:
    """The file's lines as text, decoded one by one so a bad byte names its line.

    ``read[0]`` follows the bytes read (of the file, compressed or not).
    """
    with path.open("rb") as raw:
        head = raw.read(4)
        raw.seek(0)
        stream: Any = raw
        if head[:2] == GZIP_MAGIC:
            stream = inflated(raw, path.stat().st_size)
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise ContactImportFailed(f"{path.name}: is UTF-16 text; save it as UTF-8")
        # Closed with the file: a generator closed early would otherwise drop
        # it while the file is still open (a ResourceWarning).
        buffered = io.BufferedReader(stream, 1 << 20)
        try:
            for number, line in enumerate(buffered, start=1):
                if number % 10_000 == 0:
                    read[0] = raw.tell()
                try:
                    text = line.decode(encoding)
                except UnicodeDecodeError:
                    raise ContactImportFailed(
                        f"{path.name}:{number}: not {encoding} text (if it is Latin-1, give "
                        "--encoding latin-1)"
                    ) from None
                if number == 1:
                    text = text.removeprefix("\ufeff")
                yield text
        except CompressedFileError as error:
            raise ContactImportFailed(f"{path.name}: {error}") from None
        finally:
            buffered.close()


def _header_format(
    header_line: str, source: str, delimiter: str | None
) -> tuple[ContactFormat, str]:
    """The format and delimiter of a file from its first line."""
    if source != "auto":
        chosen = FORMATS[source]
        return chosen, delimiter or chosen.delimiter
    for candidate in [delimiter] if delimiter else [",", ";", "\t"]:
        try:
            found = detect(next(csv.reader([header_line], delimiter=candidate)))
        except csv.Error:  # said with its line when the file is read
            continue
        if found is not None:
            return found, candidate
    return FORMATS["generic"], delimiter or ","


@dataclass(frozen=True)
class _Column:
    field: str
    index: int
    name: str


def _layout(
    header: list[str], contact_format: ContactFormat, mapping: Mapping[str, str], name: str
) -> list[_Column]:
    """Where each field is in the rows, or ContactImportFailed naming what is missing."""
    where = {column.strip().lower(): i for i, column in enumerate(header)}
    columns = []
    for field in FIELDS:
        names = (mapping[field],) if field in mapping else contact_format.columns.get(field, ())
        for column in names:
            if column.strip().lower() in where:
                columns.append(_Column(field, where[column.strip().lower()], column))
                break
        else:
            if field in mapping:
                raise ContactImportFailed(
                    f"{name}:1: --map {field}={mapping[field]}: the header has no such column"
                )
    if not any(column.field == "address" for column in columns):
        expected = " or ".join(repr(c) for c in contact_format.columns["address"])
        hint = ""
        if len(header) == 1 and any(mark in header[0] for mark in ";\t,"):
            hint = (
                "; the header reads as one column: is the file delimited otherwise? (--delimiter)"
            )
        raise ContactImportFailed(
            f"{name}:1: no column for the address (expected {expected}){hint}"
        )
    return columns


def import_contacts(
    session: Session,
    path: Path,
    *,
    now: datetime,
    source: str = "auto",
    list_name: str = "default",
    mapping: Mapping[str, str] | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    progress: Callable[[int], None] | None = None,
) -> ContactImportReport:
    """Import one contact export in the caller's transaction (it commits or rolls back)."""
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise ContactImportFailed(
            f"--map {unknown[0]}=…: no such field; fields are {', '.join(FIELDS)}"
        )
    read = [0]
    # Closed however the import ends: a refused row leaves the reader suspended.
    with closing(_lines(path, encoding, read)) as lines:
        try:
            first = next(lines)
        except StopIteration:
            raise ContactImportFailed(f"{path.name}: empty file, expected a header line") from None
        contact_format, separator = _header_format(first, source, delimiter)
        reader = csv.reader(chain([first], lines), delimiter=separator)
        rows = _checked_rows(reader, path.name)
        header = next(rows, [])
        columns = _layout(header, contact_format, mapping, path.name)
        positions = {column.strip().lower(): i for i, column in enumerate(header)}
        file_status = contact_format.file_status(set(positions))
        flags = [
            (positions[name.lower()], status)
            for name, status in contact_format.status_flags
            if name.lower() in positions
        ]
        report = ContactImportReport(name=path.name, source=contact_format.name)
        record = ContactImport(
            source=contact_format.name, name=str(path)[:500], list_name=list_name, started_at=now
        )
        session.add(record)
        session.flush()
        dialect = session.get_bind().dialect.name
        suppressed = suppressed_hashes(session)
        key = salt(session) if suppressed else b""
        stamp_now = now.replace(tzinfo=None).isoformat(" ", "microseconds")
        zone = "" if dialect == "sqlite" else "+00:00"
        before = session.scalar(select(func.count()).select_from(Contact)) or 0
        width = len(header)
        zoned = (*TIME_FIELDS, "first_seen_at", "updated_at")

        def values() -> Iterator[tuple[Any, ...]]:
            for row in rows:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                line = reader.line_num
                try:
                    if problem := find_unstorable_cell(row, header):
                        raise RecordError(problem)
                    if len(row) > width:
                        raise RecordError("more fields than the header")
                    fields = _row_fields(
                        row, columns, contact_format, file_status, flags, list_name
                    )
                except RecordError as error:
                    raise ContactImportFailed(f"{path.name}:{line}: {error}") from None
                report.rows += 1
                if progress is not None and report.rows % 50_000 == 0:
                    progress(read[0])
                address = fields["address"]
                if suppressed and address_hash(key, address) in suppressed:
                    report.suppressed += 1
                    continue
                fields["domain"] = address.rpartition("@")[2]
                fields["address_problem"] = address_problem(address)
                fields["role_account"] = is_role(address)
                fields["first_seen_at"] = fields["updated_at"] = stamp_now
                if zone:  # PostgreSQL would read a bare time in the session's zone
                    for name in zoned:
                        if fields.get(name):
                            fields[name] += zone
                yield tuple(map(fields.get, _COLUMNS))

        connection = session.connection()
        sql = _upsert_sql(dialect)
        pending = values()
        while batch := list(islice(pending, BATCH)):
            connection.exec_driver_sql(sql, batch)
        if progress is not None:
            progress(path.stat().st_size)
        after = session.scalar(select(func.count()).select_from(Contact)) or 0
        report.inserted = after - before
        report.updated = report.rows - report.suppressed - report.inserted
        record.rows, record.inserted, record.updated, record.suppressed = (
            report.rows,
            report.inserted,
            report.updated,
            report.suppressed,
        )
        record.finished_at = now
        session.flush()
        return report


def _checked_rows(reader: Any, name: str) -> Iterator[list[str]]:
    """The reader's rows; its csv.Error (an unclosed quote running past the field size
    limit, …) as ContactImportFailed naming the line."""
    try:
        yield from reader
    except csv.Error as error:
        raise ContactImportFailed(f"{name}:{reader.line_num}: {error}") from None


def _row_fields(
    row: list[str],
    columns: list[_Column],
    contact_format: ContactFormat,
    file_status: str | None,
    flags: list[tuple[int, str]],
    list_name: str,
) -> dict[str, Any]:
    """The checked fields of one row, by field name."""
    width = len(row)
    fields: dict[str, Any] = {"list_name": list_name, "opted_in": False, "confirmed": False}
    status_text = None
    for column in columns:
        raw = row[column.index] if column.index < width else ""
        field = column.field
        if field == "address":
            fields["address"] = address_of(raw, column.name)
        elif field in TIME_FIELDS:
            fields[field] = stamp_of(raw, column.name, day_first=contact_format.day_first)
        elif field in FLAG_FIELDS:
            fields[field] = check_flag(raw, column.name)
        elif field == "status":
            status_text = raw
        elif field == "legal_basis":
            fields[field] = check_legal_basis(raw, column.name)
        elif field == "list_name":
            fields[field] = raw.strip() or list_name
        else:
            fields[field] = raw.strip() or None
    if file_status is not None:
        fields["status"] = file_status
    elif flags:
        fields["status"] = next(
            (status for index, status in flags if index < width and _yes(row[index])),
            "subscribed",
        )
    elif status_text is not None and status_text.strip():
        status_column = next(c.name for c in columns if c.field == "status")
        known = contact_format.statuses.get(status_text.strip().lower())
        fields["status"] = known or check_status(status_text, status_column)
    else:
        fields["status"] = "subscribed"
    fields["confirmed"] = fields["confirmed"] or fields.get("confirm_time") is not None
    return fields


def _yes(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "y")


def _upsert_sql(dialect: str) -> str:
    mark = "?" if dialect == "sqlite" else "%s"
    updates = []
    for name in _COLUMNS:
        if name in ("address", "list_name", "first_seen_at"):
            continue
        if name in _REPLACED:
            updates.append(f"{name} = excluded.{name}")
        elif name in _FLAGS:
            updates.append(
                f"{name} = CASE WHEN excluded.{name} THEN excluded.{name} ELSE contacts.{name} END"
            )
        else:
            updates.append(f"{name} = COALESCE(excluded.{name}, contacts.{name})")
    return (
        f"INSERT INTO contacts ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_COLUMNS))}) "
        f"ON CONFLICT (list_name, address) DO UPDATE SET {', '.join(updates)}"
    )
