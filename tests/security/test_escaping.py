"""Text from outside — DNS records, contact exports, webhook events — is shown escaped on
the live server's pages, never run (the forms and parameters: tests/test_hostile_input.py)."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from checks.dns import DnsSettings, parse_nameserver
from checks.zoneserver import ZoneServer
from monitor.inbox import drain_inbox
from monitor.settings import HookSettings, Settings, WebSettings
from store.engine import session_factory
from tests.conftest import postwarden, zone
from tests.security.live import serving
from tests.security.test_webhooks import POSTMARK_AUTH, delivery

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def assert_escaped(page: str) -> None:
    assert SCRIPT not in page and "<img src=x" not in page
    assert ESCAPED in page or "&lt;img src=x" in page


def test_dns_records_are_shown_escaped(world: tuple[Engine, dict[str, str]]) -> None:
    records = zone(
        f'@ TXT "v=spf1 include:{SCRIPT} -all"\n'
        f'_dmarc TXT "v=DMARC1; p=none; rua=mailto:{SCRIPT}@hostile.example"\n'
        "@ MX 10 mx\nmx A 192.0.2.25\n"
    )
    with ZoneServer({"hostile.example.": records}) as dns:
        nameserver = DnsSettings((parse_nameserver(dns.nameserver),), timeout=0.5, retries=0)
        settings = Settings(
            database_url=str(world[0].url),
            dns=nameserver,
            web=WebSettings(secret_key="live", secure_cookies=False),
        )
        with serving(world[0], settings) as live:
            admin = live.browser()
            admin.log_in("admin")
            target = {"action": "add", "kind": "domain", "name": "hostile.example"}
            added = admin.submit("/settings/targets", "/settings/targets", target)
            assert added.status_code == 302
            checked = admin.submit("/", "/targets/domain/hostile.example/check", {})
            assert checked.status_code == 302
            detail = admin.get("/domains/hostile.example").text
            overview = admin.get("/").text
    assert "v=spf1 include:" in detail
    assert_escaped(detail)
    assert SCRIPT not in overview


def test_contact_exports_are_shown_escaped(
    world: tuple[Engine, dict[str, str]], tmp_path: Path
) -> None:
    contacts = tmp_path / "contacts.csv"
    with contacts.open("w", newline="") as handle:
        writer = csv.writer(handle)  # the attacker's file, written verbatim
        writer.writerow(["email", "status"])
        writer.writerow(["<img src=x onerror=alert(1)>@x.example", "subscribed"])
    url = str(world[0].url)
    imported = postwarden("import", "contacts", str(contacts), "--list", SCRIPT, "--db", url)
    assert imported.code == 0, imported.stderr
    with serving(world[0]) as live:
        officer = live.browser()
        officer.log_in("compliance")
        pages = [
            officer.get("/compliance/offenders/consent_missing?addresses=full").text,
            officer.get("/compliance/offenders/consent_missing").text,
            officer.get("/compliance/").text,
        ]
    assert ESCAPED in pages[0] and "&lt;img src=x onerror=alert(1)&gt;@x.example" in pages[0]
    for page in pages:
        assert SCRIPT not in page and "<img src=x" not in page


def test_webhook_event_text_is_shown_escaped(world: tuple[Engine, dict[str, str]]) -> None:
    engine = world[0]
    hooks = HookSettings(postmark_credentials="pm:s3cret")
    settings = Settings(
        database_url=str(engine.url),
        hooks=hooks,
        web=WebSettings(secret_key="live", secure_cookies=False),
    )
    now = datetime.now(UTC).replace(microsecond=0)
    event = {**delivery(1), "Tag": SCRIPT, "DeliveredAt": now.isoformat()}
    with serving(engine, replace(settings)) as live:
        esp = live.browser()
        accepted = esp.post("/hooks/postmark", json=[event], headers=POSTMARK_AUTH)
        assert accepted.status_code == 200
        with session_factory(engine)() as session:
            assert drain_inbox(session, now).inserted == 1
        postmaster = live.browser()
        postmaster.log_in("postmaster")
        rates = postmaster.get("/rates").text
    assert f"<td>{ESCAPED}</td>" in rates
    assert SCRIPT not in rates
