"""Postwarden's own CSV of events (DESIGN.md "Rates and limits").

Header: ``event_id,type,bounce_type,recipient,time,campaign,message_id``
(order free; ``type``, ``recipient`` and ``time`` required; ``reason``,
``url`` and ``machine`` accepted too). ``bounce_type`` is ``hard`` or
``soft`` for bounces and empty otherwise; ``time`` is ISO 8601 with its
zone; an empty ``event_id`` is derived from the other fields, so importing
the file again still deduplicates.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from compliance.events import (
    BOUNCE_TYPES,
    DeliveryEvent,
    RecordError,
    check_type,
    derived_id,
    normalise_recipient,
    parse_time,
)

SOURCE = "csv"
COLUMNS = ("event_id", "type", "bounce_type", "recipient", "time", "campaign", "message_id")
REQUIRED = ("type", "recipient", "time")
OPTIONAL = ("reason", "url", "machine")


def check_header(header: Sequence[str]) -> None:
    """RecordError unless the header has the required columns and no unknown one."""
    names = [name.strip() for name in header]
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise RecordError(f"header lacks the column(s) {', '.join(missing)}")
    unknown = [name for name in names if name not in COLUMNS + OPTIONAL]
    if unknown:
        raise RecordError(
            f"header has unknown column(s) {', '.join(unknown)}; expected {','.join(COLUMNS)}"
        )


def parse_row(row: Mapping[str, str | None]) -> Iterator[DeliveryEvent]:
    """The event of one CSV row."""
    kind = check_type(row.get("type"))
    bounce = (row.get("bounce_type") or "").strip().lower() or None
    if kind == "bounce" and bounce not in BOUNCE_TYPES:
        raise RecordError(f"bounce_type {row.get('bounce_type')!r} is not one of hard, soft")
    if kind != "bounce" and bounce:
        raise RecordError(f"bounce_type {bounce!r} given for a {kind} event")
    recipient = normalise_recipient(row.get("recipient"))
    time = parse_time(row.get("time"))
    campaign = (row.get("campaign") or "").strip()
    message_id = (row.get("message_id") or "").strip() or None
    machine = (row.get("machine") or "").strip().lower() in ("1", "true", "yes")
    event_id = (row.get("event_id") or "").strip() or derived_id(
        kind, bounce, recipient, time.isoformat(), campaign, message_id
    )
    yield DeliveryEvent(
        source=SOURCE,
        event_id=event_id,
        type=kind,
        recipient=recipient,
        time=time,
        bounce_type=bounce,
        campaign=campaign,
        message_id=message_id,
        reason=(row.get("reason") or "").strip() or None,
        url=(row.get("url") or "").strip() or None,
        machine=machine,
    )
