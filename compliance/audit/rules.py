"""The list-compliance rules as SQL conditions over contacts joined to recipient activity.

Each rule is one boolean SQL expression; the audit counts them all in one
pass over the contacts and lists offenders with the same expression, so
the count and the list can never disagree. Times come from two places:
what the export said of a contact, and what imported events say of the
address; the later of the two wins. Day thresholds are calendar days:
"longer than 90 days" as of 30 Nov flags a time before 1 Sep.

"Mailed after …" is about *any* mailing after an exit that still binds, not
the latest mailing against the latest exit (see :func:`mailed_after_exit`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, text, true
from sqlalchemy.sql import Subquery

from checks.findings import Status
from compliance.audit.thresholds import Thresholds
from store.contacts import Contact, RecipientActivity
from store.events import EXIT_EVENTS, Event

# rule -> (level, what it flags), as DESIGN.md "Compliance rules".
RULES: dict[str, tuple[Status, str]] = {
    "consent_missing": ("fail", "subscribed, with no consent record and no other legal basis"),
    "optin_unconfirmed": ("fail", "subscribed, opt-in never confirmed (single opt-in)"),
    "optin_evidence_incomplete": (
        "warn",
        "confirmed, but confirmation time or IP missing, or confirmation before the request",
    ),
    "consent_stale": ("fail", "subscribed, consent unused (not mailed, given or confirmed)"),
    "dormant": ("warn", "subscribed, not mailed (or, if never mailed, subscribed)"),
    "inactive": ("warn", "subscribed, no open or click (or, if none, no subscription)"),
    "mailed_after_unsubscribe": ("fail", "mailed after unsubscribing, past the grace period"),
    "mailed_after_hard_bounce": ("fail", "mailed after a hard bounce"),
    "mailed_after_complaint": ("fail", "mailed after a spam complaint"),
    "retention_exceeded": ("fail", "left the list, personal data kept past the retention period"),
}


def end_of(as_of: date) -> datetime:
    """The first instant after the as-of day (UTC): the audit's clock."""
    return datetime.combine(as_of + timedelta(days=1), time(), UTC)


# The events that are an exit of each kind.
EXITS = {
    "unsubscribe": Event.type == "unsubscribe",
    "hard_bounce": (Event.type == "bounce") & (Event.bounce_type == "hard"),
    "complaint": Event.type == "complaint",
}


def activity_maxima() -> list[Any]:
    """Per recipient (in a ``GROUP BY recipient`` over events), the latest time of each
    kind of activity, labelled as the columns of ``recipient_activity``.

    A message delivered or bounced was mailed, whether or not the ESP also
    reported it sent; machine opens are not engagement.
    """
    latest = {
        "last_sent": Event.type.in_(("sent", "delivered", "bounce")),
        "last_engaged": Event.type.in_(("open", "click")) & ~Event.machine,
        **{f"last_{kind}": condition for kind, condition in EXITS.items()},
    }
    return [func.max(case((condition, Event.time))).label(n) for n, condition in latest.items()]


def exit_minima() -> list[Any]:
    """Per recipient (in the same ``GROUP BY``), the first time of each kind of exit,
    labelled as the ``first_*`` columns of ``recipient_activity``."""
    return [
        func.min(case((condition, Event.time))).label(f"first_{kind}")
        for kind, condition in EXITS.items()
    ]


def activity(as_of: date, latest_event_day: date | None) -> Any:
    """Per-address latest activity as of the end of ``as_of``.

    The table kept at import holds the latest of every event; it answers
    for ``as_of`` when no event is later. For an earlier ``as_of`` the same
    figures are computed from the events before it, so an audit of a past
    date does not change when newer events arrive.
    """
    if latest_event_day is None or latest_event_day <= as_of:
        return RecipientActivity.__table__
    return (
        select(Event.recipient.label("address"), *activity_maxima(), *exit_minima())
        .where(Event.time < end_of(as_of))
        .group_by(Event.recipient)
        .subquery("activity")
    )


def _latest(*values: Any) -> Any:
    """The latest of nullable times (NULL only if all are)."""
    result = values[0]
    for value in values[1:]:
        result = case(
            (result.is_(None), value),
            (value.is_(None), result),
            (value > result, value),
            else_=result,
        )
    return result


def _days_after(later: Any, earlier: Any, days: int, dialect: str) -> ColumnElement[bool]:
    """``later`` is more than ``days`` days after ``earlier`` (exact to the second)."""
    if days == 0:
        return later > earlier  # type: ignore[no-any-return]
    if dialect == "sqlite":
        return func.julianday(later) - func.julianday(earlier) > days
    return later > earlier + func.make_interval(0, 0, 0, days)  # type: ignore[no-any-return]


