"""Right to erasure and the retention purge: personal data goes, a salted hash stays.

Erasing an address deletes its contacts on every list and its activity
row, replaces it in stored events by an opaque token (the same for all
events of the address, so campaign figures still count people once), and
puts its salted hash on the suppression list, so no later import stores
it again. Nothing else is deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from compliance.audit.rules import activity, conditions, joined_contacts
from compliance.audit.thresholds import Thresholds
from compliance.contacts.suppression import address_hash, salt, suppressed_hashes
from store.contacts import Contact, RecipientActivity, Suppression
from store.events import EventDay


def erase(session: Session, addresses: Iterable[str], reason: str, now: datetime) -> int:
    """Erase every contact of ``addresses``; the number of contact rows deleted."""
    key = salt(session)
    tokens = {
        address.strip().lower(): address_hash(key, address) for address in addresses if address
    }
    if not tokens:
        return 0
    deleted = 0
    names = list(tokens)
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        result = session.execute(delete(Contact).where(Contact.address.in_(chunk)))
        deleted += result.rowcount  # type: ignore[attr-defined]
        session.execute(delete(RecipientActivity).where(RecipientActivity.address.in_(chunk)))
    _scrub_events(session, tokens)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(Suppression).on_conflict_do_nothing(index_elements=["address_hash"]),
        [{"address_hash": h, "reason": reason, "created_at": now} for h in tokens.values()],
    )
    session.flush()
    return deleted


def forget_suppressed(session: Session, addresses: Iterable[str]) -> int:
    """Anonymise, in events just imported, the addresses that were erased before.

    Called by the event import with the recipients it stored: an erased
    address that comes back in a webhook or an export is not kept. The
    number of addresses anonymised.
    """
    suppressed = suppressed_hashes(session)
    if not suppressed:
        return 0
    key = salt(session)
    tokens = {a: h for a in addresses if (h := address_hash(key, a)) in suppressed}
    if tokens:
        _scrub_events(session, tokens, ("events",))
        names = list(tokens)
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            session.execute(delete(RecipientActivity).where(RecipientActivity.address.in_(chunk)))
    return len(tokens)


def _token(address_hash: str) -> str:
    return f"erased:{address_hash[:24]}"


def anonymiser(session: Session) -> Callable[[str], str]:
    """A function giving an address, or its erasure token if the address was erased.

    Importers of other tables than the events call it on every address
    before storing it, so an erased address is never written at all.
    """
    suppressed = suppressed_hashes(session)
    if not suppressed:
        return lambda address: address
    key = salt(session)

    def anonymise(address: str) -> str:
        digest = address_hash(key, address)
        return _token(digest) if digest in suppressed else address

    return anonymise


# Where addresses are kept beside the contacts: table -> its address column.
_ADDRESS_COLUMNS = {"events": "recipient", "conversions": "email", "touchpoints": "email"}


def _scrub_events(
    session: Session, tokens: dict[str, str], tables: Iterable[str] = tuple(_ADDRESS_COLUMNS)
) -> None:
    """Replace the addresses in events (conversions, touchpoints) by their tokens, one pass each.

    The events have no index on the recipient (it would slow every
    import), so the addresses go to a temporary table the update joins.
    The token is the same in every table, so an erased person's
    conversions are still attributed to the mail they clicked.
    """
    connection = session.connection()
    connection.execute(text("DROP TABLE IF EXISTS erase_map"))
    connection.execute(
        text("CREATE TEMPORARY TABLE erase_map (address VARCHAR(320) PRIMARY KEY, token TEXT)")
    )
    connection.execute(
        text("INSERT INTO erase_map (address, token) VALUES (:address, :token)"),
        [{"address": a, "token": _token(h)} for a, h in tokens.items()],
    )
    for table in tables:
        column = _ADDRESS_COLUMNS[table]
        connection.execute(
            text(
                f"UPDATE {table} SET {column} = (SELECT token FROM erase_map "
                f"WHERE erase_map.address = {table}.{column}) "
                f"WHERE {column} IN (SELECT address FROM erase_map)"
            )
        )
    connection.execute(text("DROP TABLE erase_map"))


def purge_retention(
    session: Session, as_of: date, now: datetime, thresholds: Thresholds | None = None
) -> int:
    """Erase contacts past the retention period; the number of contact rows removed.

    A contact kept elsewhere on another list (still subscribed there) only
    loses the expired row: the person is not erased from the other list.
    """
    thresholds = thresholds or Thresholds()
    act = activity(as_of, session.scalar(select(func.max(EventDay.day))))
    rule = conditions(act, as_of, thresholds, session.get_bind().dialect.name)
    expired = session.execute(
        select(Contact.id, Contact.address)
        .select_from(joined_contacts(act))
        .where(rule["retention_exceeded"])
    ).all()
    if not expired:
        return 0
    ids = [row.id for row in expired]
    for start in range(0, len(ids), 500):
        session.execute(delete(Contact).where(Contact.id.in_(ids[start : start + 500])))
    addresses = sorted({row.address for row in expired})
    still_kept: set[str] = set()
    for start in range(0, len(addresses), 500):
        chunk = addresses[start : start + 500]
        still_kept.update(
            session.scalars(select(Contact.address).where(Contact.address.in_(chunk)))
        )
    erase(session, [a for a in addresses if a not in still_kept], "retention", now)
    return len(ids)


def retention_purges(
    session: Session, start: datetime | None = None, end: datetime | None = None
) -> list[tuple[datetime, int]]:
    """The retention purges that erased anyone, oldest first: when, and how many people
    (one suppression per erased address; a purge's erasures share its time)."""
    query = (
        select(Suppression.created_at, func.count())
        .where(Suppression.reason == "retention")
        .group_by(Suppression.created_at)
        .order_by(Suppression.created_at)
    )
    if start is not None:
        query = query.where(Suppression.created_at >= start)
    if end is not None:
        query = query.where(Suppression.created_at < end)
    return [(at, int(count)) for at, count in session.execute(query).all()]
