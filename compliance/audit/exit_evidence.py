"""Per-person evidence behind the "mailed after …" rules: the exit (when, how) and each
mailing after it (campaign, time, days late).

Asked for the offenders a page or report appendix lists, or for every offender of the
rule (a CSV), never per contact: two statements, whatever the number (the first binding
exit of each contact, found through the events' partial index of exits; then those
contacts' mailings in one pass over the events, kept when past the deadline, the first
per campaign and day). The exit is the one the rule judges by: the
first that still binds (no new opt-in at or after it), from the list export or an event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text, tuple_
from sqlalchemy.orm import Session

from compliance.audit.rules import (
    EXITS,
    activity,
    conditions,
    end_of,
    joined_contacts,
)
from compliance.audit.thresholds import Thresholds
from store.contacts import Contact
from store.events import EXIT_EVENTS, Event, EventDay
from store.timestamps import as_utc

# rule -> (kind of exit, the export's column for it, what the export calls it)
EXIT_RULES: dict[str, tuple[str, str, str]] = {
    "mailed_after_unsubscribe": ("unsubscribe", "unsubscribed_at", "unsubscribed"),
    "mailed_after_hard_bounce": ("hard_bounce", "bounced_at", "hard bounce"),
    "mailed_after_complaint": ("complaint", "complained_at", "spam complaint"),
}
EVENT_WORDS = {"unsubscribe": "unsubscribe", "hard_bounce": "hard bounce", "complaint": "complaint"}
# Columns an offenders CSV adds after OFFENDER_COLUMNS (whose names stay as they are).
EVIDENCE_COLUMNS = ("exit_at", "exit_how", "mailings_after")
# A message delivered or bounced was mailed, as the rules count it.
MAILING_TYPES = ("sent", "delivered", "bounce")

Key = tuple[str, str]  # (list_name, address)


@dataclass(frozen=True)
class Mailing:
    """One mailing after the exit: a campaign on a day (its first event), or the export's
    "last mailed" time when no event shows it (``campaign`` None)."""

    campaign: str | None
    at: datetime
    days_late: float  # days past the deadline (the exit plus the grace period)


@dataclass(frozen=True)
class ExitEvidence:
    """When and how a contact left, the deadline for the last mailing, and what came after."""

    exit_at: datetime
    how: str
    deadline: datetime
    mailings: tuple[Mailing, ...]


def _earliest(first: Any, second: Any) -> Any:
    """The earlier of two nullable times (NULL only if both are)."""
    return case(
        (first.is_(None), second),
        (second.is_(None), first),
        (second < first, second),
        else_=first,
    )


def exit_evidence(
    session: Session,
    rule: str,
    as_of: date,
    keys: Iterable[Key] | None,
    thresholds: Thresholds | None = None,
) -> dict[Key, ExitEvidence]:
    """The evidence for the listed contacts of an exit rule, by (list, address); with
    ``keys`` None, for every contact the rule flags (one pass over the events, for a CSV:
    batches of listed contacts would each read the events again).

    Contacts without a binding exit as of ``as_of`` are left out.
    """
    kind, column, export_word = EXIT_RULES[rule]
    thresholds = thresholds or Thresholds()
    grace = thresholds.unsubscribe_grace_days if kind == "unsubscribe" else 0
    dialect = session.get_bind().dialect.name
    c = Contact
    end = end_of(as_of)
    joined = func.coalesce(c.confirm_time, c.optin_time, c.subscribed_at)
    rejoined = case((joined < end, joined))

    def binds(moment: Any) -> Any:
        return or_(rejoined.is_(None), moment >= rejoined)

    def first_event(field: Any) -> Any:
        return (
            select(field)
            .where(Event.recipient == c.address, text(EXIT_EVENTS), EXITS[kind])
            .where(Event.time < end, binds(Event.time))
            .order_by(Event.time, Event.id)
            .limit(1)
            .correlate(c)
            .scalar_subquery()
        )

    exported = getattr(c, column)
    listed = select(
        c.list_name,
        c.address,
        c.status,
        case((and_(exported < end, binds(exported)), exported)).label("exported_at"),
        first_event(Event.time).label("event_at"),
        first_event(Event.source).label("source"),
        first_event(Event.campaign).label("campaign"),
        first_event(Event.reason).label("reason"),
        case((c.last_mailed_at < end, c.last_mailed_at)).label("export_mailed"),
    )
    if keys is None:
        act = activity(as_of, session.scalar(select(func.max(EventDay.day))))
        flagged = conditions(act, as_of, thresholds, dialect)[rule]
        selected = listed.select_from(joined_contacts(act)).where(flagged)
        recipients: Any = select(c.address).select_from(joined_contacts(act)).where(flagged)
    else:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        selected = listed.where(tuple_(c.list_name, c.address).in_(wanted))
        recipients = sorted({address for _, address in wanted})
    exits: dict[Key, tuple[datetime, str, datetime | None]] = {}
    lists_of: dict[str, list[Key]] = {}
    for row in session.execute(selected):
        exported_at = as_utc(row.exported_at) if row.exported_at else None
        event_at = as_utc(row.event_at) if row.event_at else None
        if event_at is not None and (exported_at is None or event_at <= exported_at):
            left, how = event_at, _event_how(kind, row.source, row.campaign, row.reason)
        elif exported_at is not None:
            left, how = exported_at, f"list export: {export_word} (status {row.status})"
        else:
            continue
        key = (row.list_name, row.address)
        exits[key] = (left, how, as_utc(row.export_mailed) if row.export_mailed else None)
        lists_of.setdefault(row.address, []).append(key)
    # The mailings of these recipients, one pass over the events (an IN over a subquery
    # or a short list: a join to the exits made SQLite loop over the contacts per event).
    mailings = session.execute(
        select(Event.recipient, Event.campaign, Event.day, Event.time)
        .where(Event.type.in_(MAILING_TYPES), Event.time < end)
        .where(Event.recipient.in_(recipients))
    )
    first: dict[tuple[Key, str, date], datetime] = {}
    for recipient, campaign, day, stored in mailings:
        at = as_utc(stored)
        for key in lists_of.get(recipient, ()):
            # Past the deadline to the second, as the rule compares (_days_after).
            if at > exits[key][0] + timedelta(days=grace) and (
                (key, campaign, day) not in first or at < first[(key, campaign, day)]
            ):
                first[(key, campaign, day)] = at
    after: dict[Key, list[tuple[str | None, datetime]]] = {}
    for (key, campaign, _), at in first.items():
        after.setdefault(key, []).append((campaign, at))
    evidence: dict[Key, ExitEvidence] = {}
    for key, (left, how, export_mailed) in exits.items():
        deadline = left + timedelta(days=grace)
        found = after.get(key, [])
        if export_mailed and export_mailed > deadline and all(a != export_mailed for _, a in found):
            # The export says it was mailed then, and no imported event shows that mailing.
            found.append((None, export_mailed))
        evidence[key] = ExitEvidence(
            exit_at=left,
            how=how,
            deadline=deadline,
            mailings=tuple(
                Mailing(campaign, at, round((at - deadline).total_seconds() / 86400, 1))
                for campaign, at in sorted(found, key=lambda item: item[1])
            ),
        )
    return evidence


def _event_how(kind: str, source: str, campaign: str | None, reason: str | None) -> str:
    """``unsubscribe reported by ses (campaign october-news)``."""
    words = f"{EVENT_WORDS[kind]} reported by {source}"
    if campaign:
        words += f" (campaign {campaign})"
    if reason:
        words += f": {reason}"
    return words


def mailings_text(mailings: Sequence[Mailing]) -> str:
    """The mailings as one CSV cell: ``2026-11-23T09:00:00+00:00 black-friday (4.6 days late)``."""
    return "; ".join(
        f"{m.at.isoformat()} {campaign_name(m)} ({m.days_late} days late)" for m in mailings
    )


def campaign_name(mailing: Mailing) -> str:
    """The mailing's campaign, or where its time came from when no event shows it."""
    return mailing.campaign if mailing.campaign is not None else "(list export: last mailed)"
