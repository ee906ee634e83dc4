"""The receivers' data on the dashboard and the API: the Gmail card, SNDS on the IP page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask import Flask

from compliance.rates.snds_csv import parse_data, parse_ip_status
from monitor.settings import Settings, WebSettings
from monitor.snds import SndsFetch, store_fetch
from store.engine import open_database, session_factory
from store.receivers import GmailDay, GmailDomain
from tests.dashboard_data import populate
from tests.test_web import compliant_sender, logged_in, requirement_cards  # noqa: F401 (fixture)
from web.app import create_app

FIXTURES = Path(__file__).parent / "fixtures" / "snds"


def add_gmail(app: Flask) -> None:
    sessions = app.config["POSTWARDEN_SESSIONS"]
    now = datetime.now(UTC)
    yesterday = now.date() - timedelta(days=1)
    with sessions() as session:
        session.add(
            GmailDomain(
                domain="sender.example",
                verified=True,
                checked_at=now,
                status="pass",
                compliance_at=now,
                compliance={
                    "spf": {"status": "needs_work", "reason": None},
                    "one_click_unsubscribe": {"status": "needs_work", "reason": "NO_UNSUB_GENERAL"},
                },
            )
        )
        session.add(GmailDay(domain="sender.example", day=yesterday, spam_rate=0.0004,
                             metrics={"spam_rate": 0.0004, "tls_inbound_rate": 1.0},
                             fetched_at=now))  # fmt: skip
        session.commit()


def test_the_gmail_card_shows_gmails_verdicts_and_flags_where_they_disagree(
    compliant_sender: Flask,  # noqa: F811 (the imported fixture)
) -> None:
    add_gmail(compliant_sender)
    page = logged_in(compliant_sender, "compliance").get("/").get_data(as_text=True)
    cards = requirement_cards(page)
    assert cards["gmail"]["tls"] == "pass"  # Gmail's encryption ratio answers it
    assert "tls" not in cards["yahoo"]  # Yahoo names no TLS requirement
    assert (
        'data-provider-status="fail">Gmail: needs work for sender.example</span> '
        '<strong class="disagrees">' in page
    )
    assert "Gmail: needs work for sender.example (NO_UNSUB_GENERAL)</span></li>" in page  # agrees
    assert "Gmail&#39;s spam rate 0.04%" in page
    rates = logged_in(compliant_sender, "compliance").get("/rates").get_data(as_text=True)
    spam = rates[rates.index('data-metric="spam_rate"') :]
    spam = spam[: spam.index("</tr>")]
    assert "Gmail spam rate 0.04% — warn line 0.10% — fail line 0.30% — PASS," in spam
    assert "<td>Gmail Postmaster Tools, " in spam


def test_snds_shows_on_the_ip_page_the_overview_and_the_api(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    sessions = session_factory(engine)
    tokens = populate(sessions)
    from monitor.targets import add_ip

    rows, _ = parse_data((FIXTURES / "data-112926.csv").read_text())
    ranges, _ = parse_ip_status((FIXTURES / "ipstatus.csv").read_text())
    now = datetime.now(UTC)
    with sessions() as session:
        add_ip(session, "192.0.2.11", now)
        results = store_fetch(
            session, SndsFetch(date(2026, 11, 29), rows, ranges, []), ["192.0.2.11"], now
        )
        from monitor.history import record_run

        record_run(session, results, started_at=now, finished_at=now, trigger="snds")
        session.commit()
    app = create_app(Settings(database_url=url, web=WebSettings(secret_key="k")), sessions)
    try:
        browser = logged_in(app, "postmaster")
        ip_page = browser.get("/ips/192.0.2.11").get_data(as_text=True)
        assert (
            "SNDS 2026-11-29: filter result <strong>RED</strong>, complaint rate 0.6%, 4 trap hits"
            in ip_page
        )
        assert "sample HELO mta2.sender.example, MAIL FROM bounce@sender.example" in ip_page
        overview = browser.get("/").get_data(as_text=True)
        assert (
            '<span class="snds-red">RED</span> 192.0.2.11: complaints 0.6%, 4 trap hits, '
            "as of 2026-11-29" in overview
        )
        assert '<strong class="fail">BLOCKED</strong> 192.0.2.11' in overview
        headers = {"Authorization": f"Bearer {tokens['postmaster']}"}
        api = (
            app.test_client()
            .get("/api/v1/receivers", headers=headers, base_url="https://localhost")
            .get_json()
        )
        assert api["snds"]["ips"]["192.0.2.11"]["filter_result"] == "RED"
        assert api["gmail_postmaster"]["connected"] is False
        assert set(api) == {"gmail_postmaster", "snds", "arf"}
    finally:
        app.extensions["postwarden_inbox"].close()
        engine.dispose()
