"""The compliance report's figures: gathered once, rendered as HTML/PDF and CSV.

Every figure comes from the same functions the CLI and dashboard use
(``run_audit``, ``offenders``, ``rates_report``), so the report and an audit
of the same date cannot disagree. :func:`compliance_report` returns a
:class:`ComplianceReport`; its ``template_context`` is what the templates read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from compliance.audit.exit_evidence import (
    EVIDENCE_COLUMNS,
    EXIT_RULES,
    exit_evidence,
    mailings_text,
)
from compliance.audit.list_audit import (
    OFFENDER_COLUMNS,
    AuditResult,
    all_offenders,
    offenders,
    run_audit,
)
from compliance.audit.thresholds import Thresholds
from compliance.contacts.erasure import retention_purges
from compliance.contacts.suppression import salt
from compliance.csv_files import CsvWriter
from compliance.rates.limit_profiles import LimitProfile
from compliance.rates.report import rates_report
from compliance.rates.results import RatesResult
from compliance.rates.window import DEFAULT_MIN_DELIVERED
from reports.charts import RatePanel, count_chart, profile_rate_charts
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


@dataclass(frozen=True)
class AuditTrendRow:
    """One stored audit of the period: its date, status and count per rule."""

    as_of: date
    status: str
    counts: Mapping[str, int]


@dataclass(frozen=True)
class ComplianceReport:
    """The compliance report's figures for a period and an as-of day."""

    organisation: str
    period_from: date
    period_to: date
    as_of: date
    generated_at: datetime
    generated_by: str
    masked: bool
    audit: AuditResult
    thresholds: Thresholds
    trend: tuple[AuditTrendRow, ...]
    subscribed: int
    full_double_optin: int
    messages_audited: int
    one_click_pass: int
    erasures: Mapping[str, int]
    rates: RatesResult
    # A few offenders per rule: address (masked unless asked otherwise, with a reference
    # telling alike masks apart), list, status and, for the exit rules, the evidence.
    appendix: Mapping[str, tuple[dict[str, Any], ...]]
    appendix_rows: int
    trend_chart: str | None
    rate_charts: tuple[RatePanel, ...]
    # The retention purges of the period ({at, erased, sentence}) and why counts fell.
    purges: tuple[dict[str, Any], ...] = ()
    drops: tuple[str, ...] = ()

    @property
    def actions(self) -> list[dict[str, Any]]:
        """Page 1's "what to do first": each flagging rule with its count and fix, fails first."""
        flagged = [(name, rule) for name, rule in self.audit.rules.items() if rule.count]
        flagged.sort(key=lambda item: item[1].level != "fail")  # stable: rule order kept
        return [
            {"rule": name, "count": rule.count, "level": rule.level, "fix": FIXES[name]}
            for name, rule in flagged
        ]

    @property
    def has_data(self) -> bool:
        return bool(self.audit.contacts or self.rates.totals.sent or self.messages_audited)

    def template_context(self) -> dict[str, Any]:
        """What ``compliance.html`` reads, by name."""
        return {
            "organisation": self.organisation,
            "period_from": self.period_from.isoformat(),
            "period_to": self.period_to.isoformat(),
            "as_of": self.as_of.isoformat(),
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "generated_by": self.generated_by,
            "masked": self.masked,
            "audit": self.audit,
            "meanings": MEANINGS,
            "thresholds": asdict(self.thresholds),
            "trend": self.trend,
            "evidence": {
                "subscribed": self.subscribed,
                "full_double_optin": self.full_double_optin,
            },
            "messages": {"audited": self.messages_audited, "one_click_pass": self.one_click_pass},
            "erasures": self.erasures,
            "rates": self.rates,
            "purges": list(self.purges),
            "actions": self.actions,
            "drops": list(self.drops),
            "appendix": self.appendix,
            "exit_rules": list(EXIT_RULES),
            "appendix_rows": self.appendix_rows,
            "has_data": self.has_data,
            "charts": {"trend": self.trend_chart, "rates": list(self.rate_charts)},
        }


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
) -> ComplianceReport:
    """The figures of the compliance report."""
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
    rates = rates_report(
        session,
        profiles,
        as_of=period_to,
        min_delivered=min_delivered,
        days=max(1, (period_to - period_from).days + 1),
    )
    appendix = _appendix(session, audit, as_of, thresholds, masked, appendix_rows)
    purges = tuple(
        {
            "at": at.isoformat(),
            "erased": erased,
            "sentence": purge_sentence(at, erased, thresholds.retention_days),
        }
        for at, erased in retention_purges(session, start, end)
    )
    contacts_total, confirmed_full = evidence
    trend_rows = tuple(
        AuditTrendRow(
            run.as_of,
            run.status,
            {name: rule.get("count", 0) for name, rule in run.rules.items()},
        )
        for run in trend
    )
    # Rule counts across the period's stored audits (two points make a trend).
    trend_chart = (
        count_chart(
            "Contacts flagged per rule, by audit",
            [row.as_of.isoformat() for row in trend_rows],
            {name: [row.counts.get(name, 0) for row in trend_rows] for name in MEANINGS},
        )
        if len(trend_rows) > 1
        else None
    )
    return ComplianceReport(
        organisation=organisation,
        period_from=period_from,
        period_to=period_to,
        as_of=as_of,
        generated_at=datetime.now(UTC),
        generated_by=generated_by,
        masked=masked,
        audit=audit,
        thresholds=thresholds,
        trend=trend_rows,
        subscribed=int(contacts_total or 0),
        full_double_optin=int(confirmed_full or 0),
        messages_audited=len(one_click),
        one_click_pass=sum(1 for status in one_click if status == "pass"),
        erasures={str(reason): int(count) for reason, count in erasures.items()},
        rates=rates,
        appendix=appendix,
        appendix_rows=appendix_rows,
        trend_chart=trend_chart,
        purges=purges,
        drops=tuple(_drops(trend_rows, audit, purges)),
        rate_charts=tuple(profile_rate_charts(rates)) if rates.totals.sent else (),
    )


