"""The list-compliance rules as SQL conditions over contacts joined to recipient activity.

Each rule is one boolean SQL expression; the audit counts them all in one
pass over the contacts and lists offenders with the same expression, so
the count and the list can never disagree. Times come from two places:
what the export said of a contact, and what imported events say of the
address; the later of the two wins. Day thresholds are calendar days:
"longer than 90 days" as of 30 Nov flags a time before 1 Sep.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true
from sqlalchemy.sql import Subquery

from compliance.thresholds import Thresholds
from store.contacts import Contact, RecipientActivity
from store.events import Event

# rule -> (level, what it flags), as DESIGN.md "Compliance rules".
RULES: dict[str, tuple[str, str]] = {
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


def activity_maxima() -> list[Any]:
    """Per recipient (in a ``GROUP BY recipient`` over events), the latest time of each
    kind of activity, labelled as the columns of ``recipient_activity``.

    A message delivered or bounced was mailed, whether or not the ESP also
    reported it sent; machine opens are not engagement.
    """
    latest = {
        "last_sent": Event.type.in_(("sent", "delivered", "bounce")),
        "last_engaged": Event.type.in_(("open", "click")) & ~Event.machine,
        "last_unsubscribe": Event.type == "unsubscribe",
        "last_hard_bounce": (Event.type == "bounce") & (Event.bounce_type == "hard"),
        "last_complaint": Event.type == "complaint",
    }
    return [func.max(case((condition, Event.time))).label(n) for n, condition in latest.items()]


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
        select(Event.recipient.label("address"), *activity_maxima())
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
    if dialect == "sqlite":
        return func.julianday(later) - func.julianday(earlier) > days  # type: ignore[no-any-return]
    return later > earlier + func.make_interval(0, 0, 0, days)  # type: ignore[no-any-return]


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

    def resubscribed_after(moment: Any) -> ColumnElement[bool]:
        # Subscribed again, with a later opt-in: the old exit no longer binds.
        return and_(subscribed, joined.is_not(None), joined > moment)

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
        "mailed_after_unsubscribe": and_(
            unsubscribed.is_not(None),
            mailed.is_not(None),
            _days_after(mailed, unsubscribed, thresholds.unsubscribe_grace_days, dialect),
            ~resubscribed_after(unsubscribed),
        ),
        "mailed_after_hard_bounce": and_(
            hard_bounced.is_not(None), mailed > hard_bounced, ~resubscribed_after(hard_bounced)
        ),
        "mailed_after_complaint": and_(
            complained.is_not(None), mailed > complained, ~resubscribed_after(complained)
        ),
        "retention_exceeded": and_(~subscribed, left < before(thresholds.retention_days)),
    }


def joined_contacts(act: Any) -> Any:
    """``contacts LEFT JOIN activity ON address``: what every rule reads."""
    return Contact.__table__.outerjoin(act, act.c.address == Contact.address)
