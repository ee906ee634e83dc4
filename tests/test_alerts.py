"""Alerts end to end: zone changes between sweeps, mail to a real SMTP server, webhooks.

Each sweep is the scheduler's own job function, called with the time it
runs at, against a real DNS server on loopback; notifications go through
the outbox to an aiosmtpd server and an HTTP receiver on loopback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from checks.dns import DnsSettings, parse_nameserver
from checks.zoneserver import ZoneServer
from monitor.jobs import (
    deliver_notifications,
    send_digest,
    sweep_authentication,
    sweep_blocklists,
)
from monitor.settings import AlertSettings, BlocklistSettings, Settings, SmtpSettings
from monitor.targets import add_domain, add_ip
from store.alerting import Alert, Notification
from store.engine import session_factory, upgrade_database
from tests.conftest import zone
from tests.keys import rsa_key, txt
from tests.servers import SmtpServer, WebhookServer, free_port, smtp_server, webhook_server

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STEP = timedelta(minutes=30)
KEY = "v=DKIM1; k=rsa; p=" + rsa_key(2048)

SHOP = f"""
shop                 TXT "v=spf1 ip4:192.0.2.10 -all"
shop                 MX  10 mx.shop
mx.shop              A   192.0.2.10
_dmarc.shop          TXT "v=DMARC1; p=reject; rua=mailto:d@shop.example.test"
s1._domainkey.shop   TXT {txt(KEY)}
"""


@pytest.fixture
def world(dns_server: ZoneServer) -> ZoneServer:
    dns_server.set_zone("example.test.", zone(SHOP))
    dns_server.set_zone("2.0.192.in-addr.arpa.", zone("10 PTR mx.shop.example.test."))
    dns_server.set_zone("bl.example.test.", zone("2.0.0.127 A 127.0.0.2"))
    dns_server.set_zone("bl2.example.test.", zone("2.0.0.127 A 127.0.0.2"))
    return dns_server


@pytest.fixture
def mail() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def hooks() -> Iterator[WebhookServer]:
    with webhook_server() as server:
        yield server


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    upgrade_database(engine)
    return session_factory(engine)


def make_settings(world: ZoneServer, smtp_port: int, hook_url: str | None = None) -> Settings:
    return Settings(
        dns=DnsSettings((parse_nameserver(world.nameserver),), timeout=0.5, retries=0),
        smtp=SmtpSettings(
            host="127.0.0.1",
            port=smtp_port,
            security="none",
            sender="postwarden@example.test",
            recipients=("postmaster@example.test",),
        ),
        alerts=AlertSettings(
            confirmations=2,
            cannot_check_hours=1,
            dashboard_url="https://postwarden.example.test/",
            webhook_urls=(hook_url,) if hook_url else (),
        ),
        blocklists=BlocklistSettings(
            zones=("bl.example.test", "bl2.example.test"), domain_zones=(), queries_per_second=0
        ),
    )


Job = Callable[[Session, datetime, Settings], str]


def run(job: Job, sessions: sessionmaker[Session], settings: Settings, at: datetime) -> str:
    with sessions() as session:
        outcome = job(session, at, settings)
        session.commit()  # as the scheduler does, with the run's outcome
        return outcome


def alerts_of(sessions: sessionmaker[Session]) -> list[Alert]:
    with sessions() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def test_a_revoked_dkim_key_opens_one_alert_and_its_recovery_resolves_it(
    world: ZoneServer, mail: SmtpServer, hooks: WebhookServer, sessions: sessionmaker[Session]
) -> None:
    settings = make_settings(world, mail.port, hooks.url)
    with sessions.begin() as session:
        add_domain(session, "shop.example.test", T0, selectors=["s1"])
    times = iter(T0 + STEP * n for n in range(20))

    def sweep_and_deliver() -> None:
        at = next(times)
        run(sweep_authentication, sessions, settings, at)
        run(deliver_notifications, sessions, settings, at)

    sweep_and_deliver()
    assert alerts_of(sessions) == []
    world.set_zone("example.test.", zone(SHOP.replace(txt(KEY), '"v=DKIM1; p="')))
    sweep_and_deliver()  # one failing run: not yet an incident
    assert (alerts_of(sessions), mail.mailbox.messages) == ([], [])
    sweep_and_deliver()
    (alert,) = alerts_of(sessions)
    assert (alert.target, alert.check, alert.severity, alert.state) == (
        "shop.example.test",
        "dkim",
        "fail",
        "open",
    )
    assert len(mail.mailbox.messages) == 1 and len(hooks.received) == 1
    sweep_and_deliver()  # still failing: no second notification
    assert len(mail.mailbox.messages) == 1 and len(hooks.received) == 1

    opened = mail.mailbox.messages[0]
    assert opened["Subject"] == "[Postwarden] FAIL: dkim of shop.example.test"
    assert opened["To"] == "postmaster@example.test"
    assert "postwarden.outbox." in opened["Message-ID"]
    text = opened.get_body(preferencelist=("plain",))
    html = opened.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    body = text.get_content()
    assert "dkim of shop.example.test is now fail (it was pass)" in body
    assert "DKIM_KEY_REVOKED" in body and "Fix: " in body
    assert "https://postwarden.example.test/targets/shop.example.test" in body
    assert "<strong>dkim</strong>" in html.get_content()
    hook = hooks.received[0]
    assert hook.json()["event"] == "opened" and hook.json()["check"] == "dkim"
    assert hook.headers["Idempotency-Key"] == f"postwarden-{hook.json()['notification_id']}"

    world.set_zone("example.test.", zone(SHOP))
    sweep_and_deliver()
    (alert,) = alerts_of(sessions)
    assert alert.state == "resolved"
    assert len(mail.mailbox.messages) == 2 and len(hooks.received) == 2
    assert mail.mailbox.messages[1]["Subject"] == (
        "[Postwarden] RESOLVED: dkim of shop.example.test (now pass)"
    )


def test_a_dns_outage_opens_no_fail_alert_only_a_cannot_check_one_later(
    world: ZoneServer, mail: SmtpServer, sessions: sessionmaker[Session]
) -> None:
    settings = make_settings(world, mail.port)
    with sessions.begin() as session:
        add_domain(session, "shop.example.test", T0, selectors=["s1"])
    world.set_fault("shop.example.test", "servfail")
    for n in range(3):  # an hour of outage is exactly the configured limit
        run(sweep_authentication, sessions, settings, T0 + STEP * n)
    assert {(a.problem, a.severity) for a in alerts_of(sessions)} == {("cannot_check", "error")}
    assert all(a.problem != "degraded" for a in alerts_of(sessions))
    run(deliver_notifications, sessions, settings, T0 + STEP * 3)
    subjects = {m["Subject"] for m in mail.mailbox.messages}
    assert "[Postwarden] CANNOT CHECK: spf of shop.example.test" in subjects
    world.set_fault("shop.example.test", None)
    run(sweep_authentication, sessions, settings, T0 + STEP * 4)
    assert {a.state for a in alerts_of(sessions)} == {"resolved"}


def test_an_ip_listed_opens_an_alert_and_a_second_listing_escalates_it(
    world: ZoneServer, mail: SmtpServer, sessions: sessionmaker[Session]
) -> None:
    settings = make_settings(world, mail.port)
    with sessions.begin() as session:
        add_ip(session, "192.0.2.10", T0)
    world.set_zone(
        "bl.example.test.",
        zone('2.0.0.127 A 127.0.0.2\n10.2.0.192 A 127.0.0.2\n10.2.0.192 TXT "trap"'),
    )
    run(sweep_blocklists, sessions, settings, T0)
    run(sweep_blocklists, sessions, settings, T0 + timedelta(hours=1, minutes=1))
    (alert,) = alerts_of(sessions)
    assert (alert.check, alert.severity, "listed:bl.example.test" in alert.codes) == (
        "blocklists",
        "fail",
        True,
    )
    world.set_zone("bl2.example.test.", zone("2.0.0.127 A 127.0.0.2\n10.2.0.192 A 127.0.0.2"))
    run(sweep_blocklists, sessions, settings, T0 + timedelta(hours=2, minutes=2))
    (alert,) = alerts_of(sessions)
    assert alert.escalated_at is not None
    assert "listed:bl2.example.test" in alert.codes
    run(deliver_notifications, sessions, settings, T0 + timedelta(hours=3))
    assert [m["Subject"] for m in mail.mailbox.messages] == [
        "[Postwarden] FAIL: blocklists of 192.0.2.10",
        "[Postwarden] WORSE, FAIL: blocklists of 192.0.2.10",
    ]


def test_an_smtp_outage_loses_nothing(world: ZoneServer, sessions: sessionmaker[Session]) -> None:
    port = free_port()
    settings = make_settings(world, port)
    with sessions.begin() as session:
        add_domain(session, "shop.example.test", T0, selectors=["s1"])
    world.set_zone("example.test.", zone(SHOP.replace("-all", "+all")))
    run(sweep_authentication, sessions, settings, T0)
    run(sweep_authentication, sessions, settings, T0 + STEP)
    # nothing listens on the port: the delivery fails and is kept
    assert (
        run(deliver_notifications, sessions, settings, T0 + STEP) == "0 sent, 1 to retry, 0 failed"
    )
    with sessions() as session:
        row = session.scalars(select(Notification)).one()
        assert (row.state, row.attempts) == ("pending", 1)
        assert row.last_error and "127.0.0.1" in row.last_error
    with smtp_server(port) as server:
        # not due before its backoff
        assert (
            run(deliver_notifications, sessions, settings, T0 + STEP)
            == "0 sent, 0 to retry, 0 failed"
        )
        assert run(deliver_notifications, sessions, settings, T0 + 2 * STEP) == (
            "1 sent, 0 to retry, 0 failed"
        )
        run(deliver_notifications, sessions, settings, T0 + 3 * STEP)
        assert [m["Subject"] for m in server.mailbox.messages] == [
            "[Postwarden] FAIL: spf of shop.example.test"
        ]


def test_a_rejected_webhook_is_not_retried_a_failing_one_is(
    world: ZoneServer, hooks: WebhookServer, sessions: sessionmaker[Session]
) -> None:
    settings = replace(make_settings(world, free_port(), hooks.url), smtp=SmtpSettings())
    with sessions.begin() as session:
        add_domain(session, "shop.example.test", T0, selectors=["s1"])
    world.set_zone("example.test.", zone(SHOP.replace("-all", "+all")))
    run(sweep_authentication, sessions, settings, T0)
    run(sweep_authentication, sessions, settings, T0 + STEP)
    hooks.statuses[:] = [503]
    assert (
        run(deliver_notifications, sessions, settings, T0 + STEP) == "0 sent, 1 to retry, 0 failed"
    )
    assert run(deliver_notifications, sessions, settings, T0 + 2 * STEP) == (
        "1 sent, 0 to retry, 0 failed"
    )
    assert len(hooks.received) == 1
    world.set_zone("example.test.", zone(SHOP))
    run(sweep_authentication, sessions, settings, T0 + 3 * STEP)
    hooks.statuses[:] = [410]
    assert run(deliver_notifications, sessions, settings, T0 + 3 * STEP) == (
        "0 sent, 0 to retry, 1 failed"
    )
    with sessions() as session:
        states = session.scalars(select(Notification.state).order_by(Notification.id)).all()
        assert states == ["sent", "failed"]
        assert session.scalar(select(func.count()).select_from(Alert)) == 1


def test_the_daily_digest_lists_the_open_alerts(
    world: ZoneServer, mail: SmtpServer, sessions: sessionmaker[Session]
) -> None:
    settings = make_settings(world, mail.port)
    assert run(send_digest, sessions, settings, T0) == "digest is off"
    settings = replace(settings, alerts=replace(settings.alerts, digest=True))
    with sessions.begin() as session:
        add_domain(session, "shop.example.test", T0, selectors=["s1"])
    world.set_zone("example.test.", zone(SHOP.replace("-all", "+all")))
    run(sweep_authentication, sessions, settings, T0)
    run(sweep_authentication, sessions, settings, T0 + STEP)
    assert run(send_digest, sessions, settings, T0 + STEP) == "digest of 1 open alerts queued"
    run(deliver_notifications, sessions, settings, T0 + STEP)
    digest = mail.mailbox.messages[-1]
    assert digest["Subject"] == "[Postwarden] Daily digest: 1 open alert"
    body = digest.get_body(preferencelist=("plain",))
    assert body is not None and "FAIL spf of shop.example.test" in body.get_content()
