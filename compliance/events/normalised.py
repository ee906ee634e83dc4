"""The normalised delivery event every format is turned into, and what may be wrong with a record.

Formats (``compliance.events.formats``) turn one record of an ESP's payload
into zero or more :class:`DeliveryEvent` (an SES bounce names several
recipients) and :class:`Ignored` markers for event types Postwarden does not
count (deferrals, drops); a record that cannot be read raises
:class:`RecordError` naming the field.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from checks.errors import BadInput

EVENT_TYPES = ("sent", "delivered", "bounce", "complaint", "unsubscribe", "open", "click")
BOUNCE_TYPES = ("hard", "soft")


class RecordError(BadInput):
    """A record that cannot be read; the message names the field and its value."""


@dataclass(frozen=True, slots=True)
class DeliveryEvent:
    """One event of one message to one recipient."""

    source: str
    event_id: str
    type: str
    recipient: str
    time: datetime
    bounce_type: str | None = None
    campaign: str = ""
    message_id: str | None = None
    reason: str | None = None
    url: str | None = None
    machine: bool = False
    # The mailbox provider, where the recipient cannot say it (a complaint whose
    # recipient the provider redacted); None: derived from the recipient's domain.
    provider: str | None = None


@dataclass(frozen=True, slots=True)
class Ignored:
    """An event of a type that does not count (a deferral, a drop, …), by its ESP's name."""

    type: str


# One @, something before it, a dot in the domain, no spaces: what every
# address Postwarden stores must look like (not a full RFC 5321 parser).
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normalise_recipient(value: object, field: str = "recipient") -> str:
    """A lower-cased address, or RecordError."""
    text = str(value or "").strip().lower()
    if not _ADDRESS.fullmatch(text):
        raise RecordError(f"{field} {value!r} is not an e-mail address")
    return text


def parse_time(value: object, field: str = "time") -> datetime:
    """An ISO 8601 time with its zone, or Unix seconds, as an aware UTC datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_unix(float(value), value, field)
    text = str(value or "").strip()
    digits = text.replace(".", "", 1)
    if digits.isascii() and digits.isdigit():  # isdigit() alone takes '¹', which float() refuses
        return _from_unix(float(text), value, field)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"{field} {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise RecordError(f"{field} {value!r} has no time zone")
    return to_utc(moment, value, field)


def _from_unix(seconds: float, value: object, field: str) -> datetime:
    # NaN, infinities and times past year 9999 (milliseconds sent as
    # seconds) are not times: the platform raises ValueError, OverflowError
    # or OSError for them.
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        raise RecordError(f"{field} {value!r} is not a Unix time in seconds") from None


def to_utc(moment: datetime, value: object, field: str) -> datetime:
    """An aware ``moment`` in UTC, or RecordError when that falls outside years 1-9999."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise RecordError(f"{field} {value!r} is out of the range of dates") from None


@functools.cache
def is_real_day(day: str) -> bool:
    """Whether ``YYYY-MM-DD`` is a date of the calendar (cached: files have few days)."""
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return True


def derived_id(*parts: object) -> str:
    """A stable id from what identifies an event, for sources that send none.

    Re-importing the same record gives the same id, so it still deduplicates.
    """
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return f"derived:{digest[:40]}"


def check_type(value: object) -> str:
    """One of EVENT_TYPES, or RecordError."""
    text = str(value or "").strip().lower()
    if text not in EVENT_TYPES:
        raise RecordError(f"type {value!r} is not one of {', '.join(EVENT_TYPES)}")
    return text
