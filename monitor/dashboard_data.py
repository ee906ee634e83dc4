"""What the dashboard and the API read: small access helpers over what monitor wrote."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, literal, select, union_all
from sqlalchemy.orm import Session

from checks.findings import worst
from compliance.rates.requirements import Verdict, message_verdicts, unsubscribe_verdict
from monitor.targets import MonitoredTarget, list_targets_named
from store.alerting import Alert
from store.contacts import AuditRun
from store.models import (
    CheckRecord,
    Domain,
    ListingEpisode,
    ListingState,
    SendingIp,
    StatusChange,
    TargetStatus,
)
from store.scheduling import APSCHEDULER_JOBS
from store.timestamps import as_utc

DOMAIN_CHECKS = ("spf", "dmarc", "dkim", "mx", "blocklists")
IP_CHECKS = ("ptr", "blocklists")
CHECKS_OF = {"domain": DOMAIN_CHECKS, "ip": IP_CHECKS}
PLURAL = {"domain": "domains", "ip": "IPs"}


@dataclass(frozen=True)
class TargetRow:
    """A monitored target with its latest status per check."""

    target: MonitoredTarget
    checks: dict[str, str]
    since: datetime | None

    @property
    def status(self) -> str:
        return worst(self.checks.values()) if self.checks else "error"

    @property
    def pending(self) -> bool:
        """Never checked yet: its first sweep is still to come (shown as pending, not ERROR)."""
        return not self.checks


@dataclass(frozen=True)
class TargetPage:
    """One page of the overview's target table, and the counts of all targets by status."""

    rows: list[TargetRow]
    counts: dict[str, int]
    total: int


_RANK = {"fail": 3, "error": 2, "warn": 1, "pass": 0}
_STATUS_OF_RANK = {rank: status for status, rank in _RANK.items()}


def _monitored() -> Any:
    return union_all(
        select(Domain.name.label("name"), literal("domain").label("kind")),
        select(SendingIp.address.label("name"), literal("ip").label("kind")),
    ).subquery()


def check_verdicts(
    session: Session, warn_meets: Collection[str] = (), sweep_at: datetime | None = None
) -> dict[str, Verdict]:
    """Per check, over the monitored targets it applies to: the worst latest status, and
    ``error`` when none is monitored (never an empty pass).

    A target never checked is pending, not undetermined: it leaves the others' verdict
    alone, and with none checked at all the verdict is ``error`` shown as "pending"
    (with ``sweep_at``, the next sweep's time). For the checks in ``warn_meets`` a warning
    meets the requirement (DMARC's p=none meets "DMARC, p=none at least").
    """
    monitored = _monitored()
    targets: dict[str, int] = {
        str(kind): int(count)
        for kind, count in session.execute(
            select(monitored.c.kind, func.count()).group_by(monitored.c.kind)
        )
    }
    rows = session.execute(
        select(monitored.c.kind, TargetStatus.check, TargetStatus.status, func.count())
        .join(monitored, monitored.c.name == TargetStatus.target)
        .group_by(monitored.c.kind, TargetStatus.check, TargetStatus.status)
    ).all()
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for kind, check, status, count in rows:
        if check in CHECKS_OF[kind]:
            seen[check][status] += int(count)
    sweep = f"; next sweep at {sweep_at:%H:%M} UTC" if sweep_at else ""
    verdicts: dict[str, Verdict] = {}
    for check in {*DOMAIN_CHECKS, *IP_CHECKS}:
        kinds = [kind for kind, checks in CHECKS_OF.items() if check in checks]
        applicable = sum(targets.get(kind, 0) for kind in kinds)
        noun = " or ".join(PLURAL[kind] for kind in kinds)
        statuses = seen.get(check, Counter())
        unchecked = applicable - sum(statuses.values())
        if not applicable:
            verdicts[check] = Verdict("error", f"no {noun} monitored")
            continue
        if not statuses:
            note = f"{applicable} of {applicable} {noun} pending (not checked yet){sweep}"
            verdicts[check] = Verdict("error", note, "pending")
            continue
        warned = statuses.pop("warn", 0) if check in warn_meets else 0
        statuses["pass"] += warned
        status = worst(+statuses)
        parts = [f"{statuses[status]} of {applicable} {noun} {status}"] if statuses[status] else []
        if warned and status == "pass":
            parts[0] += f" ({warned} with a warning that still meets it)"
        if unchecked > 0:
            parts.append(f"{unchecked} of {applicable} pending (not checked yet)")
        verdicts[check] = Verdict(status, "; ".join(parts))
    return verdicts


