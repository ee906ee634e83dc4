"""Every page of the route matrix in headless Chromium: axe-core finds no serious or
critical accessibility violation, a 390 px wide phone never scrolls sideways and keeps
the navigation, and acknowledging an alert keeps the alerts page's filter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

from store.engine import open_database, session_factory
from tests.test_browser import ARTIFACTS, Served, chromium, serving, sign_in

pytestmark = pytest.mark.browser

# The dashboard's HTML pages (an admin sees them all), with the example data of
# tests/dashboard_data.py plus an audited message and a blocklist listing.
ROUTE_MATRIX = [
    "/",
    "/domains/broken.example",
    "/alerts?state=open",
    "/alerts",
    "/rates",
    "/roi",
    "/dmarc",
    "/compliance/",
    "/compliance/offenders/consent_missing",
    "/messages",
    "/messages/1",
    "/reports/",
    "/settings/targets",
    "/settings/",
    "/account",
]
PHONE: ViewportSize = {"width": 390, "height": 844}


def add_message_and_listing(directory: Path, url: str) -> None:
    """An audited message that fails one-click unsubscribe, broken.example listed on one
    of two blocklists, and a week of delivery events (the Rates page draws its charts)."""
    from checks.findings import Finding
    from compliance.events.importer import import_file
    from compliance.messages.results import DkimCheck, MessageAuditResult, OneClickCheck
    from monitor.message_audits import AuditedMessage, save_audits
    from store.models import ListingState
    from tests.test_rates_verdicts import write_events

    now = datetime(2026, 12, 7, 6, 15, tzinfo=UTC)
    fix = "Add List-Unsubscribe-Post: List-Unsubscribe=One-Click and sign it with DKIM."
    one_click = Finding("ONE_CLICK_MISSING", "fail", "No List-Unsubscribe-Post header.", fix)
    checks = {"one_click": OneClickCheck((one_click,)), "dkim": DkimCheck()}
    result = AuditedMessage(
        "winter.eml",
        MessageAuditResult(
            checks, subject="Winter sale", sender="news@broken.example", campaign="winter"
        ),
    )
    engine = open_database(url)
    with session_factory(engine)() as session:
        save_audits(session, [result], now)
        events = write_events(directory / "events.csv", datetime.now(UTC).date())
        import_file(session, events, source="csv", now=now)
        for zone, state in (("dbl.example", "listed"), ("other.example", "clear")):
            session.add(ListingState(
                target="broken.example", zone=zone, name=zone, state=state,
                listed=state == "listed", codes=[], meanings=[], reason=None, impact="high",
                delist_url=None, since=now, checked_at=now,
            ))  # fmt: skip
        session.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("a11y"), add_message_and_listing) as served:
        yield served


def serious_violations(page: object) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def test_axe_runs_and_would_report_a_violation(world: Served) -> None:
    # The page's CSP lets no inline script run: axe is injected through the devtools
    # protocol, so it runs on our pages as on this one (an image without alt text).
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{world.base}/login")
        page.evaluate("document.querySelector('main').append(document.createElement('img'))")
        assert [line.split(" ")[0] for line in serious_violations(page)] == ["image-alt"]


def test_axe_finds_no_serious_or_critical_violation_on_any_page(world: Served) -> None:
    found: dict[str, list[str]] = {}
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{world.base}/login")
        found["/login"] = serious_violations(page)
        sign_in(page, world.base, "admin")
        for path in ROUTE_MATRIX:
            response = page.goto(world.base + path)
            assert response is not None and response.status == 200, path
            found[path] = serious_violations(page)
    assert {path: v for path, v in found.items() if v} == {}


def test_on_a_phone_no_page_scrolls_sideways_the_nav_stays_and_axe_passes(world: Served) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    wide: dict[str, int] = {}
    found: dict[str, list[str]] = {}
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        sign_in(page, world.base, "admin")
        for path in ROUTE_MATRIX:
            page.goto(world.base + path)
            width = page.evaluate("document.scrollingElement.scrollWidth")
            if width > PHONE["width"]:
                wide[path] = width
            violations = serious_violations(page)  # a table's own scroller needs a keyboard
            if violations:
                found[path] = violations
            nav = page.locator("nav[aria-label=Main]")
            assert nav.is_visible(), path
            # Every link of the nav is on the screen, none pushed off its right edge.
            for link in nav.locator("a").all():
                box = link.bounding_box()
                assert box is not None and box["x"] + box["width"] <= PHONE["width"], (path, link)
        page.goto(world.base + "/")
        page.screenshot(path=str(ARTIFACTS / "phone-overview.png"), full_page=True)
        # A chart keeps the width its text reads at and scrolls inside its own frame.
        page.goto(world.base + "/rates")
        chart = page.locator("figure.chart").first
        frame, drawing = chart.bounding_box(), chart.locator("svg").bounding_box()
        assert frame is not None and drawing is not None
        assert frame["x"] + frame["width"] <= PHONE["width"] and drawing["width"] >= 600
        assert chart.get_attribute("tabindex") == "0"  # its scroller reachable by keyboard
        page.screenshot(path=str(ARTIFACTS / "phone-rates.png"), full_page=True)
    assert wide == {}
    assert found == {}


def test_the_current_page_is_marked_and_a_skip_link_leads_to_the_content(world: Served) -> None:
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, world.base, "admin")
        page.goto(f"{world.base}/compliance/offenders/consent_missing")
        current = page.locator("nav [aria-current=page]")
        assert current.all_inner_texts() == ["Compliance"]
        page.keyboard.press("Tab")
        skip = page.locator(".skip-link")
        assert skip.evaluate("element => element === document.activeElement")
        assert skip.is_visible()  # shown once focused
        page.keyboard.press("Enter")
        # Following an in-page link updates the address after the key press returns.
        page.wait_for_url(re.compile(r"#content$"), timeout=10_000)


def test_acknowledging_says_so_keeps_the_filter_and_shows_who_and_when(world: Served) -> None:
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, world.base, "postmaster")
        page.goto(f"{world.base}/alerts?state=open")
        page.click("button:has-text('Acknowledge')")
        page.wait_for_load_state()
        assert page.url == f"{world.base}/alerts?state=open"
        assert (
            page.locator(".flash").inner_text() == "Acknowledged the dmarc alert on broken.example."
        )
        row = page.locator("tr", has_text="broken.example").first.inner_text()
        assert re.search(r"acknowledged by postmaster on \d{4}-\d\d-\d\d \d\d:\d\d UTC", row), row