def _appendix(
    session: Session,
    audit: AuditResult,
    as_of: date,
    thresholds: Thresholds,
    masked: bool,
    limit: int,
) -> dict[str, tuple[dict[str, Any], ...]]:
    """Up to ``limit`` offenders per flagging rule: who (masked, with a reference telling
    alike masks apart), on which list, and for the exit rules the exit and the mailings
    after it (one evidence lookup per rule for the listed people)."""
    key = salt(session) if masked else b""
    at = {name: OFFENDER_COLUMNS.index(name) for name in ("list_name", "address", "status")}
    appendix: dict[str, tuple[dict[str, Any], ...]] = {}
    for rule, figures in audit.rules.items():
        if not figures.count:
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
        appendix[rule] = tuple(
            {
                "address": mask(address) if masked else address,
                "reference": reference(key, address) if masked else None,
                "list_name": list_name,
                "status": row[at["status"]],
                "evidence": evidence.get((list_name, address)),
            }
            for row, (list_name, address) in zip(listed, keys, strict=True)
        )
    return appendix


def _drops(
    trend: tuple[AuditTrendRow, ...], audit: AuditResult, purges: tuple[dict[str, Any], ...]
) -> list[str]:
    """Why a rule's count fell within the period, where the retention purge explains it."""
    if not trend or not purges:
        return []
    name = "retention_exceeded"
    before = max(row.counts.get(name, 0) for row in trend)
    after = audit.rules[name].count
    if after >= before:
        return []
    when = "; ".join(purge["sentence"] for purge in purges)
    return [
        f"{name} fell from {before} to {after} within the period because the retention purge "
        f"erased people who had left: {when}. Erased people are no longer contacts, so the "
        "contact count fell too; their addresses are kept only as salted "
        "hashes on the suppression list."
    ]