def next_sweep(session: Session) -> datetime | None:
    """When the scheduler next runs the authentication sweep (None: no schedule stored)."""
    seconds = session.scalar(
        select(APSCHEDULER_JOBS.c.next_run_time).where(APSCHEDULER_JOBS.c.id == "auth_sweep")
    )
    return None if seconds is None else datetime.fromtimestamp(float(seconds), UTC)


def requirement_evidence(
    session: Session, since: datetime, unsubscribe_grace_days: int
) -> dict[str, Verdict]:
    """Evidence for each bulk-sender requirement: latest checks, messages audited since
    ``since``, the latest list audit (rates come with each provider's profile)."""
    # A DMARC record that warns (p=none, pct, no subdomain policy) still meets "p=none at least".
    checks = check_verdicts(session, warn_meets=("dmarc",), sweep_at=next_sweep(session))
    evidence = {name: checks[name] for name in ("spf", "dkim", "dmarc", "ptr")}
    evidence.update(message_verdicts(session, since))
    evidence["unsubscribe_within_2_days"] = unsubscribe_verdict(
        latest_audit(session), unsubscribe_grace_days
    )
    tls = starttls_verdict(session)
    if tls is not None:
        evidence["tls"] = tls
    return evidence


def starttls_verdict(session: Session) -> Verdict | None:
    """The TLS requirement judged on the latest ``starttls`` checks of the monitored domains
    (None before any transport sweep: the card then says it is not measured)."""
    rows = session.execute(
        select(TargetStatus.status, func.count())
        .where(TargetStatus.check == "starttls", TargetStatus.kind == "domain")
        .group_by(TargetStatus.status)
    ).all()
    counts = {status: int(count) for status, count in rows}
    total = sum(counts.values())
    if not total:
        return None
    return Verdict(
        worst(counts),
        f"STARTTLS on the MX hosts of {counts.get('pass', 0)} of {total} domains passes "
        "(TLS 1.2+, valid certificate); outbound TLS is your sending server's or ESP's",
    )


def target_page(session: Session, offset: int = 0, limit: int | None = None) -> TargetPage:
    """Monitored targets worst first (never checked sorts with error and is counted as
    ``pending``), one page of them (all of them without ``limit``).

    The worst status per target is computed in SQL over ``target_status``;
    only the page's targets are read into Python.
    """
    rank = func.max(
        case(*((TargetStatus.status == s, r) for s, r in _RANK.items()), else_=0)
    ).label("rank")
    since = func.min(case((TargetStatus.status != "pass", TargetStatus.since))).label("since")
    worst_of = select(TargetStatus.target, rank, since).group_by(TargetStatus.target).subquery()
    monitored = _monitored()
    effective = func.coalesce(worst_of.c.rank, _RANK["error"])
    ranked = (
        select(monitored.c.name, monitored.c.kind, effective.label("rank"), worst_of.c.since).join(
            worst_of, worst_of.c.target == monitored.c.name, isouter=True
        )
    ).subquery()
    counts = {
        _STATUS_OF_RANK[int(r)]: int(n)
        for r, n in session.execute(
            select(ranked.c.rank, func.count()).group_by(ranked.c.rank)
        ).all()
    }
    # Never checked: sorted with the errors (to be looked at) but counted as pending.
    pending = int(session.scalar(
        select(func.count()).select_from(monitored).join(
            worst_of, worst_of.c.target == monitored.c.name, isouter=True
        ).where(worst_of.c.target.is_(None))
    ) or 0)  # fmt: skip
    if pending:
        counts["error"] -= pending
        counts["pending"] = pending
    page = session.execute(
        select(ranked)
        .order_by(ranked.c.rank.desc(), ranked.c.kind, ranked.c.name)
        .offset(offset)
        .limit(limit)
    ).all()
    names = [row.name for row in page]
    statuses: dict[str, dict[str, str]] = defaultdict(dict)
    for target, check, status in session.execute(
        select(TargetStatus.target, TargetStatus.check, TargetStatus.status).where(
            TargetStatus.target.in_(names)
        )
    ):
        statuses[target][check] = status
    targets = {t.name: t for t in list_targets_named(session, names)}
    rows = [
        TargetRow(
            targets[row.name], statuses.get(row.name, {}), as_utc(row.since) if row.since else None
        )
        for row in page
        if row.name in targets
    ]
    return TargetPage(rows, counts, sum(counts.values()))


def latest_details(session: Session, target: str) -> dict[str, dict[str, Any]]:
    """The latest stored result of each check of ``target`` (its JSON as `check` prints it).

    Each check's latest run comes from ``target_status``; the results are
    then fetched by the exact (target, check, run_id) index keys, never by
    scanning the target's history (a year of half-hourly runs).
    """
    latest = session.execute(
        select(TargetStatus.check, TargetStatus.last_run_id).where(TargetStatus.target == target)
    ).all()
    if not latest:
        return {}
    rows = session.execute(
        select(CheckRecord.check, CheckRecord.run_id, CheckRecord.detail).where(
            CheckRecord.target == target,
            CheckRecord.check.in_([check for check, _ in latest]),
            CheckRecord.run_id.in_({run_id for _, run_id in latest}),
        )
    ).all()
    wanted = set(latest)
    return {str(check): dict(detail) for check, run_id, detail in rows if (check, run_id) in wanted}


