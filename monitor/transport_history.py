"""What the transport checks need from earlier runs, and the plan a sweep runs them with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks.transport import PreviousPolicy, TransportPlan
from monitor.settings import Settings
from store.models import CheckRecord


def previous_policies(session: Session, domains: Sequence[str]) -> dict[str, PreviousPolicy]:
    """The MTA-STS policy each domain's latest determinable ``mta_sts`` result fetched.

    Results that are ``error`` (the policy could not be fetched) are passed
    over, so that a policy which went unreachable is still known as it was.
    """
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
    previous = previous_policies(session, domains) if session is not None else {}
    return TransportPlan(settings.transport, now, previous)
