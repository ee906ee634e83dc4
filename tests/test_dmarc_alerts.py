"""Alerts from receivers' reports: generated reports imported, judged, mailed over SMTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from compliance.dmarc_reports.generate import Row, aggregate_xml, tls_json
from compliance.dmarc_reports.importer import import_report_file
from monitor.dmarc_alerts import alert_on_reports, judge_day
from monitor.jobs import deliver_notifications
from monitor.settings import AlertSettings, DmarcSettings, Settings, SmtpSettings
from store.alerting import Alert
from store.engine import make_engine, session_factory, upgrade_database
from tests.conftest import postwarden
from tests.servers import SmtpServer, smtp_server

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
DOMAIN = "shop.example"
GOOD = Row("192.0.2.10", 5000, header_from=DOMAIN, dkim_domain=DOMAIN, spf_domain=DOMAIN)
SPOOFER = Row(
    "203.0.113.66",
    400,
    dkim="fail",
    spf="fail",
    header_from=DOMAIN,
    dkim_domain="spoof.example",
    dkim_result="fail",
    spf_domain="spoof.example",
    spf_result="fail",
)


def write_day(tmp_path: Path, day: date, rows: list[Row], org: str = "google.com") -> Path:
    begin = datetime.combine(day, time(), UTC)
    path = tmp_path / f"{org}-{day}.xml"
    path.write_bytes(
        aggregate_xml(
            org_name=org,
            report_id=f"{org}-{day}",
            domain=DOMAIN,
            begin=begin,
            end=begin + timedelta(days=1) - timedelta(seconds=1),
            rows=rows,
            policy="reject",
        )
    )
    return path


@pytest.fixture
def mail() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    upgrade_database(engine)
    return session_factory(engine)


def settings_for(port: int) -> Settings:
    return Settings(
        smtp=SmtpSettings(
            host="127.0.0.1",
            port=port,
            security="none",
            sender="postwarden@example.test",
            recipients=("dmarc@example.test",),
        ),
        alerts=AlertSettings(confirmations=2, dashboard_url="https://postwarden.example.test/"),
    )


def import_and_judge(
    sessions: sessionmaker[Session], settings: Settings, path: Path, at: datetime
) -> None:
    with sessions() as session:
        import_report_file(session, path, now=at)
        alert_on_reports(session, at, settings)
        deliver_notifications(session, at, settings)
        session.commit()


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def open_alerts(sessions: sessionmaker[Session]) -> dict[str, list[str]]:
    with sessions() as session:
        rows = session.scalars(select(Alert).where(Alert.state == "open"))
        return {f"{row.target} {row.check}": sorted(row.codes) for row in rows}


def test_a_new_spoofing_source_opens_one_alert_mailed_and_a_clean_day_resolves_it(
    tmp_path: Path, mail: SmtpServer, sessions: sessionmaker[Session]
) -> None:
    settings = settings_for(mail.port)
    days = [NOW.date() - timedelta(days=n) for n in (3, 2, 1)]
    import_and_judge(sessions, settings, write_day(tmp_path, days[0], [GOOD]), NOW - timedelta(2))
    assert open_alerts(sessions) == {} and mail.mailbox.messages == []

    # A source never seen, 400 failing messages (over 100), rejected by the receiver;
    # the day's pass rate is 5000/5400 = 92.6%, under 95%. The spoofer's mail being
    # rejected is the policy working: no DMARC_REPORT_DISPOSITION for it.
    spoofed = write_day(tmp_path, days[1], [GOOD, replace(SPOOFER, disposition="reject")])
    import_and_judge(sessions, settings, spoofed, NOW - timedelta(1))
    assert open_alerts(sessions) == {
        f"{DOMAIN} dmarc_reports": [
            "DMARC_REPORT_NEW_FAILING_SOURCE",
            "DMARC_REPORT_PASS_RATE_LOW",
        ]
    }
    (message,) = mail.mailbox.messages
    assert message["Subject"] == f"[Postwarden] FAIL: dmarc_reports of {DOMAIN}"
    body = body_of(message)
    assert f"203.0.113.66, not seen before {days[1]}, sent 400 messages failing DMARC" in body
    assert "92.6% of 5400 messages passed DMARC" in body
    assert "rejected 400 messages" not in body

    import_and_judge(sessions, settings, write_day(tmp_path, days[2], [GOOD]), NOW)
    assert open_alerts(sessions) == {}
    assert mail.mailbox.messages[1]["Subject"] == (
        f"[Postwarden] RESOLVED: dmarc_reports of {DOMAIN} (now pass)"
    )


def test_the_first_day_of_reports_flags_no_source_as_new_and_today_is_not_judged(
    tmp_path: Path, mail: SmtpServer, sessions: sessionmaker[Session]
) -> None:
    settings = settings_for(mail.port)
    yesterday = NOW.date() - timedelta(days=1)
    small = Row("198.51.100.9", 50, dkim="fail", spf="fail", header_from=DOMAIN)
    import_and_judge(sessions, settings, write_day(tmp_path, yesterday, [GOOD, SPOOFER]), NOW)
    # Known from the first day on; only the pass rate (5000/5400) is low.
    assert open_alerts(sessions) == {f"{DOMAIN} dmarc_reports": ["DMARC_REPORT_PASS_RATE_LOW"]}
    # Today is not complete: a report of today alone is not judged yet.
    today = write_day(tmp_path, NOW.date(), [GOOD, small], org="yahoo.com")
    import_and_judge(sessions, settings, today, NOW)
    assert open_alerts(sessions) == {f"{DOMAIN} dmarc_reports": ["DMARC_REPORT_PASS_RATE_LOW"]}


def test_tls_failures_alert_for_the_policy_domain(
    tmp_path: Path, mail: SmtpServer, sessions: sessionmaker[Session]
) -> None:
    settings = settings_for(mail.port)
    begin = datetime.combine(NOW.date() - timedelta(days=1), time(), UTC)
    path = tmp_path / "tls.json"
    path.write_bytes(
        tls_json(
            org_name="google.com",
            report_id="t1",
            domain=DOMAIN,
            begin=begin,
            end=begin + timedelta(days=1),
            successful=980,
            failures={"certificate-expired": 20},
            mx_host="mx.shop.example",
        )
    )
    import_and_judge(sessions, settings, path, NOW)
    assert open_alerts(sessions) == {f"{DOMAIN} dmarc_reports": ["TLSRPT_FAILURES"]}
    body = body_of(mail.mailbox.messages[0])
    assert "20 of 1000 TLS sessions failed" in body


def test_the_cli_import_opens_the_alert(tmp_path: Path, database_url: str) -> None:
    today = datetime.now(UTC).date()
    first = write_day(tmp_path, today - timedelta(days=2), [GOOD])
    second = write_day(tmp_path, today - timedelta(days=1), [GOOD, SPOOFER])
    result = postwarden("import", "dmarc", str(first), str(second), "--db", database_url)
    assert result.code == 0, result.stderr
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        alerts = [(a.target, a.check, a.state, a.codes) for a in session.scalars(select(Alert))]
    engine.dispose()
    ((target, check, state, found),) = alerts
    assert (target, check, state) == (DOMAIN, "dmarc_reports", "open")
    assert "DMARC_REPORT_NEW_FAILING_SOURCE" in found


def test_judge_day_on_literal_figures() -> None:
    rules = DmarcSettings(min_pass_rate=0.95, new_source_messages=100)
    day = date(2026, 12, 6)
    clean = {"messages": 1000, "failing": 50, "quarantined": 0, "rejected": 0}
    assert judge_day(clean, [], (10, 0), rules, day, day) == ()  # exactly 95% passes
    low = {**clean, "failing": 51}
    assert [f.code for f in judge_day(low, [], None, rules, day, None)] == [
        "DMARC_REPORT_PASS_RATE_LOW"
    ]
    held = {**clean, "quarantined": 3}
    assert [f.code for f in judge_day(held, [("192.0.2.1", 101)], (0, 1), rules, day, day)] == [
        "DMARC_REPORT_NEW_FAILING_SOURCE",
        "DMARC_REPORT_DISPOSITION",
        "TLSRPT_FAILURES",
    ]
    assert judge_day({}, [], None, rules, None, None) == ()


def test_mail_held_from_the_domains_own_sender_alerts_and_a_spoofers_does_not(
    tmp_path: Path, mail: SmtpServer, sessions: sessionmaker[Session]
) -> None:
    settings = replace(
        settings_for(mail.port), dmarc=DmarcSettings(min_pass_rate=0.0, new_source_messages=10**6)
    )
    day = NOW.date() - timedelta(days=1)
    # The domain's own server passes with most of its mail; 30 of its messages failed
    # (a stream signed with a retired key) and were quarantined. The spoofer's 400 rejected.
    held = replace(GOOD, count=30, dkim="fail", spf="fail", disposition="quarantine")
    rows = [GOOD, held, replace(SPOOFER, disposition="reject")]
    import_and_judge(sessions, settings, write_day(tmp_path, day, rows), NOW)
    assert open_alerts(sessions) == {f"{DOMAIN} dmarc_reports": ["DMARC_REPORT_DISPOSITION"]}
    (message,) = mail.mailbox.messages
    assert "quarantined 30 and rejected 0 messages" in body_of(message)
