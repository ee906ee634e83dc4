"""What the transport checks need from earlier runs, and the plan a sweep runs them with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checks.transport import TRANSPORT_CHECKS, PreviousPolicy, TransportPlan
from monitor.settings import Settings, SettingsError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# SQLAlchemy and the models are imported where the history is read: a one-shot
# `postwarden check` builds its plan without them.


def previous_policies(session: Session, domains: Sequence[str]) -> dict[str, PreviousPolicy]:
    """The MTA-STS policy each domain's latest determinable ``mta_sts`` result fetched.

    Results that are ``error`` (the policy could not be fetched) are passed
    over, so that a policy which went unreachable is still known as it was.
    """
    from sqlalchemy import func, select

    from store.models import CheckRecord

    if not domains:
        return {}
    latest = (
        select(func.max(CheckRecord.id))
        .where(
            CheckRecord.check == "mta_sts",
            CheckRecord.status != "error",
            CheckRecord.target.in_(domains),
        )
        .group_by(CheckRecord.target)
    )
    found: dict[str, PreviousPolicy] = {}
    for row in session.scalars(select(CheckRecord).where(CheckRecord.id.in_(latest))):
        detail = row.detail or {}
        baseline = detail.get("id_policy_sha256") or detail.get("policy_sha256")
        if detail.get("policy_id") and baseline:
            found[row.target] = PreviousPolicy(
                str(detail["policy_id"]), str(baseline), detail.get("mode")
            )
    return found


def transport_plan(
    settings: Settings,
    now: datetime,
    session: Session | None = None,
    domains: Sequence[str] = (),
) -> TransportPlan | None:
    """The sweep's transport plan (None when the checks are off); with a session, the
    previous MTA-STS policies of ``domains`` are read from the history."""
    if not settings.transport.enabled:
        return None
    # A CA file or anchors that cannot be read would make every certificate or
    # signature look bad: refused before the run, not judged as the domains' fault.
    transport = settings.transport
    for name, path in (
        ("transport.ca_file", transport.ca_file),
        ("dnssec.trust_anchors", transport.trust_anchors),
    ):
        if path is not None and not Path(path).is_file():
            raise SettingsError(f"{name}: {path} is not a readable file")
    previous = previous_policies(session, domains) if session is not None else {}
    return TransportPlan(settings.transport, now, previous)


def transport_summary(session: Session) -> list[dict[str, Any]]:
    """Per domain, the latest transport facts the reports show: each MX certificate's
    expiry, the MTA-STS mode, DNSSEC, DANE and BIMI (domains never swept are left out).

    The latest run of each check comes from ``target_status``; the results are fetched
    by their (target, check, run) keys in one query.
    """
    from sqlalchemy import select

    from store.models import CheckRecord, TargetStatus

    latest = session.execute(
        select(TargetStatus.target, TargetStatus.check, TargetStatus.last_run_id).where(
            TargetStatus.check.in_(TRANSPORT_CHECKS)
        )
    ).all()
    if not latest:
        return []
    wanted = {(target, check, run) for target, check, run in latest}
    rows = session.execute(
        select(CheckRecord.target, CheckRecord.check, CheckRecord.run_id, CheckRecord.detail)
        .where(CheckRecord.check.in_(TRANSPORT_CHECKS))
        .where(CheckRecord.run_id.in_({run for _t, _c, run in latest}))
    ).all()
    by_domain: dict[str, dict[str, dict[str, Any]]] = {}
    for target, check, run, detail in rows:
        if (target, check, run) in wanted:
            by_domain.setdefault(target, {})[check] = dict(detail)
    summary = []
    for domain, checks in sorted(by_domain.items()):
        starttls = checks.get("starttls", {})
        summary.append(
            {
                "domain": domain,
                "statuses": {
                    name: checks[name]["status"] for name in TRANSPORT_CHECKS if name in checks
                },
                "certificates": [
                    {
                        "host": host,
                        "expires": facts.get("certificate_expires"),
                        "days_left": facts.get("days_left"),
                        "error": facts.get("error"),
                    }
                    for host, facts in sorted((starttls.get("hosts") or {}).items())
                ],
                "mta_sts_mode": checks.get("mta_sts", {}).get("mode"),
                "dnssec_validated": checks.get("dnssec", {}).get("validated"),
                "bimi_logo_valid": checks.get("bimi", {}).get("logo_valid"),
            }
        )
    return summary
