"""Who sends as a domain, what passes, and whether it can enforce: sums in SQL, verdict in Python.

Every figure is a sum over ``dmarc_records`` grouped in the database (a
domain with a million records costs one scan, not a million Python rows);
Python only names the few hundred sources and judges them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from compliance.dmarc_reports.senders import name_source
from compliance.dmarc_reports.verdict import judge_sources
from store.dmarc import DmarcRecord, ReceiverReport, TlsFailureDetail, TlsPolicyResult

R = DmarcRecord


def _passing() -> Any:
    return or_(R.dkim == "pass", R.spf == "pass")


def _sum_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, R.messages), else_=0)), 0)


def _window(start: date, end: date, domain: str | None) -> list[Any]:
    conditions = [R.day >= start, R.day <= end]
    if domain:
        conditions.append(R.policy_domain == domain.lower().rstrip("."))
    return conditions


def _counts() -> list[Any]:
    return [
        func.sum(R.messages).label("messages"),
        _sum_if(_passing()).label("dmarc_pass"),
        _sum_if(R.spf == "pass").label("spf_aligned"),
        _sum_if(R.dkim == "pass").label("dkim_aligned"),
        _sum_if(R.disposition == "none").label("none"),
        _sum_if(R.disposition == "quarantine").label("quarantine"),
        _sum_if(R.disposition == "reject").label("reject"),
    ]


def _latest_policies(session: Session, start: date, end: date) -> dict[str, str]:
    """Each domain's policy as published in its latest report of the window."""
    latest = (
        select(ReceiverReport.policy_domain, func.max(ReceiverReport.end).label("end"))
        .where(ReceiverReport.kind == "aggregate")
        .where(ReceiverReport.begin < datetime.combine(end + timedelta(days=1), time(), UTC))
        .group_by(ReceiverReport.policy_domain)
        .subquery()
    )
    rows = session.execute(
        select(ReceiverReport.policy_domain, ReceiverReport.policy).join(
            latest,
            and_(
                ReceiverReport.policy_domain == latest.c.policy_domain,
                ReceiverReport.end == latest.c.end,
            ),
        )
    )
    return {domain: policy for domain, policy in rows if domain and policy}


