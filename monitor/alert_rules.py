"""When an alert opens, escalates and resolves: a pure function of a check's recent runs.

Two kinds of problem are tracked per target and check:

- ``degraded``: the check is ``fail`` (or ``warn``, where warnings alert).
  It opens after ``confirmations`` runs in a row with that status (one DNS
  blip is not an incident), escalates when the status gets worse or new
  problems appear (a second blocklist lists the address), and resolves on
  the first run where the check is no longer degraded. ``error`` (could not
  determine) neither opens nor resolves it.
- ``cannot_check``: the check has been ``error`` for ``cannot_check_after``;
  it resolves on the first run that can tell again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from checks.findings import STATUS_RANK

Action = Literal["open", "escalate", "resolve"]
Problem = Literal["degraded", "cannot_check"]

# Findings that open an alert whatever the check's status and the warn policy:
# a certificate about to expire (a warning now, an outage in days), an
# enforce MTA-STS policy gone unreachable, a DANE mismatch.
URGENT_CODES: frozenset[str] = frozenset(
    {
        "STARTTLS_CERT_EXPIRING",
        "STARTTLS_CERT_EXPIRES_SOON",
        "STARTTLS_CERT_EXPIRED",
        "MTA_STS_ENFORCE_UNREACHABLE",
        "DANE_MISMATCH",
    }
)


@dataclass(frozen=True)
class AlertPolicy:
    """The alerting settings, with their defaults."""

    confirmations: int = 2
    alert_on_warn: bool = False
    cannot_check_after: timedelta = timedelta(hours=6)


@dataclass(frozen=True)
class CheckState:
    """What the runs so far say about one check of one target."""

    status: str
    # Runs in a row with ``status``, this one included, and since when.
    consecutive: int
    since: datetime
    # The problem's keys this run: finding codes, and listed zones.
    keys: frozenset[str] = frozenset()
    # Per-target override of AlertPolicy.alert_on_warn.
    alert_on_warn: bool | None = None


@dataclass(frozen=True)
class OpenAlert:
    """The part of an open alert that decisions depend on."""

    severity: str
    codes: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Decision:
    """One transition of one alert."""

    action: Action
    problem: Problem
    severity: str
    codes: frozenset[str] = frozenset()


def degraded(status: str, alert_on_warn: bool) -> bool:
    """Whether ``status`` is a problem worth an alert."""
    return status == "fail" or (status == "warn" and alert_on_warn)


def decide(
    state: CheckState,
    open_alerts: Mapping[Problem, OpenAlert],
    policy: AlertPolicy,
    now: datetime,
) -> list[Decision]:
    """The alert transitions this run causes (pure)."""
    decisions: list[Decision] = []
    on_warn = policy.alert_on_warn if state.alert_on_warn is None else state.alert_on_warn
    confirmed = state.consecutive >= policy.confirmations
    current = open_alerts.get("degraded")
    urgent = bool(state.keys & URGENT_CODES)
    if degraded(state.status, on_warn) or urgent:
        if current is None and confirmed:
            decisions.append(Decision("open", "degraded", state.status, state.keys))
        elif current is not None:
            worse = STATUS_RANK[state.status] > STATUS_RANK[current.severity]
            as_bad = STATUS_RANK[state.status] == STATUS_RANK[current.severity]
            new_keys = not state.keys <= current.codes
            # A check that got better but is still degraded keeps its alert quietly.
            if (worse and confirmed) or (as_bad and new_keys):
                severity = state.status if worse else current.severity
                decisions.append(
                    Decision("escalate", "degraded", severity, state.keys | current.codes)
                )
    elif current is not None and (state.status != "error" or current.severity == "error"):
        # An alert an urgent `error` finding opened resolves once that finding is gone.
        decisions.append(Decision("resolve", "degraded", state.status))
    stuck = open_alerts.get("cannot_check")
    if state.status == "error":
        if stuck is None and now - state.since >= policy.cannot_check_after:
            decisions.append(Decision("open", "cannot_check", "error", state.keys))
    elif stuck is not None:
        decisions.append(Decision("resolve", "cannot_check", state.status))
    return decisions


def problem_keys(detail: Mapping[str, Any]) -> frozenset[str]:
    """The keys of a check's problems, from its JSON: finding codes and listed zones."""
    keys = {
        finding["code"]
        for finding in _all_findings(detail)
        if finding.get("level") in ("warn", "fail", "error")
    }
    for listing in detail.get("listings", ()):
        if listing.get("listed"):
            keys.add(f"listed:{listing['zone']}")
    return frozenset(keys)


def _all_findings(detail: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield from detail.get("findings", ())
    for selector in (detail.get("selectors") or {}).values():
        yield from selector.get("findings", ())
