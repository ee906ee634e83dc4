"""The list-compliance audit: every rule counted in one SQL pass, offenders listed by the same SQL.

``run_audit`` returns an :class:`AuditResult`: each rule's count, level,
threshold and a few example addresses, plus hygiene findings and the previous
stored audit's counts for the trend. Its ``to_json`` is the contract's shape
(``as_of``, ``contacts``, ``subscribed``, ``status``, ``rules``, …).
``store_audit`` keeps the run (counts only: examples are addresses, which may
later be erased).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.orm import Session

from checks.findings import Status, worst
from compliance.audit.hygiene import HygieneFinding, dead_domain_findings, hygiene_findings
from compliance.audit.rules import RULES, _latest, activity, conditions, joined_contacts
from compliance.audit.thresholds import Thresholds
from store.contacts import AuditRun, Contact
from store.events import EventDay

EXAMPLES = 5


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict: how many contacts it flags and the first few of them."""

    status: Status
    count: int
    examples: tuple[str, ...]
    level: Status
    description: str
    threshold_days: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "count": self.count,
            "examples": list(self.examples),
            "level": self.level,
            "description": self.description,
            "threshold_days": self.threshold_days,
        }


@dataclass(frozen=True)
class PreviousAudit:
    """The latest stored audit at or before the as-of day: what the change is measured from."""

    as_of: date
    ran_at: datetime
    status: str
    counts: Mapping[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "ran_at": self.ran_at.isoformat(),
            "status": self.status,
            "counts": dict(self.counts),
        }


@dataclass(frozen=True)
class AuditResult:
    """The list audit as of the end of ``as_of``; its status is the worst rule's."""

    as_of: date
    contacts: int
    subscribed: int
    rules: Mapping[str, RuleResult]
    hygiene: tuple[HygieneFinding, ...] = ()
    previous: PreviousAudit | None = None

    @property
    def status(self) -> Status:
        return worst(rule.status for rule in self.rules.values())

    def to_json(self) -> dict[str, Any]:
        """The contract's ``audit --format json`` object."""
        return {
            "as_of": self.as_of.isoformat(),
            "contacts": self.contacts,
            "subscribed": self.subscribed,
            "status": self.status,
            "rules": {name: rule.to_json() for name, rule in self.rules.items()},
            "hygiene": [item.to_json() for item in self.hygiene],
            "previous": None if self.previous is None else self.previous.to_json(),
        }


def _rule_conditions(
    session: Session, as_of: date, thresholds: Thresholds
) -> tuple[Any, dict[str, Any]]:
    latest_day = session.scalar(select(func.max(EventDay.day)))
    act = activity(as_of, latest_day)
    dialect = session.get_bind().dialect.name
    return act, conditions(act, as_of, thresholds, dialect)


def run_audit(
    session: Session,
    as_of: date,
    thresholds: Thresholds | None = None,
    *,
    resolve_domains: Callable[[Iterable[str]], dict[str, str]] | None = None,
) -> AuditResult:
    """The audit of every contact as of the end of ``as_of``."""
    thresholds = thresholds or Thresholds()
    act, rule_sql = _rule_conditions(session, as_of, thresholds)
    counts = session.execute(
        select(
            func.count().label("contacts"),
            func.sum(case((Contact.status == "subscribed", 1), else_=0)).label("subscribed"),
            *(
                func.sum(case((condition, 1), else_=0)).label(name)
                for name, condition in rule_sql.items()
            ),
        ).select_from(joined_contacts(act))
    ).one()
    rules: dict[str, RuleResult] = {}
    for name, (level, description) in RULES.items():
        count = int(getattr(counts, name) or 0)
        examples: tuple[str, ...] = ()
        if count:
            examples = tuple(
                session.scalars(
                    select(Contact.address)
                    .select_from(joined_contacts(act))
                    .where(rule_sql[name])
                    .order_by(Contact.id)
                    .limit(EXAMPLES)
                )
            )
        rules[name] = RuleResult(
            status=level if count else "pass",
            count=count,
            examples=examples,
            level=level,
            description=description,
            threshold_days=thresholds.of(name),
        )
    hygiene = hygiene_findings(session)
    if resolve_domains is not None:
        hygiene += dead_domain_findings(session, resolve_domains)
    previous = session.scalars(
        select(AuditRun)
        .where(AuditRun.as_of <= as_of)
        .order_by(AuditRun.as_of.desc(), AuditRun.id.desc())
        .limit(1)
    ).first()
    return AuditResult(
        as_of=as_of,
        contacts=int(counts.contacts or 0),
        subscribed=int(counts.subscribed or 0),
        rules=rules,
        hygiene=tuple(hygiene),
        previous=None
        if previous is None
        else PreviousAudit(
            as_of=previous.as_of,
            ran_at=previous.ran_at,
            status=previous.status,
            counts={name: rule["count"] for name, rule in previous.rules.items()},
        ),
    )


def store_audit(session: Session, report: AuditResult, now: datetime) -> AuditRun:
    """Keep an audit's date, status and counts (no addresses)."""
    run = AuditRun(
        as_of=report.as_of,
        ran_at=now,
        status=report.status,
        contacts=report.contacts,
        subscribed=report.subscribed,
        rules={n: {"status": r.status, "count": r.count} for n, r in report.rules.items()},
        hygiene={item.code: item.count for item in report.hygiene},
    )
    session.add(run)
    session.flush()
    return run


OFFENDER_COLUMNS = (
    "list_name", "address", "status", "legal_basis", "optin_time", "confirm_time",
    "last_mailed_at", "last_engaged_at", "unsubscribed_at", "bounced_at", "complained_at",
)  # fmt: skip


