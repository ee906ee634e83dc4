"""The postmaster's workflow in a real browser: headless Chromium (the system's
/usr/bin/chromium) driven by Playwright against `postwarden serve` on loopback.

Screenshots of each step go to test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from store.engine import open_database, session_factory
from tests.dashboard_data import PASSWORD, open_alert, populate
from tests.servers import free_port
from tests.waiting import eventually

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless tabs are always visible: the test says otherwise, as a browser would on a tab switch.
SET_VISIBILITY = """state => {
    Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
    document.dispatchEvent(new Event("visibilitychange"));
}"""


@dataclass(frozen=True)
class Served:
    """A running `postwarden serve` and the database behind it."""

    base: str
    database_url: str


def _answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=1) as response:
        return bool(response.status == 200)


@contextmanager
def serving(tmp_path: Path, seed: Callable[[Path, str], object] | None = None) -> Iterator[Served]:
    """`postwarden serve` (no scheduler) on a loopback port over the dashboard's example
    data, plus what ``seed(tmp_path, database_url)`` adds; stopped on leaving."""
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    populate(session_factory(engine))
    engine.dispose()
    if seed is not None:
        seed(tmp_path, url)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("postwarden")), "serve", "--no-scheduler",
         "--port", str(port), "--db", url],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://localhost:{port}"
    try:
        eventually(
            lambda: _answers(f"{base}/healthz"), timeout=60, interval=0.1, ignoring=(OSError,)
        )
        yield Served(base, url)
    finally:
        process.terminate()
        # On a loaded machine (CI shares its cores) a clean stop can take a while; one that
        # never comes is killed rather than left running past the test.
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            raise


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serving(tmp_path) as running:
        yield running


@pytest.fixture
def server(served: Served) -> str:
    return served.base


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless system Chromium (the test is skipped without one, unless REQUIRE_BROWSER=1)."""
    if not Path(CHROMIUM).exists() and os.environ.get("REQUIRE_BROWSER") != "1":
        pytest.skip("no Chromium installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_a_postmaster_finds_and_acknowledges_a_failing_domain(server: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(accept_downloads=True)
        sign_in(page, server, "admin")
        page.screenshot(path=str(ARTIFACTS / "1-overview.png"), full_page=True)
        first_row = page.locator("table tbody tr").first
        assert "broken.example" in first_row.inner_text()
        assert "FAIL" in first_row.inner_text()
        first_row.locator("a", has_text="broken.example").click()
        page.wait_for_url(f"{server}/domains/broken.example")
        assert "DMARC_MISSING" in page.content()
        assert page.locator(".fix").first.is_visible()
        page.screenshot(path=str(ARTIFACTS / "2-domain.png"), full_page=True)
        page.click("button:has-text('Acknowledge')")
        page.wait_for_url(f"{server}/domains/broken.example")
        assert "acknowledged by admin" in page.content()
        page.screenshot(path=str(ARTIFACTS / "3-acknowledged.png"), full_page=True)
        page.click("nav a:has-text('Compliance')")
        with page.expect_download() as download:
            page.click("a:has-text('offenders CSV')")
        saved = ARTIFACTS / "offenders.csv"
        download.value.save_as(saved)
        assert "ann@example.org" in saved.read_text()
        page.screenshot(path=str(ARTIFACTS / "4-compliance.png"), full_page=True)


def test_the_overview_refreshes_itself_and_pauses_in_a_hidden_tab(served: Served) -> None:
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page()
        # A fake clock: half a minute passes at once, not in real time.
        page.clock.install()
        sign_in(page, served.base, "compliance")
        status = page.locator("[data-live-status]")
        expect(status).to_have_text(re.compile(r"^updated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))
        live = page.locator("#live")
        expect(live).not_to_contain_text("DKIM key revoked")
        page.evaluate("window.notReloaded = true")  # gone if the page were reloaded
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        engine = open_database(served.database_url)
        open_alert(session_factory(engine), "fine.example", "dkim", "DKIM key revoked")
        engine.dispose()

        page.clock.run_for(31_000)
        expect(live).to_contain_text("DKIM key revoked")
        assert fetched == [f"{served.base}/fragments/overview?page=1"]
        assert page.evaluate("window.notReloaded") is True

        # A hidden tab asks nothing however long it stays hidden (half a second of real
        # time lets a fetch the fake minutes started show up); shown again, it refreshes at once.
        page.evaluate(SET_VISIBILITY, "hidden")
        page.clock.run_for(120_000)
        page.wait_for_timeout(500)
        assert len(fetched) == 1
        with page.expect_response(lambda response: "/fragments/overview" in response.url):
            page.evaluate(SET_VISIBILITY, "visible")
        assert len(fetched) == 2
