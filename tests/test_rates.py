"""Rates against limit profiles: hand-computed fixtures, imported through the real CLI."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from compliance.rates.limit_profiles import ProfileError, Threshold, load_profiles, parse_profile
from compliance.rates.providers import provider_of
from compliance.rates.report import Totals, fit_trend, judge
from tests.conftest import postwarden

AS_OF = date(2026, 11, 30)
HEADER = ["event_id", "type", "bounce_type", "recipient", "time", "campaign", "message_id"]


@pytest.mark.parametrize(
    ("domain", "provider"),
    [
        ("gmail.com", "gmail"),
        ("GoogleMail.com", "gmail"),
        ("yahoo.com", "yahoo"),
        ("yahoo.co.uk", "yahoo"),
        ("ymail.com", "yahoo"),
        ("aol.com", "yahoo"),
        ("hotmail.co.uk", "microsoft"),
        ("live.de", "microsoft"),
        ("outlook.com.br", "microsoft"),
        ("msn.com", "microsoft"),
        ("live.example.com", "other"),
        ("mail.yahoo.example", "other"),
        ("example.org", "other"),
    ],
)
def test_recipient_domains_map_to_providers(domain: str, provider: str) -> None:
    assert provider_of(domain) == provider


def test_a_profile_judges_each_metric_by_its_lines() -> None:
    profile = parse_profile(
        {"name": "p", "metrics": {"complaint_rate": {"warn": 0.001, "fail": 0.003}}}, "p.toml"
    )
    assert judge(profile, Totals(sent=1000, delivered=1000, complaints=0), 100)[0] == "pass"
    assert judge(profile, Totals(sent=1000, delivered=1000, complaints=1), 100)[0] == "warn"
    status, metrics, findings = judge(profile, Totals(sent=1000, delivered=1000, complaints=3), 100)
    assert (status, metrics["complaint_rate"].value) == ("fail", 0.003)
    assert findings[0].code == "RATE_OVER_FAIL" and "(3 of 1000)" in findings[0].message


def test_too_little_volume_is_error_and_invents_no_rate() -> None:
    profile = parse_profile({"name": "p", "metrics": {"bounce_rate": {"fail": 0.05}}}, "p.toml")
    status, metrics, findings = judge(profile, Totals(sent=99, delivered=99, bounced_hard=9), 100)
    assert (status, metrics["bounce_rate"].value) == ("error", None)
    assert findings[0].code == "RATES_LOW_VOLUME"


def test_sent_falls_back_to_the_outcomes_when_no_sending_is_reported() -> None:
    traffic = Totals(delivered=95, bounced_hard=4, bounced_soft=1)
    assert traffic.rate("bounce_rate") == 0.05
    assert traffic.rate("hard_bounce_rate") == 0.04
    assert Totals().rate("complaint_rate") is None


def test_a_rising_trend_is_projected_to_the_fail_line() -> None:
    today = date(2026, 11, 30).toordinal()
    rising = [(today - 9 + n, 0.001 + 0.0001 * n) for n in range(10)]  # 0.0019 today
    trend = fit_trend(rising, 0.003, today)
    assert trend is not None and trend.crosses_fail_on == date(2026, 12, 11)
    falling = [(today - 9 + n, 0.002 - 0.0001 * n) for n in range(10)]
    assert fit_trend(falling, 0.003, today).crosses_fail_on is None  # type: ignore[union-attr]
    assert fit_trend(rising[:4], 0.003, today) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "scope": "hotmail"}, "scope must be one of"),
        ({"name": "x", "metrics": {"open_rate": {"fail": 0.1}}}, "metrics.open_rate: not one of"),
        ({"name": "x", "metrics": {"bounce_rate": {"fail": 5}}}, "must be a fraction"),
        (
            {"name": "x", "metrics": {"bounce_rate": {"warn": 0.1, "fail": 0.05}}},
            "warn must be below",
        ),
        ({"name": "x", "colour": "red"}, "unknown key 'colour'"),
        ({"name": "x", "requirements": ["spf", "one_clik"]}, "'one_clik' is not one of"),
        ({"name": "x", "requirements": "spf"}, "requirements must be a list"),
    ],
)
def test_bad_profiles_name_the_file_and_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ProfileError, match=message) as caught:
        parse_profile(data, "mine.toml")
    assert str(caught.value).startswith("mine.toml: ")


def test_the_shipped_profiles_are_the_designs() -> None:
    profiles = load_profiles()
    assert list(profiles)[:4] == ["default", "gmail", "yahoo", "microsoft"]
    assert profiles["default"].metrics["bounce_rate"] == Threshold(0.02, 0.05)
    assert profiles["gmail"].scope == "gmail"
    assert profiles["ses"].metrics["hard_bounce_rate"] == Threshold(0.05, 0.10)
    assert profiles["brevo"].metrics["complaint_rate"] == Threshold(None, 0.002)
    assert (profiles["sendgrid"].published, profiles["sendgrid"].metrics) == (False, {})
    assert all(p.sources for p in profiles.values())
    # Each mailbox provider its own list: Microsoft's 2025 rules name no RFC 8058 one-click.
    assert "one_click_unsubscribe" in profiles["gmail"].requirements
    assert "one_click_unsubscribe" in profiles["yahoo"].requirements
    assert "one_click_unsubscribe" not in profiles["microsoft"].requirements
    assert {"spf", "dkim", "dmarc", "unsubscribe_link"} <= set(profiles["microsoft"].requirements)


def write_traffic(path: Path) -> None:
    """10,200 messages over the window; only Gmail recipients complain (4 of 1,000)."""
    start = datetime(2026, 11, 1, 9, tzinfo=UTC)
    rows = []
    plan = [("gmail.com", 1000, 4), ("yahoo.com", 2000, 0), ("example.org", 7000, 0)]
    number = 0
    for domain, delivered, complaints in plan:
        for n in range(delivered):
            number += 1
            at = (start + timedelta(days=n % 30, minutes=n % 600)).isoformat()
            who = f"r{number}@{domain}"
            rows.append([f"s{number}", "sent", "", who, at, "nov", f"m{number}"])
            rows.append([f"d{number}", "delivered", "", who, at, "nov", f"m{number}"])
            if n < complaints:
                rows.append([f"c{number}", "complaint", "", who, at, "nov", f"m{number}"])
    for n in range(200):  # 200 more sent to example.org: 80 hard and 20 soft bounces
        number += 1
        at = (start + timedelta(days=n % 30)).isoformat()
        who = f"b{number}@example.org"
        rows.append([f"s{number}", "sent", "", who, at, "dec", f"m{number}"])
        if n < 80:
            rows.append([f"h{number}", "bounce", "hard", who, at, "dec", f"m{number}"])
        elif n < 100:
            rows.append([f"f{number}", "bounce", "soft", who, at, "dec", f"m{number}"])
        else:
            rows.append([f"d{number}", "delivered", "", who, at, "dec", f"m{number}"])
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)


def test_a_gmail_only_complaint_spike_fails_gmail_while_default_passes(
    tmp_path: Path, database_url: str
) -> None:
    events = tmp_path / "events.csv"
    write_traffic(events)
    imported = postwarden("import", "events", str(events), "--db", database_url)
    assert imported.code == 0, imported.stderr
    assert "20404 events imported, 0 duplicates skipped" in imported.stdout
    result = postwarden(
        "rates", "--as-of", AS_OF.isoformat(), "--days", "30", "--db", database_url,
        "--format", "json",
    )  # fmt: skip
    assert result.code == 2, result.stderr
    report = result.json()
    assert (report["as_of"], report["days"]) == ("2026-11-30", 30)
    assert (report["sent"], report["delivered"]) == (10200, 10100)
    assert (report["bounced_hard"], report["bounced_soft"], report["complaints"]) == (80, 20, 4)
    assert report["bounce_rate"] == round(100 / 10200, 6)
    assert report["hard_bounce_rate"] == round(80 / 10200, 6)
    assert report["complaint_rate"] == round(4 / 10100, 6)
    profiles = report["profiles"]
    assert profiles["default"]["status"] == "pass"
    gmail = profiles["gmail"]
    assert (gmail["status"], gmail["scope"]) == ("fail", "gmail")
    complaint_rate = gmail["metrics"]["complaint_rate"]
    assert {k: complaint_rate[k] for k in ("value", "warn", "fail", "status")} == {
        "value": 0.004,
        "warn": 0.001,
        "fail": 0.003,
        "status": "fail",
    }
    assert complaint_rate["source"] == "esp_events" and complaint_rate["as_of"] <= "2026-11-30"
    assert "GMAIL_ESP_UNDERCOUNTS" in {f["code"] for f in gmail["findings"]}
    assert profiles["yahoo"]["status"] == "pass"
    assert profiles["microsoft"]["status"] == "error"  # no Microsoft recipients at all
    assert profiles["ses"]["status"] == "pass"
    assert (profiles["sendgrid"]["published"], profiles["sendgrid"]["judged_by"]) == (
        False,
        "default",
    )
    only_default = postwarden(
        "rates", "--as-of", "2026-11-30", "--profile", "default", "--db", database_url
    )
    assert only_default.code == 0 and "gmail" not in only_default.stdout
    # a re-import counts nothing twice
    again = postwarden("import", "events", str(events), "--db", database_url)
    assert "0 events imported, 20404 duplicates skipped" in again.stdout
    report_again = postwarden(
        "rates", "--as-of", "2026-11-30", "--db", database_url, "--format", "json"
    ).json()
    assert report_again["delivered"] == 10100