def last_checked(session: Session, target: str) -> datetime | None:
    """When any check of ``target`` last ran (None: never checked yet)."""
    moment = session.scalar(
        select(func.max(TargetStatus.checked_at)).where(TargetStatus.target == target)
    )
    return as_utc(moment) if moment else None


def failing_first(details: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """A target's checks worst first (fail, error, warn, pass), by name within a status."""

    def rank(item: tuple[str, dict[str, Any]]) -> tuple[int, str]:
        return -_RANK.get(str(item[1].get("status")), 0), item[0]

    return sorted(details.items(), key=rank)


def timeline(session: Session, target: str, limit: int = 50) -> list[dict[str, Any]]:
    """Status changes of each check of ``target``, newest first (not every run)."""
    rows = session.scalars(
        select(StatusChange)
        .where(StatusChange.target == target)
        .order_by(StatusChange.at.desc(), StatusChange.id.desc())
        .limit(limit)
    )
    return [
        {"check": row.check, "status": row.status, "from": row.previous, "at": as_utc(row.at)}
        for row in rows
    ]


def listings(session: Session, target: str) -> tuple[list[ListingState], list[ListingEpisode]]:
    """The latest blocklist verdicts of ``target`` and its listing episodes."""
    states = list(
        session.scalars(
            select(ListingState).where(ListingState.target == target).order_by(ListingState.zone)
        )
    )
    episodes = list(
        session.scalars(
            select(ListingEpisode)
            .where(ListingEpisode.target == target)
            .order_by(ListingEpisode.listed_at.desc())
        )
    )
    return states, episodes


@dataclass(frozen=True)
class BlocklistLine:
    """A target listed somewhere: on how many of the lists that answered, since when."""

    target: str
    kind: str
    listed: int
    lists: int
    since: datetime
    names: tuple[str, ...]

    @property
    def text(self) -> str:
        """ "listed on 1 of 5 lists since 2026-12-07 06:15 UTC"."""
        return (
            f"listed on {self.listed} of {self.lists} lists since {self.since:%Y-%m-%d %H:%M} UTC"
        )


def blocklist_lines(session: Session, limit: int = 20) -> list[BlocklistLine]:
    """The targets listed on any blocklist now, most lists first; the lists that answered
    (listed or clear: an erroring or unhealthy zone said nothing) are the denominator."""
    listed = func.sum(case((ListingState.state == "listed", 1), else_=0))
    answered = func.sum(case((ListingState.state.in_(("listed", "clear")), 1), else_=0))
    since = func.min(case((ListingState.state == "listed", ListingState.since)))
    rows = session.execute(
        select(ListingState.target, listed.label("listed"), answered.label("lists"),
               since.label("since"))
        .group_by(ListingState.target)
        .having(listed > 0)
        .order_by(listed.desc(), ListingState.target)
        .limit(limit)
    ).all()  # fmt: skip
    shown = [row.target for row in rows]
    names: dict[str, list[str]] = defaultdict(list)
    kinds: dict[str, str] = {}
    for target, name in session.execute(
        select(ListingState.target, ListingState.name)
        .where(ListingState.target.in_(shown), ListingState.state == "listed")
        .order_by(ListingState.name)
    ):
        names[target].append(name)
    for monitored in list_targets_named(session, shown):
        kinds[monitored.name] = monitored.kind
    return [
        BlocklistLine(row.target, kinds.get(row.target, "ip"), int(row.listed), int(row.lists),
                      as_utc(row.since), tuple(names[row.target]))
        for row in rows
    ]  # fmt: skip


def open_alerts(session: Session) -> list[Alert]:
    """Open alerts, newest first."""
    return list(
        session.scalars(select(Alert).where(Alert.state == "open").order_by(Alert.opened_at.desc()))
    )


def latest_audit(session: Session) -> AuditRun | None:
    """The newest stored list audit."""
    return session.scalars(
        select(AuditRun).order_by(AuditRun.as_of.desc(), AuditRun.id.desc()).limit(1)
    ).first()


def audit_trend(session: Session, limit: int = 30) -> list[AuditRun]:
    """The stored audits, oldest first (for counts over time)."""
    runs = session.scalars(
        select(AuditRun).order_by(AuditRun.as_of.desc(), AuditRun.id.desc()).limit(limit)
    )
    return list(reversed(list(runs)))
