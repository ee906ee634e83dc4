"""Tables of the list audit: contacts with their consent evidence, what events say of each
recipient, the suppression list of erased addresses, imports and audit runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base

_ROW_ID = BigInteger().with_variant(Integer, "sqlite")
_TIME = DateTime(timezone=True)

CONTACT_STATUSES = ("subscribed", "unsubscribed", "bounced", "complained")
LEGAL_BASES = ("consent", "customer", "legitimate_interest")


class Contact(Base):
    """One address on one list, with why it may be mailed and what became of it.

    Erasure deletes the row (a salted hash goes to ``suppressions``): nothing
    personal of an erased contact stays here.
    """

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("list_name", "address", name="uq_contacts_list_address"),)

    id: Mapped[int] = mapped_column(_ROW_ID, primary_key=True)
    list_name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(320))
    # The part after @, so hygiene checks group by domain in SQL.
    domain: Mapped[str] = mapped_column(String(255))
    # Why the address is not valid (email-validator, no DNS), judged at import.
    address_problem: Mapped[str | None] = mapped_column(String(300))
    # info@, postmaster@, …: a function, not a person.
    role_account: Mapped[bool] = mapped_column(default=False, server_default=false())
    # subscribed | unsubscribed | bounced | complained
    status: Mapped[str] = mapped_column(String(16))
    # consent | customer | legitimate_interest; None reads as consent claimed.
    legal_basis: Mapped[str | None] = mapped_column(String(32))
    # When the contact joined the list, as the export says (Brevo's ADDED_TIME).
    subscribed_at: Mapped[datetime | None] = mapped_column(_TIME)
    # Opt-in asserted by the export without a time (Brevo's OPT_IN).
    opted_in: Mapped[bool] = mapped_column(default=False, server_default=false())
    optin_time: Mapped[datetime | None] = mapped_column(_TIME)
    optin_ip: Mapped[str | None] = mapped_column(String(45))
    # Double opt-in asserted by the export (Brevo says so without a time).
    confirmed: Mapped[bool] = mapped_column(default=False, server_default=false())
    confirm_time: Mapped[datetime | None] = mapped_column(_TIME)
    confirm_ip: Mapped[str | None] = mapped_column(String(45))
    consent_source: Mapped[str | None] = mapped_column(String(500))
    consent_version: Mapped[str | None] = mapped_column(String(100))
    last_mailed_at: Mapped[datetime | None] = mapped_column(_TIME)
    last_engaged_at: Mapped[datetime | None] = mapped_column(_TIME)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(_TIME)
    bounced_at: Mapped[datetime | None] = mapped_column(_TIME)
    complained_at: Mapped[datetime | None] = mapped_column(_TIME)
    # When Postwarden first stored this contact: the least it has kept the data.
    first_seen_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class RecipientActivity(Base):
    """The latest of each kind of event per recipient, and the first of each kind of exit,
    kept up to date at event import.

    The audit joins contacts to this table instead of scanning the events. The
    first exit beside the latest is what "mailed after …" needs: any mailing after
    the first exit that still binds, not only after the latest.
    """

    __tablename__ = "recipient_activity"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    last_sent: Mapped[datetime | None] = mapped_column(_TIME)
    last_engaged: Mapped[datetime | None] = mapped_column(_TIME)
    last_unsubscribe: Mapped[datetime | None] = mapped_column(_TIME)
    last_hard_bounce: Mapped[datetime | None] = mapped_column(_TIME)
    last_complaint: Mapped[datetime | None] = mapped_column(_TIME)
    first_unsubscribe: Mapped[datetime | None] = mapped_column(_TIME)
    first_hard_bounce: Mapped[datetime | None] = mapped_column(_TIME)
    first_complaint: Mapped[datetime | None] = mapped_column(_TIME)


ACTIVITY_COLUMNS = (
    "last_sent",
    "last_engaged",
    "last_unsubscribe",
    "last_hard_bounce",
    "last_complaint",
)
FIRST_EXIT_COLUMNS = ("first_unsubscribe", "first_hard_bounce", "first_complaint")


class Suppression(Base):
    """An erased address, kept only as a salted hash so it is never stored or mailed again."""

    __tablename__ = "suppressions"

    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # erased (on request) | retention (purged past the retention period)
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(_TIME)


class InstallationSecret(Base):
    """Secrets generated once per database (the salt of the suppression hashes)."""

    __tablename__ = "installation_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class ContactImport(Base):
    """One contact file, and what it brought."""

    __tablename__ = "contact_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(500))
    list_name: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(_TIME)
    finished_at: Mapped[datetime | None] = mapped_column(_TIME)
    rows: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    suppressed: Mapped[int] = mapped_column(default=0)


class AuditRun(Base):
    """One list audit: its date, status and counts per rule (no addresses: they may be erased)."""

    __tablename__ = "audit_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    ran_at: Mapped[datetime] = mapped_column(_TIME)
    status: Mapped[str] = mapped_column(String(8))
    contacts: Mapped[int] = mapped_column(_ROW_ID)
    subscribed: Mapped[int] = mapped_column(_ROW_ID)
    # {rule: {"status": …, "count": …}} and hygiene {code: count}
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    hygiene: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
