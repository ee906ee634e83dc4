"""The compliance result types serialise to the contract's JSON, key for key and in order;
the report types give their templates the names the templates read.

Each test builds a literal result and compares its JSON with the dict the
CLI and the API have always printed for it (DESIGN.md "JSON shapes").
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

from checks.findings import Finding
from compliance.audit.hygiene import HygieneFinding
from compliance.audit.list_audit import AuditResult, PreviousAudit, RuleResult
from compliance.audit.thresholds import Thresholds
from compliance.messages.results import (
    BodyUnsubscribeCheck,
    DkimCheck,
    DkimSignature,
    ListUnsubscribeCheck,
    MessageAuditResult,
    OneClickCheck,
    OneClickProbe,
)
from compliance.rates.receivers import SOURCE_NAMES
from compliance.rates.results import (
    DayFigures,
    Figures,
    Freshness,
    LatestDay,
    MetricResult,
    ProfileResult,
    RateSources,
    RatesResult,
    Trend,
)
from monitor.message_audits import AuditedMessage
from reports.compliance_report import MEANINGS, AuditTrendRow, ComplianceReport
from reports.deliverability_report import (
    AlertRow,
    AlertSummary,
    CheckChange,
    DeliverabilityReport,
    ListingRow,
    TargetRow,
)

TYPO = Finding("DOMAIN_TYPO", "warn", "3 subscribed addresses are at misspelt domains.", "Fix.")


def ordered(value: object) -> str:
    """The JSON text, so key order counts in the comparison too."""
    return json.dumps(value)


def test_a_hygiene_finding_is_the_finding_with_its_count_examples_and_domains() -> None:
    typo = HygieneFinding(TYPO, 3, ("gmial.com",), typo_domains={"gmial.com": "gmail.com"})
    expected = {
        "code": "DOMAIN_TYPO",
        "level": "warn",
        "message": "3 subscribed addresses are at misspelt domains.",
        "fix": "Fix.",
        "count": 3,
        "examples": ["gmial.com"],
        "domains": {"gmial.com": "gmail.com"},
    }
    assert ordered(typo.to_json()) == ordered(expected)
    dead = HygieneFinding(
        Finding("DOMAIN_NO_MAIL", "warn", "2 at dead domains.", "Remove."),
        2,
        ("a.example", "b.example"),
        domain_count=2,
    )
    assert dead.to_json() == {
        "code": "DOMAIN_NO_MAIL",
        "level": "warn",
        "message": "2 at dead domains.",
        "fix": "Remove.",
        "count": 2,
        "examples": ["a.example", "b.example"],
        "domains": 2,
    }
    role = HygieneFinding(Finding("ROLE_ACCOUNT", "warn", "1 role account.", "Drop."), 1, ())
    assert "domains" not in role.to_json()


def test_an_audit_is_the_contracts_audit_object() -> None:
    rules = {
        "consent_missing": RuleResult(
            "fail", 2, ("a@example.org", "b@example.org"), "fail", "no consent", None
        ),
        "dormant": RuleResult("pass", 0, (), "warn", "not mailed", 90),
    }
    previous = PreviousAudit(
        date(2026, 11, 29),
        datetime(2026, 11, 29, 6, 0, tzinfo=UTC),
        "warn",
        {"consent_missing": 1, "dormant": 4},
    )
    audit = AuditResult(date(2026, 11, 30), 19, 14, rules, (HygieneFinding(TYPO, 3, ()),), previous)
    expected = {
        "as_of": "2026-11-30",
        "contacts": 19,
        "subscribed": 14,
        "status": "fail",
        "rules": {
            "consent_missing": {
                "status": "fail",
                "count": 2,
                "examples": ["a@example.org", "b@example.org"],
                "level": "fail",
                "description": "no consent",
                "threshold_days": None,
            },
            "dormant": {
                "status": "pass",
                "count": 0,
                "examples": [],
                "level": "warn",
                "description": "not mailed",
                "threshold_days": 90,
            },
        },
        "hygiene": [
            {
                "code": "DOMAIN_TYPO",
                "level": "warn",
                "message": "3 subscribed addresses are at misspelt domains.",
                "fix": "Fix.",
                "count": 3,
                "examples": [],
            }
        ],
        "previous": {
            "as_of": "2026-11-29",
            "ran_at": "2026-11-29T06:00:00+00:00",
            "status": "warn",
            "counts": {"consent_missing": 1, "dormant": 4},
        },
    }
    assert ordered(audit.to_json()) == ordered(expected)
    assert AuditResult(date(2026, 11, 30), 0, 0, {}).to_json()["previous"] is None
    assert AuditResult(date(2026, 11, 30), 0, 0, {}).status == "pass"


NO_LIST = Finding("LIST_UNSUBSCRIBE_MISSING", "fail", "No List-Unsubscribe.", "Add it.")
NOT_ALIGNED = Finding("DKIM_NOT_ALIGNED", "warn", "Not aligned.", "Sign as From.")
NO_ADDRESS = Finding("POSTAL_ADDRESS_MISSING", "info", "No postal address.", "Add one.")


def test_a_message_audit_is_the_contracts_audit_message_object() -> None:
    signature = DkimSignature(
        "esp.example", "s1", ("from", "list-unsubscribe"), True, "", False, False
    )
    result = MessageAuditResult(
        {
            "list_unsubscribe": ListUnsubscribeCheck((NO_LIST,)),
            "one_click": OneClickCheck(
                uri="https://sender.example/u/1", probe=OneClickProbe("pass", 200)
            ),
            "dkim": DkimCheck((NOT_ALIGNED,), signatures=(signature,)),
            "body_unsubscribe": BodyUnsubscribeCheck(links=("https://sender.example/u",)),
        },
        (NO_ADDRESS,),
        message_id="<1@sender.example>",
        subject="News",
        sender="news@sender.example",
        date="2026-11-30T08:00:00+00:00",
        campaign="winter",
    )
    expected = {
        "file": "news.eml",
        "status": "fail",
        "checks": {
            "list_unsubscribe": {
                "status": "fail",
                "findings": [
                    {
                        "code": "LIST_UNSUBSCRIBE_MISSING",
                        "level": "fail",
                        "message": "No List-Unsubscribe.",
                        "fix": "Add it.",
                    }
                ],
                "uris": [],
            },
            "one_click": {
                "status": "pass",
                "findings": [],
                "uri": "https://sender.example/u/1",
                "probe": {"status": "pass", "http_status": 200},
            },
            "dkim": {
                "status": "warn",
                "findings": [
                    {
                        "code": "DKIM_NOT_ALIGNED",
                        "level": "warn",
                        "message": "Not aligned.",
                        "fix": "Sign as From.",
                    }
                ],
                "signatures": [
                    {
                        "domain": "esp.example",
                        "selector": "s1",
                        "headers": ["from", "list-unsubscribe"],
                        "verified": True,
                        "reason": "",
                        "aligned_strict": False,
                        "aligned_relaxed": False,
                    }
                ],
                "aligned_strict": False,
                "aligned_relaxed": False,
            },
            "body_unsubscribe": {
                "status": "pass",
                "findings": [],
                "links": ["https://sender.example/u"],
            },
        },
        "findings": [
            {
                "code": "POSTAL_ADDRESS_MISSING",
                "level": "info",
                "message": "No postal address.",
                "fix": "Add one.",
            }
        ],
        "message_id": "<1@sender.example>",
        "subject": "News",
        "from": "news@sender.example",
        "date": "2026-11-30T08:00:00+00:00",
        "campaign": "winter",
    }
    assert ordered(AuditedMessage("news.eml", result).to_json()) == ordered(expected)
    # Not probed: no "probe" key at all, as before.
    assert "probe" not in OneClickCheck(uri=None).to_json()


def test_an_unread_message_has_no_checks_and_the_status_of_its_finding() -> None:
    problem = Finding("MESSAGE_UNREADABLE", "error", "Not a readable message.", "Send RFC 5322.")
    assert ordered(MessageAuditResult.unread(problem).to_json()) == ordered(
        {
            "status": "error",
            "checks": {},
            "findings": [
                {
                    "code": "MESSAGE_UNREADABLE",
                    "level": "error",
                    "message": "Not a readable message.",
                    "fix": "Send RFC 5322.",
                }
            ],
        }
    )


def test_a_message_check_takes_its_status_from_its_findings_as_a_probe_does() -> None:
    info_only = BodyUnsubscribeCheck((NO_ADDRESS,))
    assert info_only.status == "pass"
    assert DkimCheck((NOT_ALIGNED, NO_ADDRESS)).status == "warn"


def figures(sent: int, delivered: int, complaints: int, complaint_rate: float | None) -> Figures:
    return Figures(sent, delivered, 1, 0, complaints, 0, 0, 0, 0, 0.01, 0.01, complaint_rate)


FIGURES_JSON = {
    "sent": 100,
    "delivered": 99,
    "bounced_hard": 1,
    "bounced_soft": 0,
    "complaints": 1,
    "unsubscribes": 0,
    "opens": 0,
    "machine_opens": 0,
    "clicks": 0,
    "bounce_rate": 0.01,
    "hard_bounce_rate": 0.01,
    "complaint_rate": 0.010101,
}


def test_rates_are_the_contracts_rates_object() -> None:
    day = date(2026, 11, 30)
    complaint = MetricResult(
        0.010101, 0.001, 0.003, "fail", LatestDay(day, "today", 0.02, 50), as_of=day
    )
    spam = MetricResult(
        0.004, 0.001, 0.003, "fail", source="gmail_postmaster", as_of=day, domain="a.example"
    )
    low = Finding("RATES_LOW_VOLUME", "error", "Too few.", "Wait.")
    gmail = ProfileResult(
        "fail",
        "gmail",
        "Gmail",
        "mailbox-provider",
        True,
        {"complaint_rate": complaint, "spam_rate": spam},
        (low,),
        ("https://support.google.com/",),
        delivered=99,
        needed=100,
        trends={"complaint_rate": Trend(0.000123456789, date(2026, 12, 3))},
        requirements=("one_click",),
    )
    borrowed = ProfileResult(
        "fail", "all", "Brevo", "esp", False, {}, (low,), (), judged_by="gmail"
    )
    rates = RatesResult(
        as_of=day,
        days=1,
        first=day,
        totals=figures(100, 99, 1, 0.010101),
        providers={"gmail": figures(100, 99, 1, 0.010101)},
        profiles={"gmail": gmail, "brevo": borrowed},
        sources=RateSources(Freshness(day), 2, gmail_postmaster=Freshness(None)),
        daily=(DayFigures(day, figures(100, 99, 1, 0.010101)),),
        daily_by_provider={"gmail": (DayFigures(day, figures(100, 99, 1, 0.010101)),)},
    )
    low_json = {"code": "RATES_LOW_VOLUME", "level": "error", "message": "Too few.", "fix": "Wait."}
    expected = {
        "as_of": "2026-11-30",
        "days": 1,
        "from": "2026-11-30",
        **FIGURES_JSON,
        "providers": {"gmail": FIGURES_JSON},
        "profiles": {
            "gmail": {
                "status": "fail",
                "scope": "gmail",
                "title": "Gmail",
                "kind": "mailbox-provider",
                "published": True,
                "delivered": 99,
                "needed": 100,
                "metrics": {
                    "complaint_rate": {
                        "value": 0.010101,
                        "warn": 0.001,
                        "fail": 0.003,
                        "status": "fail",
                        "latest": {
                            "day": "2026-11-30",
                            "label": "today",
                            "value": 0.02,
                            "delivered": 50,
                        },
                        "source": "esp_events",
                        "as_of": "2026-11-30",
                    },
                    "spam_rate": {
                        "value": 0.004,
                        "warn": 0.001,
                        "fail": 0.003,
                        "status": "fail",
                        "source": "gmail_postmaster",
                        "as_of": "2026-11-30",
                        "domain": "a.example",
                    },
                },
                "trends": {
                    "complaint_rate": {"slope_per_day": 0.00012346, "crosses_fail_on": "2026-12-03"}
                },
                "findings": [low_json],
                "sources": ["https://support.google.com/"],
                "requirements": ["one_click"],
            },
            "brevo": {
                "status": "fail",
                "scope": "all",
                "title": "Brevo",
                "kind": "esp",
                "published": False,
                "judged_by": "gmail",
                "metrics": {},
                "findings": [low_json],
                "sources": [],
            },
        },
        "sources": {
            "esp_events": {"as_of": "2026-11-30"},
            "arf": {"complaints": 2},
            "gmail_postmaster": {"as_of": None},
        },
        "status": "fail",
        "daily": [{"day": "2026-11-30", **FIGURES_JSON}],
        "daily_by_provider": {"gmail": [{"day": "2026-11-30", **FIGURES_JSON}]},
    }
    assert ordered(rates.to_json()) == ordered(expected)


def test_a_metric_without_a_latest_day_still_says_so_and_snds_has_no_gmail_source() -> None:
    assert MetricResult(None, 0.001, 0.003, "error").to_json() == {
        "value": None,
        "warn": 0.001,
        "fail": 0.003,
        "status": "error",
        "latest": None,
        "source": "esp_events",
        "as_of": None,
    }
    sources = RateSources(Freshness(None), 0, snds=Freshness(date(2026, 11, 29)))
    assert ordered(sources.to_json()) == ordered(
        {"esp_events": {"as_of": None}, "arf": {"complaints": 0}, "snds": {"as_of": "2026-11-29"}}
    )


def empty_rates(day: date) -> RatesResult:
    nothing = Figures(0, 0, 0, 0, 0, 0, 0, 0, 0, None, None, None)
    return RatesResult(day, 1, day, nothing, {}, {}, RateSources(Freshness(None), 0))


OFFENDER = {
    "address": "a***@example.org",
    "reference": "R1",
    "list_name": "news",
    "status": "subscribed",
    "evidence": None,
}


def test_the_compliance_report_gives_its_template_the_names_it_always_read() -> None:
    day = date(2026, 11, 30)
    audit = AuditResult(day, 3, 2, {})
    trend = (AuditTrendRow(day, "warn", {"dormant": 1}),)
    report = ComplianceReport(
        organisation="Org",
        period_from=date(2026, 11, 1),
        period_to=day,
        as_of=day,
        generated_at=datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC),
        generated_by="me",
        masked=True,
        audit=audit,
        thresholds=Thresholds(),
        trend=trend,
        subscribed=2,
        full_double_optin=1,
        messages_audited=4,
        one_click_pass=3,
        erasures={"erased": 1},
        rates=empty_rates(day),
        appendix={"dormant": (OFFENDER,)},
        appendix_rows=25,
        trend_chart=None,
        rate_charts=(),
    )
    context = report.template_context()
    assert context == {
        "organisation": "Org",
        "period_from": "2026-11-01",
        "period_to": "2026-11-30",
        "as_of": "2026-11-30",
        "generated_at": "2026-12-01T08:00:00+00:00",
        "generated_by": "me",
        "masked": True,
        "audit": audit,
        "meanings": MEANINGS,
        "thresholds": {
            "consent_stale_days": 540,
            "dormant_days": 90,
            "inactive_days": 365,
            "unsubscribe_grace_days": 2,
            "retention_days": 30,
        },
        "trend": trend,
        "evidence": {"subscribed": 2, "full_double_optin": 1},
        "messages": {"audited": 4, "one_click_pass": 3},
        "erasures": {"erased": 1},
        "rates": report.rates,
        "purges": [],
        "actions": [],
        "drops": [],
        "appendix": {"dormant": (OFFENDER,)},
        "exit_rules": [
            "mailed_after_unsubscribe",
            "mailed_after_hard_bounce",
            "mailed_after_complaint",
        ],
        "appendix_rows": 25,
        "has_data": True,
        "charts": {"trend": None, "rates": []},
    }


def test_the_deliverability_report_gives_its_template_the_names_it_always_read() -> None:
    day = date(2026, 11, 30)
    change = CheckChange("dmarc", "pass", "fail", "2026-11-29T10:00+00:00")
    listing = ListingRow("192.0.2.1", "bl.example", "2026-11-29T10:00+00:00", None, 5.0, None)
    opened = "2026-11-29T10:00+00:00"
    alert = AlertRow(7, "a.example", "dmarc", "fail", "DMARC fails", opened, True, None, None)
    target = TargetRow("a.example", "domain", "fail", {"dmarc": "fail"}, (change,), (), 1)
    summary = AlertSummary(1, 0, 1, None, None)
    report = DeliverabilityReport(
        organisation="Org",
        period_from=date(2026, 11, 1),
        period_to=day,
        providers=(),
        generated_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        generated_by="me",
        targets=(target,),
        transport=[],
        listings=(listing,),
        alerts=(alert,),
        alert_summary=summary,
        rates=empty_rates(day),
        rate_charts=(),
        dmarc={"domains": {}, "charts": {}, "tls": {}},
    )
    assert report.template_context() == {
        "organisation": "Org",
        "period_from": "2026-11-01",
        "period_to": "2026-11-30",
        "providers": [],
        "source_names": SOURCE_NAMES,
        "generated_at": "2026-12-01T08:00:00+00:00",
        "generated_by": "me",
        "targets": (target,),
        "transport": [],
        "status": "fail",
        "listings": (listing,),
        "alerts": (alert,),
        "alert_summary": summary,
        "rates": report.rates,
        "charts": {"rates": []},
        "dmarc": {"domains": {}, "charts": {}, "tls": {}},
        "first": [],
        "failing_targets": 0,
        "has_data": True,
    }
    nothing = replace(report, targets=())
    assert (nothing.status, nothing.has_data) == ("error", False)