def dmarc_summary(
    session: Session,
    *,
    start: date,
    end: date,
    domain: str | None = None,
    ptr_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ``dmarc --format json`` document for the days ``start``..``end`` (inclusive).

    ``ptr_names`` maps source IPs to their forward-confirmed PTR's registered
    domain (see :func:`~compliance.dmarc_reports.senders.resolve_ptr_names`).
    """
    where = _window(start, end, domain)
    domains: dict[str, dict[str, Any]] = {}
    for row in session.execute(
        select(R.policy_domain, *_counts()).where(*where).group_by(R.policy_domain)
    ).mappings():
        domains[row["policy_domain"]] = {
            "messages": int(row["messages"]),
            "dmarc_pass": int(row["dmarc_pass"]),
            "spf_aligned": int(row["spf_aligned"]),
            "dkim_aligned": int(row["dkim_aligned"]),
            "pass_rate": _rate(row["dmarc_pass"], row["messages"]),
            "dispositions": {k: int(row[k]) for k in ("none", "quarantine", "reject")},
            "reporters": {},
            "sources": [],
        }
    for policy_domain, org, messages in session.execute(
        select(R.policy_domain, ReceiverReport.org_name, func.sum(R.messages))
        .join(ReceiverReport, ReceiverReport.id == R.report_id)
        .where(*where)
        .group_by(R.policy_domain, ReceiverReport.org_name)
        .order_by(func.sum(R.messages).desc())
    ):
        domains[policy_domain]["reporters"][org] = int(messages)
    _add_sources(session, where, domains, ptr_names or {})
    policies = _latest_policies(session, start, end)
    for name, figures in domains.items():
        figures["policy"] = policies.get(name)
        figures["verdict"] = judge_sources(name, figures["policy"], figures["sources"])
    return {"from": start.isoformat(), "to": end.isoformat(), "domains": domains}


def _rate(part: Any, whole: Any) -> float | None:
    # PostgreSQL sums bigints as numeric (Decimal): the ratio is made a float here.
    return round(int(part) / int(whole), 4) if whole else None


def _add_sources(
    session: Session,
    where: list[Any],
    domains: dict[str, dict[str, Any]],
    ptr_names: Mapping[str, str],
) -> None:
    """Per source IP: its counts, the identities it authenticated with, and its name."""
    identities: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {
            "dkim_domains": defaultdict(int),
            "spf_domains": defaultdict(int),
            "reasons": set(),
        }
    )
    for domain, ip, dkim_domain, spf_domain, reasons, messages in session.execute(
        select(
            R.policy_domain,
            R.source_ip,
            R.dkim_domain,
            R.spf_domain,
            R.reasons,
            func.sum(R.messages),
        )
        .where(*where)
        .group_by(R.policy_domain, R.source_ip, R.dkim_domain, R.spf_domain, R.reasons)
    ):
        seen = identities[(domain, ip)]
        if dkim_domain:
            seen["dkim_domains"][dkim_domain] += int(messages)
        if spf_domain:
            seen["spf_domains"][spf_domain] += int(messages)
        if reasons:
            seen["reasons"].update(reasons.split())
    for row in session.execute(
        select(R.policy_domain, R.source_ip, *_counts())
        .where(*where)
        .group_by(R.policy_domain, R.source_ip)
        .order_by(R.policy_domain, (func.sum(R.messages) - _sum_if(_passing())).desc())
    ).mappings():
        seen = identities[(row["policy_domain"], row["source_ip"])]
        dkim_domains = sorted(seen["dkim_domains"], key=seen["dkim_domains"].get, reverse=True)
        spf_domains = sorted(seen["spf_domains"], key=seen["spf_domains"].get, reverse=True)
        ptr = ptr_names.get(row["source_ip"])
        name, esp = name_source(row["source_ip"], ptr, dkim_domains, spf_domains)
        messages = int(row["messages"])
        domains[row["policy_domain"]]["sources"].append(
            {
                "ip": row["source_ip"],
                "name": name,
                "esp": esp,
                "ptr_domain": ptr,
                "messages": messages,
                "dmarc_pass": int(row["dmarc_pass"]),
                "dmarc_fail": messages - int(row["dmarc_pass"]),
                "spf_aligned": int(row["spf_aligned"]),
                "dkim_aligned": int(row["dkim_aligned"]),
                "pass_rate": _rate(row["dmarc_pass"], messages),
                "dispositions": {k: int(row[k]) for k in ("none", "quarantine", "reject")},
                "dkim_domains": dkim_domains,
                "spf_domains": spf_domains,
                "reasons": sorted(seen["reasons"]),
            }
        )


def domain_figures(session: Session, *, start: date, end: date) -> dict[str, tuple[int, int]]:
    """Per policy domain, messages and DMARC-passing messages in the window (for gauges)."""
    rows = session.execute(
        select(R.policy_domain, func.sum(R.messages), _sum_if(_passing()))
        .where(*_window(start, end, None))
        .group_by(R.policy_domain)
    )
    return {domain: (int(messages), int(passing)) for domain, messages, passing in rows}


def source_ips(session: Session, *, start: date, end: date, domain: str | None) -> list[str]:
    """Source IPs of the window, most messages first (whose PTR names are worth looking up)."""
    return list(
        session.scalars(
            select(R.source_ip)
            .where(*_window(start, end, domain))
            .group_by(R.source_ip)
            .order_by(func.sum(R.messages).desc())
        )
    )


def tls_summary(
    session: Session, *, start: date, end: date, domain: str | None = None
) -> dict[str, dict[str, Any]]:
    """Per policy domain: successful and failed TLS sessions, failures by result type."""
    conditions = [TlsPolicyResult.day >= start, TlsPolicyResult.day <= end]
    if domain:
        conditions.append(TlsPolicyResult.policy_domain == domain.lower().rstrip("."))
    summary: dict[str, dict[str, Any]] = {}
    for policy_domain, successful, failed in session.execute(
        select(
            TlsPolicyResult.policy_domain,
            func.sum(TlsPolicyResult.successful),
            func.sum(TlsPolicyResult.failed),
        )
        .where(*conditions)
        .group_by(TlsPolicyResult.policy_domain)
    ):
        summary[policy_domain] = {
            "successful": int(successful),
            "failed": int(failed),
            "failures": {},
        }
    for policy_domain, result_type, sessions in session.execute(
        select(
            TlsPolicyResult.policy_domain,
            TlsFailureDetail.result_type,
            func.sum(TlsFailureDetail.sessions),
        )
        .join(TlsPolicyResult, TlsPolicyResult.id == TlsFailureDetail.policy_id)
        .where(*conditions)
        .group_by(TlsPolicyResult.policy_domain, TlsFailureDetail.result_type)
    ):
        summary[policy_domain]["failures"][result_type] = int(sessions)
    return summary


def daily_pass_rates(
    session: Session, *, start: date, end: date, domain: str
) -> list[tuple[date, int, int]]:
    """Per day of the window with reports for ``domain``: messages and DMARC-passing messages."""
    rows = session.execute(
        select(R.day, func.sum(R.messages), _sum_if(_passing()))
        .where(*_window(start, end, domain))
        .group_by(R.day)
        .order_by(R.day)
    )
    return [(day, int(messages), int(passing)) for day, messages, passing in rows]
