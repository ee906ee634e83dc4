"""The compliance report's figures: gathered once, rendered as HTML/PDF and CSV.

Every figure comes from the same functions the CLI and dashboard use
(``run_audit``, ``offenders``, ``rates_report``), so the report and an audit
of the same date cannot disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from compliance.audit import OFFENDER_COLUMNS, all_offenders, offenders, run_audit
from compliance.csv_files import CsvWriter
from compliance.erasure import retention_purges
from compliance.exit_evidence import (
    EVIDENCE_COLUMNS,
    EXIT_RULES,
    exit_evidence,
    mailings_text,
)
from compliance.limit_profiles import LimitProfile
from compliance.rates import DEFAULT_MIN_DELIVERED, rates_report
from compliance.suppression import salt
from compliance.thresholds import Thresholds
from reports.charts import count_chart, profile_rate_charts
from reports.erasure_wording import purge_sentence
from reports.masking import mask, reference
from reports.trail import sha256_of
from store.contacts import AuditRun, Contact, Suppression
from store.messages import MessageAudit

# What each rule means for the organisation, in one plain sentence.
MEANINGS = {
    "consent_missing": "Mailing without any record of consent or another legal basis is "
    "unlawful marketing under GDPR Art. 6 and the ePrivacy rules.",
    "optin_unconfirmed": "Single opt-in does not prove that the address owner consented; "
    "German courts require double opt-in as evidence.",
    "optin_evidence_incomplete": "Consent that was confirmed but cannot be shown in full "
    "(time, IP, order) may not stand as proof (GDPR Art. 7(1)).",
    "consent_stale": "Consent left unused this long has been held to lapse "
    "(LG München I, 17 HK O 138/10).",
    "dormant": "Addresses not mailed for months bounce and complain more when mailed again.",
    "inactive": "Recipients who never engage hurt inbox placement and may no longer want the mail.",
    "mailed_after_unsubscribe": "An objection must be honoured: Gmail and Yahoo require "
    "it within 2 days, CAN-SPAM within 10 business days, GDPR Art. 21(3) at once.",
    "mailed_after_hard_bounce": "Mailing addresses known not to exist damages the sender's "
    "reputation and may hit spam traps.",
    "mailed_after_complaint": "Mailing people who reported spam ignores an objection and "
    "drives complaint rates over providers' limits.",
    "retention_exceeded": "Personal data kept without a purpose breaches storage limitation "
    "(GDPR Art. 5(1)(e)); keep only a suppression hash.",
}


# What to do first about each rule, in one line (page 1 lists the failing ones).
FIXES = {
    "consent_missing": "Stop mailing them until consent or another legal basis is recorded.",
    "optin_unconfirmed": "Send a confirmation request; stop mailing those who do not confirm.",
    "optin_evidence_incomplete": "Re-import confirmation time and IP from the sign-up system.",
    "consent_stale": "Ask for fresh consent or remove them from the list.",
    "dormant": "Re-engage them with a small campaign or stop mailing them.",
    "inactive": "Run a re-engagement campaign; suppress those who do not respond.",
    "mailed_after_unsubscribe": "Sync unsubscribes into every sending tool before each "
    "campaign; suppress these people now.",
    "mailed_after_hard_bounce": "Suppress hard-bounced addresses in every sending tool.",
    "mailed_after_complaint": "Suppress complainers everywhere and process feedback-loop reports.",
    "retention_exceeded": "Erase them: the daily purge of `postwarden serve` does, or erase now.",
}


@dataclass(frozen=True)
class ReportFile:
    """A file belonging to a report, named and hashed in the PDF."""

    name: str
    sha256: str


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def write_offenders_csv(
    session: Session, as_of: date, thresholds: Thresholds, path: Path, *, masked: bool
) -> ReportFile:
    """Every offender of every rule into ``path`` (streamed), with the file's SHA-256.

    Rows of the exit rules carry the exit and the mailings after it (one lookup per
    exit rule, for all its offenders); the addresses are masked after that lookup.
    """
    evidence = {rule: exit_evidence(session, rule, as_of, None, thresholds) for rule in EXIT_RULES}
    name, address = 1 + OFFENDER_COLUMNS.index("list_name"), 1 + OFFENDER_COLUMNS.index("address")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = CsvWriter(handle)
        writer.writerow(("rule", *OFFENDER_COLUMNS, *EVIDENCE_COLUMNS))
        for row in all_offenders(session, as_of, thresholds):
            found = evidence.get(row[0], {}).get((row[name], row[address]))
            cells = list(row)
            if masked:
                cells[address] = mask(cells[address])
            if found is None:
                writer.writerow((*cells, None, None, None))
            else:
                writer.writerow((*cells, found.exit_at, found.how, mailings_text(found.mailings)))
    return ReportFile(path.name, sha256_of(path))


def compliance_report(
    session: Session,
    *,
    period_from: date,
    period_to: date,
    as_of: date,
    organisation: str,
    generated_by: str,
    profiles: dict[str, LimitProfile],
    thresholds: Thresholds | None = None,
    masked: bool = True,
    appendix_rows: int = 25,
    min_delivered: int = DEFAULT_MIN_DELIVERED,
) -> dict[str, Any]:
    """The figures of the compliance report (a dict the templates render)."""
    thresholds = thresholds or Thresholds()
    audit = run_audit(session, as_of, thresholds)
    start, end = _day_start(period_from), _day_start(period_to + timedelta(days=1))
    trend = list(
        session.scalars(
            select(AuditRun)
            .where(AuditRun.as_of >= period_from, AuditRun.as_of <= period_to)
            .order_by(AuditRun.as_of, AuditRun.id)
        )
    )
    subscribed = Contact.status == "subscribed"
    full_evidence = (
        Contact.optin_time.is_not(None)
        & Contact.confirm_time.is_not(None)
        & Contact.confirm_ip.is_not(None)
    )
    evidence = session.execute(
        select(func.count(), func.sum(case((full_evidence, 1), else_=0))).where(subscribed)
    ).one()
    messages = session.execute(
        select(MessageAudit.checks).where(
            MessageAudit.audited_at >= start, MessageAudit.audited_at < end
        )
    ).scalars()
    one_click = [checks.get("one_click") for checks in messages]
    erasures = dict(
        session.execute(
            select(Suppression.reason, func.count())
            .where(Suppression.created_at >= start, Suppression.created_at < end)
            .group_by(Suppression.reason)
        ).all()
    )
    rates = rates_report(session, profiles, as_of=period_to, min_delivered=min_delivered,
                         days=max(1, (period_to - period_from).days + 1))  # fmt: skip
    appendix = _appendix(session, audit, as_of, thresholds, masked, appendix_rows)
    purges = [
        {"at": at.isoformat(), "erased": erased,
         "sentence": purge_sentence(at, erased, thresholds.retention_days)}
        for at, erased in retention_purges(session, start, end)
    ]  # fmt: skip
    contacts_total, confirmed_full = evidence
    trend_rows: list[dict[str, Any]] = [
        {
            "as_of": run.as_of.isoformat(),
            "status": run.status,
            "counts": {name: rule.get("count", 0) for name, rule in run.rules.items()},
        }
        for run in trend
    ]
    return {
        "organisation": organisation,
        "period_from": period_from.isoformat(),
        "period_to": period_to.isoformat(),
        "as_of": as_of.isoformat(),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "generated_by": generated_by,
        "masked": masked,
        "audit": audit,
        "meanings": MEANINGS,
        "thresholds": asdict(thresholds),
        "trend": trend_rows,
        "evidence": {
            "subscribed": int(contacts_total or 0),
            "full_double_optin": int(confirmed_full or 0),
        },
        "messages": {
            "audited": len(one_click),
            "one_click_pass": sum(1 for status in one_click if status == "pass"),
        },
        "erasures": {str(reason): int(count) for reason, count in erasures.items()},
        "purges": purges,
        "actions": [
            {"rule": name, "count": rule["count"], "level": rule["level"], "fix": FIXES[name]}
            for name, rule in audit["rules"].items()
            if rule["count"] and rule["level"] == "fail"
        ]
        + [
            {"rule": name, "count": rule["count"], "level": rule["level"], "fix": FIXES[name]}
            for name, rule in audit["rules"].items()
            if rule["count"] and rule["level"] != "fail"
        ],
        "drops": _drops(trend_rows, audit, purges),
        "rates": rates,
        "appendix": appendix,
        "exit_rules": list(EXIT_RULES),
        "appendix_rows": appendix_rows,
        "has_data": bool(audit["contacts"] or rates["sent"] or one_click),
        "charts": {
            # Rule counts across the period's stored audits (two points make a trend).
            "trend": count_chart(
                "Contacts flagged per rule, by audit",
                [row["as_of"] for row in trend_rows],
                {name: [row["counts"].get(name, 0) for row in trend_rows] for name in MEANINGS},
            )
            if len(trend_rows) > 1
            else None,
            "rates": profile_rate_charts(rates) if rates["sent"] else [],
        },
    }


def _appendix(
    session: Session,
    audit: dict[str, Any],
    as_of: date,
    thresholds: Thresholds,
    masked: bool,
    limit: int,
) -> dict[str, list[dict[str, Any]]]:
    """Up to ``limit`` offenders per flagging rule: who (masked, with a reference telling
    alike masks apart), on which list, and for the exit rules the exit and the mailings
    after it (one evidence lookup per rule for the listed people)."""
    key = salt(session) if masked else b""
    at = {name: OFFENDER_COLUMNS.index(name) for name in ("list_name", "address", "status")}
    appendix: dict[str, list[dict[str, Any]]] = {}
    for rule, figures in audit["rules"].items():
        if not figures["count"]:
            continue
        listed = []
        for row in offenders(session, rule, as_of, thresholds):
            listed.append(row)
            if len(listed) >= limit:
                break
        keys = [(row[at["list_name"]], row[at["address"]]) for row in listed]
        evidence = (
            exit_evidence(session, rule, as_of, keys, thresholds) if rule in EXIT_RULES else {}
        )
        appendix[rule] = [
            {
                "address": mask(address) if masked else address,
                "reference": reference(key, address) if masked else None,
                "list_name": list_name,
                "status": row[at["status"]],
                "evidence": evidence.get((list_name, address)),
            }
            for row, (list_name, address) in zip(listed, keys, strict=True)
        ]
    return appendix


def _drops(
    trend: list[dict[str, Any]], audit: dict[str, Any], purges: list[dict[str, Any]]
) -> list[str]:
    """Why a rule's count fell within the period, where the retention purge explains it."""
    if not trend or not purges:
        return []
    name = "retention_exceeded"
    before = max(row["counts"].get(name, 0) for row in trend)
    after = audit["rules"][name]["count"]
    if after >= before:
        return []
    when = "; ".join(purge["sentence"] for purge in purges)
    return [
        f"{name} fell from {before} to {after} within the period because the retention purge "
        f"erased people who had left: {when}. Erased people are no longer contacts, so the "
        "contact count fell too; their addresses are kept only as salted "
        "hashes on the suppression list."
    ]
