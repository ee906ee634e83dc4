"""What a contact row must hold, and the checks of its values.

Every importer turns a row into the same fields (:data:`FIELDS`); times
become UTC text as the database stores it, without building a datetime per
row where the input is already plain (the bulk path of million-row
exports).
"""

from __future__ import annotations

import re
from datetime import datetime

from email_validator import EmailNotValidError, validate_email

from compliance.events.normalised import RecordError, is_real_day, to_utc
from store.contacts import CONTACT_STATUSES, LEGAL_BASES

# The fields of a contact an export can give, in the order of the insert.
FIELDS = (
    "address", "list_name", "status", "legal_basis", "subscribed_at", "opted_in", "optin_time",
    "optin_ip", "confirmed", "confirm_time", "confirm_ip", "consent_source", "consent_version",
    "last_mailed_at", "last_engaged_at", "unsubscribed_at", "bounced_at", "complained_at",
)  # fmt: skip
FLAG_FIELDS = frozenset(("opted_in", "confirmed"))
TIME_FIELDS = frozenset(
    ("subscribed_at", "optin_time", "confirm_time", "last_mailed_at", "last_engaged_at",
     "unsubscribed_at", "bounced_at", "complained_at")
)  # fmt: skip

# Local parts that name a function, not a person: mail to them reaches
# whoever reads the box, consent is rarely theirs to give, and they are
# common spam-trap seeds.
ROLE_LOCAL_PARTS = frozenset(
    ("abuse", "admin", "administrator", "billing", "contact", "enquiries", "help", "hostmaster",
     "info", "marketing", "noc", "no-reply", "noreply", "office", "postmaster", "sales",
     "security", "support", "webmaster")
)  # fmt: skip

# Plain ASCII addresses that email-validator accepts; the rest are judged by it.
_PLAIN_ADDRESS = re.compile(
    r"(?=.{1,64}@)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_SPECIAL_USE = frozenset(("arpa", "invalid", "local", "localhost", "onion", "test", "home", "lan"))

_TIME = re.compile(
    r"(?P<day>\d{4}-\d\d-\d\d)(?:[T ](?P<clock>[01]\d|2[0-3]):(?P<minute>[0-5]\d)"
    r"(?::(?P<second>[0-5]\d)(?:\.(?P<fraction>\d{1,6})\d*)?)?"
    r"\s?(?P<zone>Z|[+-]\d\d:?\d\d)?)?"
)
# The common shape of exports (Mailchimp's): read by slicing, no groups.
_PLAIN_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ?")
_UTC_ZONES = frozenset((None, "Z", "+00:00", "-00:00", "+0000", "-0000"))


def address_of(value: str, field: str) -> str:
    """The address of an export row, trimmed and lower-cased; RecordError if it has no @.

    Anything with an @ is kept: whether it is a valid address is for the
    audit's hygiene findings to say, not a reason to refuse the list.
    """
    text = value.strip().lower()
    if "@" not in text or text.startswith("@") or text.endswith("@"):
        raise RecordError(f"{field} {value.strip()!r} is not an e-mail address")
    return text


def address_problem(address: str) -> str | None:
    """Why an address is not valid (email-validator's words, no DNS), or None if it is."""
    if _PLAIN_ADDRESS.fullmatch(address) and address.rpartition(".")[2] not in _SPECIAL_USE:
        return None
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        return str(error)[:300]
    return None


def is_role(address: str) -> bool:
    """Whether the address's local part names a function (info@, postmaster@, …)."""
    return address.partition("@")[0] in ROLE_LOCAL_PARTS


def stamp_of(value: str, field: str, *, day_first: bool = False) -> str | None:
    """A time of an export as stored UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (None if empty).

    ISO 8601, with or without seconds, fraction and zone; a time without a
    zone is UTC (what Mailchimp, Mailjet and Brevo write); a date alone is
    its midnight UTC. ``day_first`` also takes ``DD-MM-YYYY`` / ``DD/MM/YYYY``.
    """
    text = value.strip()
    if not text:
        return None
    if _PLAIN_TIME.fullmatch(text) and is_real_day(text[:10]):
        return f"{text[:10]} {text[11:19]}.000000"
    if day_first and len(text) >= 10 and text[2] in "-/" and text[5] in "-/":
        text = f"{text[6:10]}-{text[3:5]}-{text[0:2]}{text[10:]}"
    shape = _TIME.fullmatch(text)
    if shape is None:
        raise RecordError(f"{field} {value.strip()!r} is not a date and time")
    day = shape.group("day")
    if shape.group("zone") in _UTC_ZONES and is_real_day(day):
        return (
            f"{day} {shape.group('clock') or '00'}:{shape.group('minute') or '00'}:"
            f"{shape.group('second') or '00'}.{(shape.group('fraction') or '').ljust(6, '0')}"
        )
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" +", "+"))
    except ValueError:
        raise RecordError(f"{field} {value.strip()!r} is not a real date and time") from None
    if moment.tzinfo is not None:
        moment = to_utc(moment, value.strip(), field).replace(tzinfo=None)
    return moment.isoformat(" ", "microseconds")


def check_status(value: str, field: str = "status") -> str:
    """One of the contact statuses, or RecordError."""
    text = value.strip().lower()
    if text not in CONTACT_STATUSES:
        raise RecordError(f"{field} {value.strip()!r} is not one of {', '.join(CONTACT_STATUSES)}")
    return text


def check_legal_basis(value: str, field: str = "legal_basis") -> str | None:
    """One of the legal bases, None if empty, or RecordError."""
    text = value.strip().lower().replace(" ", "_").replace("-", "_")
    if not text:
        return None
    if text not in LEGAL_BASES:
        raise RecordError(f"{field} {value.strip()!r} is not one of {', '.join(LEGAL_BASES)}")
    return text


def check_flag(value: str, field: str) -> bool:
    """A yes/no column: true, yes, 1, y / false, no, 0, n, empty."""
    text = value.strip().lower()
    if text in ("1", "true", "yes", "y"):
        return True
    if text in ("", "0", "false", "no", "n"):
        return False
    raise RecordError(f"{field} {value.strip()!r} is not yes or no")