def mailed_after_exit(
    act: Any, kind: str, exported: Any, as_of: date, grace_days: int, dialect: str
) -> ColumnElement[bool]:
    """Whether any mailing came more than ``grace_days`` after an exit of ``kind`` that
    still binds, as of the end of ``as_of``.

    An exit (the export's time ``exported``, or an event) binds unless the
    contact joined again with a new opt-in at or after it: ``confirm_time``,
    else ``optin_time``, else ``subscribed_at``, whatever the contact's status
    now. A join after the as-of day had not happened then and releases
    nothing; exports' times after it are not yet known. Any mailing after a
    binding exit is a mailing after the *first* binding exit, so the rule needs
    that first exit and the latest mailing only. The rollup keeps each
    address's first and latest exit; when the join falls between them, and the
    latest mailing alone does not decide, the first event exit at or after the
    join is looked up in the events' partial index of exits (rare: an address
    that left, rejoined and left again).
    """
    c = Contact
    end = end_of(as_of)
    joined = func.coalesce(c.confirm_time, c.optin_time, c.subscribed_at)
    rejoined = case((joined < end, joined))
    mailed = _latest(case((c.last_mailed_at < end, c.last_mailed_at)), act.c.last_sent)
    exported = case((exported < end, exported))
    first, latest = act.c[f"first_{kind}"], act.c[f"last_{kind}"]

    def after(moment: Any) -> ColumnElement[bool]:
        return _days_after(mailed, moment, grace_days, dialect)

    def binds(moment: Any) -> ColumnElement[bool]:
        return or_(rejoined.is_(None), moment >= rejoined)

    first_after_join = (
        select(func.min(Event.time))
        .where(Event.recipient == c.address, text(EXIT_EVENTS), EXITS[kind])
        .where(Event.time >= rejoined, Event.time < end)
        .correlate(c)
        .scalar_subquery()
    )
    from_events = case(
        (or_(first.is_(None), mailed.is_(None)), false()),
        (binds(first), after(first)),
        (latest < rejoined, false()),
        (after(latest), true()),
        (~after(rejoined), false()),
        else_=after(first_after_join),
    )
    return or_(and_(exported.is_not(None), binds(exported), after(exported)), from_events)


def conditions(
    act: Subquery | Any, as_of: date, thresholds: Thresholds, dialect: str
) -> dict[str, ColumnElement[bool]]:
    """Each rule's condition over ``contacts`` joined (left) to ``act`` on the address."""
    c = Contact
    mailed = _latest(c.last_mailed_at, act.c.last_sent)
    engaged = _latest(c.last_engaged_at, act.c.last_engaged)
    unsubscribed = _latest(c.unsubscribed_at, act.c.last_unsubscribe)
    hard_bounced = _latest(c.bounced_at, act.c.last_hard_bounce)
    complained = _latest(c.complained_at, act.c.last_complaint)
    joined = func.coalesce(c.confirm_time, c.optin_time, c.subscribed_at)
    subscribed = c.status == "subscribed"
    consent_basis = or_(c.legal_basis.is_(None), c.legal_basis == "consent")
    has_record = or_(c.optin_time.is_not(None), c.opted_in == true(), c.confirmed == true())

    def before(days: int) -> datetime:
        return datetime.combine(as_of - timedelta(days=days), time(), UTC)

    left = func.coalesce(_latest(unsubscribed, hard_bounced, complained), c.first_seen_at)
    return {
        "consent_missing": and_(subscribed, consent_basis, ~has_record),
        "optin_unconfirmed": and_(subscribed, consent_basis, has_record, c.confirmed == false()),
        "optin_evidence_incomplete": and_(
            subscribed,
            c.confirmed == true(),
            or_(
                c.confirm_time.is_(None),
                c.confirm_ip.is_(None),
                and_(c.optin_time.is_not(None), c.confirm_time < c.optin_time),
            ),
        ),
        "consent_stale": and_(
            subscribed,
            consent_basis,
            has_record,
            _latest(mailed, c.optin_time, c.confirm_time, c.subscribed_at)
            < before(thresholds.consent_stale_days),
        ),
        "dormant": and_(
            subscribed, func.coalesce(mailed, joined) < before(thresholds.dormant_days)
        ),
        "inactive": and_(
            subscribed, func.coalesce(engaged, joined) < before(thresholds.inactive_days)
        ),
        "mailed_after_unsubscribe": mailed_after_exit(
            act,
            "unsubscribe",
            c.unsubscribed_at,
            as_of,
            thresholds.unsubscribe_grace_days,
            dialect,
        ),
        "mailed_after_hard_bounce": mailed_after_exit(
            act, "hard_bounce", c.bounced_at, as_of, 0, dialect
        ),
        "mailed_after_complaint": mailed_after_exit(
            act, "complaint", c.complained_at, as_of, 0, dialect
        ),
        "retention_exceeded": and_(~subscribed, left < before(thresholds.retention_days)),
    }


def joined_contacts(act: Any) -> Any:
    """``contacts LEFT JOIN activity ON address``: what every rule reads."""
    return Contact.__table__.outerjoin(act, act.c.address == Contact.address)
