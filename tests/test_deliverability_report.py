"""`postwarden report deliverability`, reports rendered in the background for the dashboard's
Reports page, and reports mailed on a schedule: PDFs read back, files hashed, roles held."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from checks.findings import finding
from checks.results import BlocklistResult, DmarcResult, Listing, TargetResult
from compliance.events.importer import import_file
from monitor.alert_rules import AlertPolicy
from monitor.alerting import update_alerts
from monitor.history import record_run
from monitor.jobs import deliver_notifications
from monitor.settings import AlertSettings, ReportSettings, Settings, SmtpSettings, WebSettings
from monitor.targets import add_domain, add_ip
from monitor.users import add_user
from reports.generate import ReportRequest, queue_report
from reports.jobs import latest_periods, render_reports, schedule_reports
from store.engine import open_database, session_factory
from store.reports import ReportRun
from tests.conftest import postwarden
from tests.servers import smtp_server
from tests.test_reports import pdf_text
from tests.test_web import csrf_of, logged_in
from web.app import create_app

DAY = datetime(2026, 10, 1, tzinfo=UTC)
PASSWORD = "correct horse battery"


def dmarc(status: str) -> TargetResult:
    findings = () if status == "pass" else (finding("DMARC_MISSING", "No DMARC record."),)
    return TargetResult("shop.example", "domain", {"dmarc": DmarcResult(findings=findings)})


def blocklist(listed: bool) -> TargetResult:
    listing = Listing(
        zone="bl.example",
        name="10.2.0.192.bl.example",
        listed=listed,
        codes=("127.0.0.2",) if listed else (),
        reason="Listed for spam" if listed else None,
        state="listed" if listed else "clear",
    )
    findings = (finding("DNSBL_LISTED", "Listed on bl.example."),) if listed else ()
    return TargetResult(
        "192.0.2.10",
        "ip",
        {
            "blocklists": BlocklistResult(findings=findings, listings=(listing,)),
        },
    )


def sweep(session: Session, at: datetime, *results: TargetResult) -> None:
    record_run(session, results, started_at=at, finished_at=at)
    update_alerts(session, results, at, AlertPolicy(confirmations=1), channels=[])


def a_month_of_monitoring(sessions: sessionmaker[Session], directory: Path) -> None:
    """October: DMARC breaks on the 2nd and is fixed 36 h later; the IP is listed on the
    5th and delisted 48 h later; the Gmail traffic draws complaints."""
    with sessions() as session:
        add_domain(session, "shop.example", DAY)
        add_ip(session, "192.0.2.10", DAY)
        for role in ("admin", "postmaster", "compliance"):
            add_user(session, role, PASSWORD, role, DAY)
        sweep(session, DAY, dmarc("pass"), blocklist(False))
        sweep(session, DAY + timedelta(days=1), dmarc("fail"))
        sweep(session, DAY + timedelta(days=2, hours=12), dmarc("pass"))
        sweep(session, DAY + timedelta(days=4), blocklist(True))
        sweep(session, DAY + timedelta(days=6), blocklist(False))
        lines = ["event_id,type,bounce_type,recipient,time,campaign,message_id"]
        for n in range(300):
            at = (DAY + timedelta(days=n % 28, minutes=n)).isoformat()
            kinds = ["sent", "delivered"] + (["complaint"] if n % 50 == 0 else [])
            lines += [f"{kind}-{n},{kind},,user{n}@gmail.com,{at},october,m{n}" for kind in kinds]
        events = directory / "events.csv"
        events.write_text("\n".join(lines) + "\n")
        import_file(session, events, source="csv", now=DAY)
        session.commit()


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """October's monitoring in SQLite and in PostgreSQL."""
    url = database_url
    engine = open_database(url)
    sessions = session_factory(engine)
    a_month_of_monitoring(sessions, tmp_path)
    yield url, sessions
    engine.dispose()