# The times a rule reads from the export or, when later, from the events.
_SEEN_IN_EVENTS = {
    "last_mailed_at": "last_sent",
    "last_engaged_at": "last_engaged",
    "unsubscribed_at": "last_unsubscribe",
    "bounced_at": "last_hard_bounce",
    "complained_at": "last_complaint",
}


def offender_columns(act: Any) -> list[Any]:
    """:data:`OFFENDER_COLUMNS` as the rules see them: "last mailed" is the later of the
    export's time and the events' (an export without it still shows the events' time)."""
    return [
        _latest(getattr(Contact, name), act.c[_SEEN_IN_EVENTS[name]]).label(name)
        if name in _SEEN_IN_EVENTS
        else getattr(Contact, name)
        for name in OFFENDER_COLUMNS
    ]


def offenders(
    session: Session, rule: str, as_of: date, thresholds: Thresholds | None = None
) -> Iterator[tuple[Any, ...]]:
    """Every contact a rule flags, as :data:`OFFENDER_COLUMNS` (streamed)."""
    act, rule_sql = _rule_conditions(session, as_of, thresholds or Thresholds())
    query = (
        select(*offender_columns(act))
        .select_from(joined_contacts(act))
        .where(rule_sql[rule])
        .order_by(Contact.id)
        .execution_options(yield_per=10_000)
    )
    for row in session.execute(query):
        yield tuple(row)


@dataclass(frozen=True)
class OffenderPage:
    """One page of a rule's offenders in contact order, and whether pages lie either side.

    ``rows`` are :data:`OFFENDER_COLUMNS`; ``first_id``/``last_id`` are the contact ids
    the neighbouring pages are asked from (``before=first_id``, ``after=last_id``).
    """

    rows: list[tuple[Any, ...]]
    first_id: int | None
    last_id: int | None
    has_previous: bool
    has_next: bool


def offender_page(
    session: Session,
    rule: str,
    as_of: date,
    thresholds: Thresholds | None = None,
    *,
    after: int | None = None,
    before: int | None = None,
    size: int = 50,
) -> OffenderPage:
    """``size`` offenders of ``rule`` after (or before) a contact id, by keyset in SQL.

    Keyset, not OFFSET: page 2,000 of a million contacts costs what page 1 costs,
    and a page does not shift when contacts are added meanwhile.
    """
    act, rule_sql = _rule_conditions(session, as_of, thresholds or Thresholds())
    flagged = rule_sql[rule]
    query = select(Contact.id, *offender_columns(act)).select_from(joined_contacts(act))
    if before is not None:
        # Backwards: the `size` nearest ids below `before`, read newest first, then turned.
        found = session.execute(
            query.where(flagged, Contact.id < before).order_by(Contact.id.desc()).limit(size + 1)
        ).all()
        beyond = len(found) > size
        found = list(reversed(found[:size]))
    else:
        start = Contact.id > after if after is not None else Contact.id.is_not(None)
        found = session.execute(
            query.where(flagged, start).order_by(Contact.id).limit(size + 1)
        ).all()
        beyond = len(found) > size
        found = found[:size]
    if not found:
        return OffenderPage([], None, None, False, False)
    first_id, last_id = int(found[0][0]), int(found[-1][0])

    def any_offender(side: Any) -> bool:
        return bool(
            session.scalar(select(exists().select_from(joined_contacts(act)).where(flagged, side)))
        )

    return OffenderPage(
        rows=[tuple(row[1:]) for row in found],
        first_id=first_id,
        last_id=last_id,
        has_previous=beyond if before is not None else any_offender(Contact.id < first_id),
        has_next=any_offender(Contact.id > last_id) if before is not None else beyond,
    )


def offender_count(
    session: Session, rule: str, as_of: date, thresholds: Thresholds | None = None
) -> int:
    """How many contacts ``rule`` flags (one count in SQL)."""
    act, rule_sql = _rule_conditions(session, as_of, thresholds or Thresholds())
    return int(
        session.scalar(select(func.count()).select_from(joined_contacts(act)).where(rule_sql[rule]))
        or 0
    )


def all_offenders(
    session: Session, as_of: date, thresholds: Thresholds | None = None, *, masked: bool = False
) -> Iterator[tuple[Any, ...]]:
    """(rule, *offender row) for every rule, in one pass over the contacts (streamed).

    One scan instead of one per rule: each contact is read once with a flag
    per rule, and yielded once for each rule that flags it. ``masked``
    masks the address in SQL (``j***@example.com``).
    """
    act, rule_sql = _rule_conditions(session, as_of, thresholds or Thresholds())
    names = list(rule_sql)
    flags = [case((rule_sql[name], 1), else_=0).label(name) for name in names]
    columns = offender_columns(act)
    if masked:
        at = OFFENDER_COLUMNS.index("address")
        columns[at] = (func.substr(Contact.address, 1, 1) + "***@" + Contact.domain).label(
            "address"
        )
    query = (
        select(*columns, *flags)
        .select_from(joined_contacts(act))
        .where(or_(*rule_sql.values()))
        .order_by(Contact.id)
    )
    width = len(OFFENDER_COLUMNS)
    # Streamed in batches; the option is given to this statement only (set on the
    # connection, it would turn every later statement into a server-side cursor).
    result = session.connection().execute(query, execution_options={"yield_per": 20_000})
    for row in result:
        values = tuple(row[:width])
        for offset, name in enumerate(names):
            if row[width + offset]:
                yield (name, *values)
