"""What the dashboard and the API read: small access helpers over what monitor wrote."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks.findings import worst
from monitor.targets import MonitoredTarget, list_targets
from store.alerting import Alert
from store.contacts import AuditRun
from store.models import CheckRecord, CheckRun, ListingEpisode, ListingState, TargetStatus
from store.timestamps import as_utc

DOMAIN_CHECKS = ("spf", "dmarc", "dkim", "mx", "blocklists")
IP_CHECKS = ("ptr", "blocklists")


@dataclass(frozen=True)
class TargetRow:
    """A monitored target with its latest status per check."""

    target: MonitoredTarget
    checks: dict[str, str]
    since: datetime | None

    @property
    def status(self) -> str:
        return worst(self.checks.values()) if self.checks else "error"


def target_rows(session: Session) -> list[TargetRow]:
    """Every monitored target, worst first, with its checks' latest statuses."""
    statuses: dict[str, dict[str, str]] = defaultdict(dict)
    since: dict[str, datetime] = {}
    for row in session.scalars(select(TargetStatus)):
        statuses[row.target][row.check] = row.status
        moment = as_utc(row.since)
        if row.status != "pass" and (row.target not in since or moment < since[row.target]):
            since[row.target] = moment
    rows = [
        TargetRow(t, statuses.get(t.name, {}), since.get(t.name)) for t in list_targets(session)
    ]
    rank = {"fail": 0, "error": 1, "warn": 2, "pass": 3}
    return sorted(rows, key=lambda r: (rank[r.status], r.target.kind, r.target.name))


def latest_details(session: Session, target: str) -> dict[str, dict[str, Any]]:
    """The latest stored result of each check of ``target`` (its JSON as `check` prints it)."""
    latest: dict[str, dict[str, Any]] = {}
    rows = session.scalars(
        select(CheckRecord).where(CheckRecord.target == target).order_by(CheckRecord.id.desc())
    )
    for row in rows:
        latest.setdefault(row.check, row.detail)
        if len(latest) >= len(DOMAIN_CHECKS):
            break
    return latest


def timeline(session: Session, target: str, limit: int = 50) -> list[dict[str, Any]]:
    """Status changes of each check of ``target``, newest first (not every run)."""
    changes: list[dict[str, Any]] = []
    previous: dict[str, str] = {}
    rows = session.execute(
        select(CheckRecord.check, CheckRecord.status, CheckRun.started_at)
        .join(CheckRun, CheckRun.id == CheckRecord.run_id)
        .where(CheckRecord.target == target)
        .order_by(CheckRecord.run_id)
    ).all()
    for check, status, started_at in rows:
        if previous.get(check) != status:
            changes.append({"check": check, "status": status, "at": as_utc(started_at),
                            "from": previous.get(check)})  # fmt: skip
            previous[check] = status
    return list(reversed(changes))[:limit]


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
