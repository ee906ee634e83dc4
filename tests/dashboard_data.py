"""A small monitored world for the dashboard tests: users of each role, a failing domain
with an open alert, a healthy one, a contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checks.findings import finding
from checks.results import DmarcResult, SpfResult, TargetResult
from monitor.alert_rules import AlertPolicy
from monitor.alerting import update_alerts
from monitor.history import record_run
from monitor.targets import add_domain
from monitor.users import add_token, add_user
from store.alerting import Alert
from store.contacts import Contact
from store.users import User

NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)
PASSWORD = "correct horse battery"
ROLES = ("admin", "postmaster", "compliance")


def populate(sessions: sessionmaker[Session]) -> dict[str, str]:
    """Fill the database; an API token per role, by role."""
    with sessions() as session:
        for role in ROLES:
            add_user(session, role, PASSWORD, role, NOW)
        add_domain(session, "broken.example", NOW, selectors=["s1"])
        add_domain(session, "fine.example", NOW)
        failing = TargetResult(
            "broken.example",
            "domain",
            {
                "dmarc": DmarcResult(findings=(finding("DMARC_MISSING", "No DMARC record."),)),
                "spf": SpfResult(record="v=spf1 -all"),
            },
        )
        fine = TargetResult("fine.example", "domain", {"spf": SpfResult(record="v=spf1 -all")})
        for minutes in (0, 30):  # two runs: the alert is confirmed
            at = NOW + timedelta(minutes=minutes)
            record_run(session, [failing, fine], started_at=at, finished_at=at)
            update_alerts(session, [failing, fine], at, AlertPolicy(), channels=[])
        session.add(Contact(list_name="default", address="ann@example.org", domain="example.org",
                            status="subscribed", first_seen_at=NOW, updated_at=NOW))  # fmt: skip
        tokens = {
            user.role: add_token(session, user, "tests", NOW)
            for user in session.scalars(select(User))
        }
        session.commit()
    return tokens


def open_alert(sessions: sessionmaker[Session], target: str, check: str, summary: str) -> int:
    """Insert an open alert directly, as another process (the scheduler) would; its id."""
    with sessions() as session:
        alert = Alert(target=target, kind="domain", check=check, problem="fail",
                      severity="fail", state="open", summary=summary, codes=[],
                      opened_at=datetime.now(UTC))  # fmt: skip
        session.add(alert)
        session.commit()
        return alert.id