def test_the_deliverability_report_tells_the_month(
    world: tuple[str, sessionmaker[Session]], tmp_path: Path
) -> None:
    db, _sessions = world
    output = tmp_path / "october.pdf"
    result = postwarden("report", "deliverability", "--from", "2026-10-01", "--to", "2026-10-31",
                        "-o", str(output), "--organisation", "Shop Ltd", "--db", db)  # fmt: skip
    assert result.code == 0, result.stderr
    pages = pdf_text(output)
    text = "\n".join(pages)
    assert "Email deliverability report" in pages[0] and "Shop Ltd" in pages[0]
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
    flat = " ".join(text.split())
    # DMARC failed for 36 hours, the IP was listed for 48: each alert's time to resolve.
    assert "Alerts 2 opened, 2 resolved, 0 still open" in flat
    assert "Time to resolve median 42.0 h, longest 48.0 h" in flat
    assert "shop.example dmarc fail 2 Oct 2026, 00:00 UTC 3 Oct 2026, 12:00 UTC 36.0" in flat
    assert "dmarc pass → fail" in flat and "dmarc fail → pass" in flat
    # The listing, how long it lasted, and why.
    assert "192.0.2.10 bl.example 5 Oct 2026, 00:00 UTC 7 Oct 2026, 00:00 UTC 48.0" in flat
    assert "Listed for spam" in flat
    # Gmail's complaints: 6 of 300 delivered = 2%, over the fail line; drawn as a chart.
    assert (
        "gmail 300 300 0 6" in flat
        and "Gmail complaint rate 2.00% — warn line 0.10% — fail line 0.30% — FAIL, 300 delivered"
        in flat
    )
    assert "Gmail: complaint rate" in flat
    # Each provider's requirements card, as on the dashboard: Gmail fails on its rate;
    # nothing was audited, so one-click cannot be judged (error, never pass).
    assert "Gmail: FAIL" in flat and "Complaint rate (its recipients) FAIL" in flat
    assert "no messages audited" in flat
    # The CSV beside it holds every change, listing and alert, and the PDF names its hash.
    events = tmp_path / "october-events.csv"
    rows = list(csv.DictReader(io.StringIO(events.read_text())))
    kinds = [row["kind"] for row in rows]
    assert kinds.count("listing") == 1 and kinds.count("alert") == 2
    assert kinds.count("status_change") == 4
    [listing] = [row for row in rows if row["kind"] == "listing"]
    assert listing["hours"] == "48.0" and listing["subject"] == "bl.example"
    assert hashlib.sha256(events.read_bytes()).hexdigest() in text.replace("\n", "")


def test_an_empty_deliverability_period_says_so(tmp_path: Path) -> None:
    output = tmp_path / "empty.pdf"
    result = postwarden("report", "deliverability", "--to", "2026-10-31", "-o", str(output),
                        "--db", f"sqlite:///{tmp_path / 'pw.db'}")  # fmt: skip
    assert result.code == 0, result.stderr
    text = "\n".join(pdf_text(output))
    assert "There is no data for this period" in text and "No listing in the period" in text


