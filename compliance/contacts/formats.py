"""Contact exports by source: which column holds which field, and what the file says of status.

A format is data: for each field of :data:`compliance.contacts.fields.FIELDS`
the column names it may have (matched without regard to case), and how
the status is known — from a column, or from which export file it is
(Mailchimp writes subscribed, unsubscribed and cleaned members to separate
files, told apart by their extra columns).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from compliance.contacts.fields import FIELDS
from store.contacts import CONTACT_STATUSES


@dataclass(frozen=True)
class ContactFormat:
    """How one source's export reads."""

    name: str
    # field -> column names it may have, first match wins
    columns: Mapping[str, tuple[str, ...]]
    # The status of every row of a file with this header, when it is fixed
    # by the file; None: read the status column through ``statuses``.
    file_status: Callable[[set[str]], str | None] = lambda header: None
    # The source's words for a status -> ours.
    statuses: Mapping[str, str] = field(default_factory=dict)
    # Whether a header is this source's.
    looks_like: Callable[[set[str]], bool] = lambda header: False
    # Flag columns whose "yes" sets a status (Mailjet's IsUnsubscribed, …), strongest first.
    status_flags: tuple[tuple[str, str], ...] = ()
    day_first: bool = False
    delimiter: str = ","


def _mailchimp_status(header: set[str]) -> str:
    if "unsub_time" in header:
        return "unsubscribed"
    if "clean_time" in header:  # cleaned: addresses Mailchimp removed after hard bounces
        return "bounced"
    return "subscribed"


MAILCHIMP = ContactFormat(
    name="mailchimp",
    columns={
        "address": ("Email Address",),
        "optin_time": ("OPTIN_TIME",),
        "optin_ip": ("OPTIN_IP",),
        "confirm_time": ("CONFIRM_TIME",),
        "confirm_ip": ("CONFIRM_IP",),
        "unsubscribed_at": ("UNSUB_TIME",),
        "bounced_at": ("CLEAN_TIME",),
    },
    file_status=_mailchimp_status,
    # 'YYYY-MM-DD HH:MM:SS' without a zone: read as UTC.
    looks_like=lambda header: "email address" in header and "optin_time" in header,
)

# Brevo's contact export: ';'-separated, dates DD-MM-YYYY, opt-in as Yes/No
# flags without times (see tests/fixtures/contacts/SOURCES.md). It names no
# blocklisted status column that could be confirmed, so rows are subscribed.
BREVO = ContactFormat(
    name="brevo",
    columns={
        "address": ("EMAIL",),
        "opted_in": ("OPT_IN",),
        "confirmed": ("DOUBLE_OPT-IN",),
        "subscribed_at": ("ADDED_TIME",),
    },
    file_status=lambda header: "subscribed",
    looks_like=lambda header: "email" in header and "double_opt-in" in header,
    day_first=True,
    delimiter=";",
)

# Mailjet: the fields of its contact and list-recipient API (Email,
# SubscribedAt, IsUnsubscribed, IsSpamComplaining, IsExcludedFromCampaigns,
# …). The app's CSV export layout is not published; this reads exports
# that use those names.
MAILJET = ContactFormat(
    name="mailjet",
    columns={
        "address": ("Email",),
        "subscribed_at": ("SubscribedAt", "CreatedAt"),
        "unsubscribed_at": ("UnsubscribedAt",),
        "last_engaged_at": ("LastActivityAt",),
        "list_name": ("ListName",),
    },
    file_status=lambda header: None,
    status_flags=(
        ("IsSpamComplaining", "complained"),
        ("IsUnsubscribed", "unsubscribed"),
        # Excluded from campaigns: no longer to be mailed, whatever the reason.
        ("IsExcludedFromCampaigns", "unsubscribed"),
    ),
    looks_like=lambda header: "email" in header and "isunsubscribed" in header,
)

# The generic CSV: Postwarden's own field names (``email`` for the address).
GENERIC = ContactFormat(
    name="generic",
    columns={name: (name,) for name in FIELDS} | {"address": ("email", "address")},
    statuses={name: name for name in CONTACT_STATUSES},
    looks_like=lambda header: "email" in header,
)

FORMATS: dict[str, ContactFormat] = {f.name: f for f in (MAILCHIMP, BREVO, MAILJET, GENERIC)}


def detect(header: Sequence[str]) -> ContactFormat | None:
    """The format whose header this is (generic last), or None."""
    names = {name.strip().lower() for name in header}
    for contact_format in FORMATS.values():
        if contact_format.looks_like(names):
            return contact_format
    return None
