"""Postwarden's own CSV of events (DESIGN.md "Rates and limits").

Header: ``event_id,type,bounce_type,recipient,time,campaign,message_id``
(order free; ``type``, ``recipient`` and ``time`` required; ``reason``,
``url`` and ``machine`` accepted too). ``bounce_type`` is ``hard`` or
``soft`` for bounces and empty otherwise; ``time`` is ISO 8601 with its
zone (``2026-11-01T10:00:00Z``, ``…+01:00``); an empty ``event_id`` is
derived from the other fields, so importing the file again still
deduplicates.

CSV files are the bulk path (millions of rows), so a row is checked and
turned into the values of the ``events`` insert by one function on the raw
list, without building objects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from compliance.events.normalised import EVENT_TYPES, RecordError, derived_id, is_real_day, to_utc
from compliance.rates.providers import provider_of

SOURCE = "csv"
COLUMNS = ("event_id", "type", "bounce_type", "recipient", "time", "campaign", "message_id")
REQUIRED = ("type", "recipient", "time")
OPTIONAL = ("reason", "url", "machine")

_TYPES = frozenset(EVENT_TYPES)
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TIME = re.compile(
    r"(?P<day>\d{4}-\d\d-\d\d)[T ](?P<clock>[01]\d|2[0-3]):(?P<minute>[0-5]\d)"
    r"(?::(?P<second>[0-5]\d)(?:\.(?P<fraction>\d{1,6}))?)?(?P<zone>Z|[+-]\d\d:\d\d)?"
)
_UTC_ZONES = frozenset(("Z", "+00:00", "-00:00"))
_TRUE = frozenset(("1", "true", "yes"))


@dataclass(frozen=True)
class Layout:
    """Where each column is in a file's rows; an absent column points past the row's end."""

    width: int
    event_id: int
    type: int
    bounce_type: int
    recipient: int
    time: int
    campaign: int
    message_id: int
    reason: int
    url: int
    machine: int

    @classmethod
    def from_header(cls, header: Sequence[str]) -> Layout:
        """The layout of ``header``, or RecordError if it lacks or has unknown columns."""
        names = [name.strip() for name in header]
        missing = [name for name in REQUIRED if name not in names]
        if missing:
            raise RecordError(f"header lacks the column(s) {', '.join(missing)}")
        unknown = [name for name in names if name not in COLUMNS + OPTIONAL]
        if unknown:
            raise RecordError(
                f"header has unknown column(s) {', '.join(unknown)}; expected {','.join(COLUMNS)}"
            )
        width = len(names)
        where = {name: position for position, name in enumerate(names)}
        return cls(width, **{name: where.get(name, width) for name in COLUMNS + OPTIONAL})


def row_values(row: list[str], layout: Layout) -> tuple[Any, ...]:
    """Check one row; its values as (event_id, type, bounce_type, recipient,
    provider, UTC time as ``YYYY-MM-DD HH:MM:SS.ffffff``, UTC day as
    ``YYYY-MM-DD``, campaign, message_id, reason, url, machine).

    Written flat on purpose: it runs once per row of files of millions.
    """
    if len(row) != layout.width:
        more = len(row) > layout.width
        raise RecordError(f"{'more' if more else 'fewer'} fields than the header")
    row.append("")  # what an absent optional column reads
    kind = row[layout.type].strip().lower()
    if kind not in _TYPES:
        raise RecordError(f"type {row[layout.type]!r} is not one of {', '.join(EVENT_TYPES)}")
    bounce = row[layout.bounce_type].strip().lower() or None
    if kind == "bounce":
        if bounce not in ("hard", "soft"):
            raise RecordError(
                f"bounce_type {row[layout.bounce_type].strip()!r} is not one of hard, soft"
            )
    elif bounce:
        raise RecordError(f"bounce_type {bounce!r} given for a {kind} event")
    recipient = row[layout.recipient].strip().lower()
    if not _ADDRESS.fullmatch(recipient):
        raise RecordError(f"recipient {row[layout.recipient]!r} is not an e-mail address")
    when = row[layout.time].strip()
    shape = _TIME.fullmatch(when)
    if shape is None:
        raise RecordError(f"time {when!r} is not an ISO 8601 time")
    if shape.group("zone") is None:
        raise RecordError(f"time {when!r} has no time zone")
    day = shape.group("day")
    if shape.group("zone") in _UTC_ZONES and is_real_day(day):
        # Most exports are in UTC already: the stored text is cut from the
        # input, without building a datetime per row.
        stamp = (
            f"{day} {shape.group('clock')}:{shape.group('minute')}:"
            f"{shape.group('second') or '00'}.{(shape.group('fraction') or '').ljust(6, '0')}"
        )
    else:
        try:
            moment = to_utc(datetime.fromisoformat(when.replace("Z", "+00:00")), when, "time")
        except ValueError:
            raise RecordError(f"time {when!r} is not a real date and time") from None
        stamp = moment.replace(tzinfo=None).isoformat(" ", "microseconds")
        day = stamp[:10]
    campaign = row[layout.campaign].strip()
    message_id = row[layout.message_id].strip() or None
    event_id = row[layout.event_id].strip() or derived_id(
        kind, bounce, recipient, when, campaign, message_id
    )
    return (
        event_id,
        kind,
        bounce,
        recipient,
        provider_of(recipient.rpartition("@")[2]),
        stamp,
        day,
        campaign,
        message_id,
        row[layout.reason].strip() or None,
        row[layout.url].strip() or None,
        row[layout.machine].strip().lower() in _TRUE,
    )


def looks_like(record: object) -> bool:
    """CSV is told by the file, not by a record."""
    return False