def test_a_bad_report_request_is_a_usage_error(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    swapped = postwarden("report", "deliverability", "--from", "2026-10-31", "--to",
                         "2026-10-01", "-o", str(tmp_path / "r.pdf"), "--db", db)  # fmt: skip
    assert swapped.code == 3 and "starts after it ends" in swapped.stderr
    wrong = postwarden("report", "deliverability", "-o", str(tmp_path / "r.docx"), "--db", db)
    assert wrong.code == 3 and ".pdf, .html or .csv" in wrong.stderr
    assert not (tmp_path / "r.pdf").exists() and not (tmp_path / "r.docx").exists()


def plain_text(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _app(url: str, sessions: sessionmaker[Session], directory: Path) -> tuple[Flask, Settings]:
    settings = Settings(
        database_url=url,
        web=WebSettings(secret_key="test-key"),
        reports=ReportSettings(directory=directory),
    )
    return create_app(settings, sessions), settings


def test_the_reports_page_queues_renders_in_the_background_and_downloads(
    world: tuple[str, sessionmaker[Session]], tmp_path: Path
) -> None:
    url, sessions = world
    app, settings = _app(url, sessions, tmp_path / "reports")
    browser = logged_in(app, "postmaster")
    form = csrf_of(browser.get("/reports/").get_data(as_text=True))
    asked = browser.post("/reports/", data={"kind": "deliverability", "from": "2026-10-01",
                                            "to": "2026-10-31", "format": "pdf",
                                            "csrf_token": form})  # fmt: skip
    assert asked.status_code == 302
    waiting = browser.get(asked.headers["Location"]).get_data(as_text=True)
    # Nothing is rendered inside the request: the page waits, reloading itself.
    assert "queued" in waiting and 'http-equiv="refresh"' in waiting
    with sessions() as session:
        assert render_reports(session, datetime.now(UTC), settings) == "report 1 done"
        [run] = session.scalars(select(ReportRun))
        assert run.generated_by == "postmaster" and run.status == "done"
    done = browser.get(asked.headers["Location"]).get_data(as_text=True)
    assert "http-equiv" not in done and "deliverability-2026-10-01-2026-10-31.pdf" in done
    pdf = browser.get("/reports/1/deliverability-2026-10-01-2026-10-31.pdf")
    body = pdf.data
    pdf.close()  # send_file streams the file: the response holds it open
    assert pdf.status_code == 200 and body.startswith(b"%PDF")
    assert hashlib.sha256(body).hexdigest() in done
    # A file the run did not record is not served, whatever its name.
    assert browser.get("/reports/1/..%2F..%2Fpw.db").status_code == 404
    # The compliance officer neither sees nor fetches the postmaster's report, nor asks for one.
    officer = logged_in(app, "compliance")
    assert "deliverability-2026" not in officer.get("/reports/").get_data(as_text=True)
    assert officer.get("/reports/1").status_code == 404
    assert officer.get("/reports/1/deliverability-2026-10-01-2026-10-31.pdf").status_code == 404
    token = csrf_of(officer.get("/reports/").get_data(as_text=True))
    refused = officer.post("/reports/", data={"kind": "deliverability", "csrf_token": token})
    assert refused.status_code == 403
    # Outsiders go to the login page; a form without its CSRF token is refused.
    outsider = app.test_client()
    assert outsider.get("/reports/", base_url="https://localhost").status_code == 302
    forged = browser.post("/reports/", data={"kind": "deliverability"})
    assert forged.status_code == 400


def test_a_report_that_cannot_be_rendered_fails_alone(
    world: tuple[str, sessionmaker[Session]], tmp_path: Path
) -> None:
    url, sessions = world
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the reports' folder should be")
    app, settings = _app(url, sessions, blocker)
    browser = logged_in(app, "admin")
    token = csrf_of(browser.get("/reports/").get_data(as_text=True))
    for kind in ("compliance", "deliverability"):
        browser.post(
            "/reports/",
            data={"kind": kind, "to": "2026-10-31", "format": "csv", "csrf_token": token},
        )
    with sessions() as session:
        outcome = render_reports(session, datetime.now(UTC), settings)
        assert outcome == "report 1 failed, report 2 failed"
        failed = session.scalars(select(ReportRun)).all()
    assert all(run.status == "failed" and "not-a-directory" in (run.error or "") for run in failed)
    assert "could not be rendered" in browser.get("/reports/1").get_data(as_text=True)


def test_the_latest_complete_periods() -> None:
    settings = Settings(reports=ReportSettings(weekly=("deliverability",), monthly=("compliance",)))
    periods = list(latest_periods(date(2026, 11, 25), settings))  # a Wednesday
    assert periods == [
        (
            "deliverability",
            "deliverability:weekly:2026-11-16",
            date(2026, 11, 16),
            date(2026, 11, 22),
        ),
        ("compliance", "compliance:monthly:2026-10", date(2026, 10, 1), date(2026, 10, 31)),
    ]
    monday = list(latest_periods(date(2026, 11, 23), settings))
    assert monday[0][2:] == (date(2026, 11, 16), date(2026, 11, 22))
    new_year = list(latest_periods(date(2027, 1, 1), settings))
    assert new_year[1][1:] == ("compliance:monthly:2026-12", date(2026, 12, 1), date(2026, 12, 31))


def test_scheduled_reports_are_queued_once_and_mailed_with_their_files(
    world: tuple[str, sessionmaker[Session]], tmp_path: Path
) -> None:
    _url, sessions = world
    with smtp_server() as server:
        settings = Settings(
            smtp=SmtpSettings(host="127.0.0.1", port=server.port, security="none",
                              recipients=("postmaster@shop.example",)),
            alerts=AlertSettings(dashboard_url="https://postwarden.shop.example/"),
            reports=ReportSettings(directory=tmp_path / "reports", monthly=("deliverability",),
                                   organisation="Shop Ltd"),
        )  # fmt: skip
        now = datetime(2026, 11, 2, 6, tzinfo=UTC)
        with sessions() as session:
            assert schedule_reports(session, now, settings) == (
                "queued deliverability:monthly:2026-10"
            )
            # The hourly job again, and a second worker: nothing more is queued.
            assert schedule_reports(session, now + timedelta(hours=1), settings) == "nothing due"
            assert render_reports(session, now, settings) == "report 1 done"
            deliver_notifications(session, now, settings)
            count = session.scalar(select(func.count()).select_from(ReportRun))
        assert count == 1
        [mail] = server.mailbox.messages
    assert mail["Subject"] == "[Postwarden] Deliverability report, 2026-10-01 to 2026-10-31"
    body = plain_text(mail)
    assert "https://postwarden.shop.example/reports/1" in body
    attached = {
        part.get_filename(): part.get_payload(decode=True) for part in mail.iter_attachments()
    }
    pdf = attached["deliverability-2026-10-01-2026-10-31.pdf"]
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    on_disk = tmp_path / "reports" / "1" / "deliverability-2026-10-01-2026-10-31.pdf"
    assert pdf == on_disk.read_bytes()
    # The mail names each file's hash, so the attachment can be checked against the trail.
    assert hashlib.sha256(pdf).hexdigest() in body


def test_large_files_are_linked_not_attached(
    world: tuple[str, sessionmaker[Session]], tmp_path: Path
) -> None:
    _url, sessions = world
    with smtp_server() as server:
        base = Settings(smtp=SmtpSettings(host="127.0.0.1", port=server.port, security="none",
                                          recipients=("cfo@shop.example",)))  # fmt: skip
        settings = replace(
            base,
            reports=ReportSettings(
                directory=tmp_path / "r", weekly=("compliance",), attach_max_bytes=100
            ),
        )
        now = datetime(2026, 10, 14, tzinfo=UTC)
        with sessions() as session:
            schedule_reports(session, now, settings)
            render_reports(session, now, settings)
            deliver_notifications(session, now, settings)
        [mail] = server.mailbox.messages
    assert list(mail.iter_attachments()) == []
    assert "compliance-2026-10-05-2026-10-11.pdf" in plain_text(mail)


def test_a_run_left_running_by_a_dead_worker_is_rendered_again_after_the_lease(
    world: tuple[str, sessionmaker[Session]], tmp_path: Path
) -> None:
    _url, sessions = world
    settings = Settings(reports=ReportSettings(directory=tmp_path / "reports"))
    now = datetime(2026, 11, 2, 6, tzinfo=UTC)
    request = ReportRequest(
        kind="deliverability",
        period_from=date(2026, 10, 1),
        period_to=date(2026, 10, 31),
        as_of=date(2026, 10, 31),
        format="csv",
    )
    with sessions() as session:
        for claimed in (now - timedelta(minutes=31), now - timedelta(minutes=5)):
            run = queue_report(session, request, "postmaster", now)
            run.status, run.claimed_at = "running", claimed
        session.commit()
        # The first was claimed past the lease (its worker died); the second is still
        # being rendered by a live worker and is left alone.
        assert render_reports(session, now, settings) == "report 1 done"
        statuses = [run.status for run in session.scalars(select(ReportRun).order_by(ReportRun.id))]
    assert statuses == ["done", "running"]


def test_the_deliverability_report_has_a_dmarc_section_with_its_figures(
    world: tuple[str, sessionmaker[Session]], tmp_path: Path
) -> None:
    from compliance.dmarc_reports.generate import Row, aggregate_xml, tls_json
    from compliance.dmarc_reports.importer import import_report_file

    db, sessions = world
    own = Row(
        "192.0.2.10",
        900,
        header_from="shop.example",
        dkim_domain="shop.example",
        spf_domain="shop.example",
    )
    esp = Row(
        "167.89.0.5",
        100,
        dkim="fail",
        spf="fail",
        header_from="shop.example",
        dkim_domain="sendgrid.net",
        spf_domain="sendgrid.net",
        disposition="quarantine",
    )
    with sessions() as session:
        for n in range(2):
            begin = DAY + timedelta(days=n)
            path = tmp_path / f"agg{n}.xml"
            path.write_bytes(
                aggregate_xml(
                    org_name="google.com",
                    report_id=f"oct{n}",
                    domain="shop.example",
                    begin=begin,
                    end=begin + timedelta(hours=23),
                    rows=[own, esp],
                    policy="quarantine",
                )
            )
            import_report_file(session, path, now=DAY)
        path = tmp_path / "tls.json"
        path.write_bytes(
            tls_json(
                org_name="google.com",
                report_id="tls-oct",
                domain="shop.example",
                begin=DAY,
                end=DAY + timedelta(hours=23),
                successful=970,
                failures={"certificate-expired": 30},
                mx_host="mx.shop.example",
            )
        )
        import_report_file(session, path, now=DAY)
        session.commit()
    output = tmp_path / "october.pdf"
    result = postwarden(
        "report",
        "deliverability",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
        "-o",
        str(output),
        "--db",
        db,
    )
    assert result.code == 0, result.stderr
    flat = " ".join("\n".join(pdf_text(output)).split())
    section = flat[flat.index("DMARC and TLS reports shop.example") :]
    # Two days of 1,000 messages, 900 passing each.
    assert (
        "DMARC shop.example: 2,000 messages, 1,800 passed (90.00%); SPF aligned 1,800, "
        "DKIM aligned 1,800; quarantined 200, rejected 0; policy quarantine."
    ) in section
    # At p=quarantine, SendGrid's failing mail would be rejected next.
    assert "Verdict: Not ready for p=reject: 200 of 2,000 messages (10.0%)" in section
    assert "SendGrid (167.89.0.5, esp): 200 of 200 failed; fix: add an SPF include" in section
    assert "167.89.0.5 SendGrid 200 0 0 0" in section
    assert "192.0.2.10" in section and "shop.example: DMARC pass rate per day" in section
    assert "shop.example 970 30 certificate-expired 30" in section
