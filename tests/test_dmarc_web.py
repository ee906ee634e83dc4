"""The DMARC pages: a domain's sources, daily pass-rate chart, verdict and TLS figures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from flask import Flask

from compliance.dmarc_reports.generate import Row, aggregate_xml, tls_json
from compliance.dmarc_reports.importer import import_report_file
from monitor.dmarc_alerts import alert_on_reports
from monitor.settings import Settings
from store.engine import open_database, session_factory
from tests.test_web import logged_in, populated_app

DOMAIN = "shop.example"
OWN = Row("192.0.2.10", 900, header_from=DOMAIN, dkim_domain=DOMAIN, spf_domain=DOMAIN)
# SendGrid signs with its own domain and bounces to its own: fails DMARC, legitimate.
ESP = Row(
    "167.89.0.5",
    100,
    dkim="fail",
    spf="fail",
    header_from=DOMAIN,
    dkim_domain="sendgrid.net",
    spf_domain="sendgrid.net",
)


def seed_reports(tmp_path: Path, url: str) -> list[str]:
    """Three days of reports: 100%, 90%, 90% passing; one TLS report with failures."""
    engine = open_database(url)
    sessions = session_factory(engine)
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in (3, 2, 1)]
    with sessions() as session:
        for n, day in enumerate(days):
            begin = datetime.combine(day, time(), UTC)
            rows = [OWN] if n == 0 else [OWN, ESP]
            path = tmp_path / f"r{n}.xml"
            path.write_bytes(
                aggregate_xml(
                    org_name="google.com",
                    report_id=f"r{n}",
                    domain=DOMAIN,
                    begin=begin,
                    end=begin + timedelta(hours=23),
                    rows=rows,
                )
            )
            import_report_file(session, path, now=datetime.now(UTC))
        begin = datetime.combine(days[-1], time(), UTC)
        path = tmp_path / "tls.json"
        path.write_bytes(
            tls_json(
                org_name="google.com",
                report_id="t1",
                domain=DOMAIN,
                begin=begin,
                end=begin + timedelta(hours=23),
                successful=990,
                failures={"certificate-expired": 10},
                mx_host="mx.shop.example",
            )
        )
        import_report_file(session, path, now=datetime.now(UTC))
        alert_on_reports(session, datetime.now(UTC), Settings(database_url=url))
        session.commit()
    engine.dispose()
    return [day.isoformat() for day in days]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    yield from populated_app(tmp_path, seed_reports)


def test_the_domain_page_shows_sources_worst_first_the_chart_the_verdict_and_tls(
    app: Flask,
) -> None:
    browser = logged_in(app, "compliance")
    page = browser.get(f"/dmarc/{DOMAIN}").get_data(as_text=True)
    # 2,900 messages, 2,700 passing.
    assert "2,900 messages; 93.10% passed DMARC" in page
    ips = re.findall(r'<tr data-ip="([^"]+)">', page)
    assert ips == ["167.89.0.5", "192.0.2.10"]  # the failing source first
    assert "<td>167.89.0.5</td><td>SendGrid</td>" in page
    assert "Not ready for p=quarantine: 200 of 2,900 messages (6.9%)" in page
    assert "Fix: add an SPF include for SendGrid" in page
    chart = page[page.index('<figure class="chart" id="dmarc-chart"') :]
    assert chart.index("<svg") < chart.index("</figure>")
    assert "DMARC pass rate per day" in chart
    assert "990 TLS sessions succeeded, 10 failed." in page
    assert '<td>certificate-expired</td><td class="number">10</td>' in page
    assert browser.get("/dmarc/unknown.example").status_code == 404


def test_the_index_the_overview_card_and_the_nav_link(app: Flask) -> None:
    browser = logged_in(app, "postmaster")
    index = browser.get("/dmarc").get_data(as_text=True)
    row = re.search(rf'<tr data-domain="{DOMAIN}">(.*?)</tr>', index)
    assert row is not None
    assert '<td class="number">2,900</td><td class="number">93.10%</td>' in row.group(1)
    assert '<span class="status warn">WARN</span> Not ready for p=quarantine' in row.group(1)
    overview = browser.get("/").get_data(as_text=True)
    assert '<a href="/dmarc">DMARC</a>' in overview
    card = overview[overview.index('id="dmarc-card"') :]
    assert f"{DOMAIN}</a>: 2,900 messages, 93.10% pass DMARC" in card[: card.index("</div>")]
    assert browser.get("/dmarc?days=0").status_code == 400


def test_the_days_judgement_is_in_the_api(app: Flask) -> None:
    headers = {"Authorization": f"Bearer {app.config['POSTWARDEN_TOKENS']['compliance']}"}
    answer = (
        app.test_client()
        .get(f"/api/v1/targets/{DOMAIN}", headers=headers, base_url="https://localhost")
        .get_json()
    )
    judged = answer["checks"]["dmarc_reports"]
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    assert (judged["status"], judged["day"], judged["messages"], judged["pass_rate"]) == (
        "fail",
        yesterday,
        1000,
        0.9,
    )
    assert (judged["tls_successful"], judged["tls_failed"]) == (990, 10)
    assert [f["code"] for f in judged["findings"]] == [
        "DMARC_REPORT_PASS_RATE_LOW",
        "TLSRPT_FAILURES",
    ]
