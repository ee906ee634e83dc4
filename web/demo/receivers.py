"""The demo's receivers' data: ARF reports, SNDS CSVs and Gmail Postmaster Tools days, generated.

ARF reports are written as .eml files and imported by ``import arf``'s importer; the
SNDS CSVs are written in the published layout and read, stored and alerted on by the
same functions the daily fetch runs (only the HTTP download is skipped: the demo is
offline). Gmail's days cannot come from Google offline, so they are generated and
stored as the fetch would store them, and the demo says so.

What the data shows, on purpose: a Gmail spam rate over Gmail's 0.3% line while the
ESP-based Gmail complaint rate is the demo's own; Gmail saying one-click unsubscribe
needs work; one sending IP RED with trap hits and blocked in SNDS; a Microsoft (JMRP)
complaint with the recipient masked and a Gmail complaint that reached only the feedback loop.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from compliance.events.arf_import import import_arf_file
from compliance.rates.snds_csv import parse_data, parse_ip_status
from monitor.settings import Settings
from monitor.snds import SndsFetch, store_fetch
from store.receivers import GmailDay, GmailDomain

_ARF = """From: {reporter}
To: fbl@healthy.example
Subject: FW: newsletter
Date: {date}
Message-ID: <report-{n}@{reporter_domain}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b{n}"

--b{n}
Content-Type: text/plain

This is an email abuse report.

--b{n}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: {agent}
Version: 1
{rcpt}Arrival-Date: {date}
Source-IP: 192.0.2.10

--b{n}
Content-Type: text/rfc822-headers

From: news@healthy.example
To: {to}
Subject: Weekly news
Message-ID: <demo-fbl-{n}@healthy.example>
Feedback-ID: {campaign}:healthy:newsletter:demo

--b{n}--
"""


def write_arf(directory: Path, today: date, complainer: str) -> list[Path]:
    """Two feedback-loop reports: a Gmail complaint with its recipient, a masked JMRP one."""
    # After the send 13 days ago, before the two later sends: the Gmail subscriber is
    # mailed again after a complaint only the feedback loop saw (mailed_after_complaint).
    sent = today - timedelta(days=13)
    when = (sent + timedelta(days=1)).strftime("%a, %d %b %Y 10:00:00 +0000")
    campaign = f"week-{sent.isoformat()}"
    reports = [
        ("postmaster@example.net", "example.net", "ExampleFBL/1.0",
         f"Original-Rcpt-To: <{complainer}>\n", complainer),
        ("staff@hotmail.com", "hotmail.com", "Microsoft JMRP",
         "Original-Rcpt-To: xxxxxxxx@outlook.com\n", "xxxxxxxx@outlook.com"),
    ]  # fmt: skip
    paths = []
    for n, (reporter, domain, agent, rcpt, to) in enumerate(reports, start=1):
        path = directory / f"fbl-{n}.eml"
        text = _ARF.format(reporter=reporter, reporter_domain=domain, agent=agent, rcpt=rcpt,
                           to=to, date=when, n=n, campaign=campaign)  # fmt: skip
        path.write_text(text)
        paths.append(path)
    return paths


def snds_csvs(day: date) -> tuple[str, str]:
    """The data and IP-status CSVs of ``day``: one IP GREEN, one RED with trap hits and blocked."""
    stamp = f"{day.month}/{day.day}/{day.year}"
    data = (
        f"192.0.2.10,{stamp} 12:00 AM,{stamp} 11:59 PM,2100,2080,2080,GREEN,< 0.1%,,,0,"
        "mail.healthy.example,bounce@healthy.example,\r\n"
        f"192.0.2.20,{stamp} 12:00 AM,{stamp} 11:59 PM,800,790,790,RED,0.9%,"
        f"{stamp} 3:00 AM,{stamp} 8:00 PM,6,mta2.healthy.example,bounce@healthy.example,\r\n"
    )
    status = (
        "192.0.2.20,192.0.2.20,Yes,Blocked due to user complaints or other evidence of spamming\r\n"
    )
    return data, status


def add_receivers_data(
    session: Session, settings: Settings, directory: Path, now: datetime, complainer: str
) -> list[str]:
    """Import the ARF reports, store the SNDS day and Gmail's days; what each step did."""
    from monitor.snds import alert_on

    today = now.date()
    done = [
        str(import_arf_file(session, path, now=now))
        for path in write_arf(directory, today, complainer)
    ]
    yesterday = today - timedelta(days=1)
    data, status = snds_csvs(yesterday)
    rows, _ = parse_data(data)
    ranges, _ = parse_ip_status(status)
    results = store_fetch(
        session, SndsFetch(yesterday, rows, ranges, []), ["192.0.2.10", "192.0.2.20"], now
    )
    alert_on(session, results, now, settings)
    done.append(f"SNDS {yesterday}: 192.0.2.10 GREEN, 192.0.2.20 RED with 6 trap hits, blocked")
    for offset in range(14, 0, -1):
        day = today - timedelta(days=offset)
        # Climbing over Gmail's 0.3% line in the last days: the complaint spike Gmail sees.
        rate = 0.0008 + (0.0028 if offset <= 2 else 0.0001 * (14 - offset) / 4)
        session.add(GmailDay(domain="healthy.example", day=day, spam_rate=round(rate, 6),
                             metrics={"spam_rate": round(rate, 6), "spf_success_rate": 1.0,
                                      "dkim_success_rate": 0.998, "dmarc_success_rate": 0.997,
                                      "tls_inbound_rate": 1.0}, fetched_at=now))  # fmt: skip
    compliant = {"status": "compliant", "reason": None}
    compliance = {
        "spf": compliant,
        "dkim": compliant,
        "dmarc_policy": compliant,
        "encryption": compliant,
        "user_reported_spam_rate": {"status": "needs_work", "reason": None},
        "one_click_unsubscribe": {"status": "needs_work", "reason": "NO_UNSUB_GENERAL"},
    }
    session.add(GmailDomain(domain="healthy.example", verified=True, checked_at=now,
                            status="pass", compliance_at=now, compliance=compliance))  # fmt: skip
    done.append("Gmail Postmaster Tools: 14 generated days for healthy.example (offline demo)")
    session.commit()
    return done
