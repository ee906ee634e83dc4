"""Alerts in the database: apply the rules after each recorded run, queue notifications.

``update_alerts`` runs in the transaction that recorded a run: it reads each
check's streak (``target_status``), decides with :mod:`monitor.alert_rules`,
opens, escalates or resolves ``alerts`` rows, and puts one notification per
configured channel and transition in the outbox, so that the alert and its
notifications are committed together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.alerting import Alert
from store.models import CheckRecord, TargetStatus
from store.timestamps import as_utc

if TYPE_CHECKING:
    from checks.results import TargetResult
    from monitor.alert_rules import AlertPolicy, Decision, Problem
    from monitor.settings import Settings

logger = logging.getLogger(__name__)


def policy_of(settings: Settings) -> AlertPolicy:
    """The alert policy the settings describe."""
    from monitor.alert_rules import AlertPolicy

    alerts = settings.alerts
    return AlertPolicy(
        confirmations=alerts.confirmations,
        alert_on_warn=alerts.alert_on_warn,
        cannot_check_after=timedelta(hours=alerts.cannot_check_hours),
    )


@dataclass(frozen=True)
class AlertEvent:
    """A transition that happened, as logged and notified."""

    alert_id: int
    event: str
    target: str
    check: str
    severity: str


def update_alerts(
    session: Session,
    results: Sequence[TargetResult],
    now: datetime,
    policy: AlertPolicy,
    *,
    channels: Sequence[str] = (),
    dashboard_url: str | None = None,
    alert_on_warn: Mapping[str, bool | None] | None = None,
) -> list[AlertEvent]:
    """Apply the alert rules to the checks of ``results`` (recorded in this session)."""
    # Here, not at the top: listing and acknowledging alerts (`alerts list`, the pages) need
    # neither probe results nor the rules and the outbox, and start up faster without them.
    from checks.results import to_json
    from monitor.alert_rules import CheckState, OpenAlert, decide, problem_keys
    from monitor.outbox import enqueue

    names = [result.target for result in results]
    streaks = {
        (row.target, row.check): row
        for row in session.scalars(select(TargetStatus).where(TargetStatus.target.in_(names)))
    }
    open_rows: dict[tuple[str, str, str], Alert] = {
        (row.target, row.check, row.problem): row
        for row in session.scalars(
            select(Alert).where(Alert.target.in_(names), Alert.state == "open")
        )
    }
    overrides = alert_on_warn or {}
    events: list[AlertEvent] = []
    for result in results:
        details = to_json(result)["checks"]
        for check, detail in details.items():
            streak = streaks.get((result.target, check))
            if streak is None:
                continue
            state = CheckState(
                status=detail["status"],
                consecutive=streak.consecutive,
                since=as_utc(streak.since),
                keys=problem_keys(detail),
                alert_on_warn=overrides.get(result.target),
            )
            current: dict[Problem, OpenAlert] = {
                cast("Problem", problem): OpenAlert(row.severity, frozenset(row.codes))
                for (target, name, problem), row in open_rows.items()
                if target == result.target and name == check
            }
            for decision in decide(state, current, policy, now):
                row = open_rows.get((result.target, check, decision.problem))
                alert, event = _apply(session, decision, row, result, check, detail, now)
                if decision.action == "open":
                    open_rows[(result.target, check, decision.problem)] = alert
                payload = _payload(session, alert, event, detail, now, dashboard_url)
                enqueue(session, alert.id, event, payload, channels, now)
                logger.warning(
                    "alert %s %s: %s of %s is %s",
                    alert.id,
                    event,
                    check,
                    result.target,
                    detail["status"],
                )
                events.append(AlertEvent(alert.id, event, result.target, check, alert.severity))
    session.flush()
    return events


def _apply(
    session: Session,
    decision: Decision,
    row: Alert | None,
    result: TargetResult,
    check: str,
    detail: Mapping[str, Any],
    now: datetime,
) -> tuple[Alert, str]:
    summary = summarise(detail, check, result.target)
    if decision.action == "open":
        alert = Alert(
            target=result.target,
            kind=result.kind,
            check=check,
            problem=decision.problem,
            severity=decision.severity,
            state="open",
            summary=summary,
            codes=sorted(decision.codes),
            opened_at=now,
        )
        session.add(alert)
        session.flush()
        return alert, "cannot_check" if decision.problem == "cannot_check" else "opened"
    assert row is not None
    if decision.action == "escalate":
        row.severity, row.codes = decision.severity, sorted(decision.codes)
        row.escalated_at, row.summary = now, summary
        return row, "escalated"
    row.state, row.resolved_at = "resolved", now
    return row, "resolved"


def summarise(detail: Mapping[str, Any], check: str, target: str) -> str:
    """One line: the worst finding of the check, or its status."""
    rank = {"fail": 3, "error": 2, "warn": 1, "info": 0}
    findings = sorted(_findings(detail), key=lambda f: -rank.get(f["level"], 0))
    if findings and findings[0]["level"] != "info":
        return f"{findings[0]['code']}: {findings[0]['message']}"
    return f"{check} of {target} is {detail['status']}"


def _findings(detail: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = list(detail.get("findings", ()))
    for selector in (detail.get("selectors") or {}).values():
        found.extend(selector.get("findings", ()))
    return found


def _previous_status(session: Session, alert: Alert) -> str | None:
    """The status of the check before the run that opened ``alert``."""
    return session.scalars(
        select(CheckRecord.status)
        .where(
            CheckRecord.target == alert.target,
            CheckRecord.check == alert.check,
            CheckRecord.status != alert.severity,
        )
        .order_by(CheckRecord.run_id.desc())
        .limit(1)
    ).first()


def _payload(
    session: Session,
    alert: Alert,
    event: str,
    detail: Mapping[str, Any],
    now: datetime,
    dashboard_url: str | None,
) -> dict[str, Any]:
    """What a notification says: a snapshot, rendered per channel when sent."""
    previous = _previous_status(session, alert) if event in ("opened", "cannot_check") else None
    link = None
    if dashboard_url:
        link = f"{dashboard_url.rstrip('/')}/targets/{alert.target}"
    return {
        "event": event,
        "alert_id": alert.id,
        "target": alert.target,
        "kind": alert.kind,
        "check": alert.check,
        "problem": alert.problem,
        "severity": alert.severity,
        "status": detail["status"],
        "previous_status": previous,
        "summary": alert.summary,
        "findings": [
            {k: f[k] for k in ("code", "level", "message", "fix")}
            for f in _findings(detail)
            if f["level"] != "info"
        ],
        "opened_at": as_utc(alert.opened_at).isoformat(),
        "resolved_at": as_utc(alert.resolved_at).isoformat() if alert.resolved_at else None,
        "time": now.isoformat(),
        "link": link,
    }


def acknowledge(session: Session, alert_id: int, who: str, now: datetime) -> Alert:
    """Mark an alert as seen by ``who`` (it stays open until the check recovers)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise LookupError(f"no alert {alert_id}")
    alert.acknowledged_at, alert.acknowledged_by = now, who
    session.flush()
    return alert


def list_alerts(
    session: Session, *, state: str | None = None, target: str | None = None
) -> list[Alert]:
    """Alerts, newest first; open or resolved ones, of one target, if asked."""
    query = select(Alert).order_by(Alert.opened_at.desc(), Alert.id.desc())
    if state is not None:
        query = query.where(Alert.state == state)
    if target is not None:
        query = query.where(Alert.target == target)
    return list(session.scalars(query))


def alert_json(alert: Alert) -> dict[str, Any]:
    """An alert as the CLI's and the API's JSON."""

    def when(moment: datetime | None) -> str | None:
        return as_utc(moment).isoformat() if moment else None

    return {
        "id": alert.id,
        "target": alert.target,
        "kind": alert.kind,
        "check": alert.check,
        "problem": alert.problem,
        "severity": alert.severity,
        "state": alert.state,
        "summary": alert.summary,
        "codes": list(alert.codes),
        "opened_at": when(alert.opened_at),
        "escalated_at": when(alert.escalated_at),
        "resolved_at": when(alert.resolved_at),
        "acknowledged_at": when(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
    }
