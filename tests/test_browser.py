"""The postmaster's workflow in a real browser: headless Chromium (the system's
/usr/bin/chromium) driven by Playwright against `postwarden serve` on loopback.

Screenshots of each step go to test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.engine import open_database, session_factory
from tests.dashboard_data import PASSWORD, populate
from tests.servers import free_port

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    populate(session_factory(engine))
    engine.dispose()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("postwarden")), "serve", "--no-scheduler",
         "--port", str(port), "--db", url],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://localhost:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_postmaster_finds_and_acknowledges_a_failing_domain(server: str) -> None:
    if not Path(CHROMIUM).exists() and os.environ.get("REQUIRE_BROWSER") != "1":
        pytest.skip("no Chromium installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])  # fmt: skip
        page = browser.new_page(accept_downloads=True)
        page.goto(f"{server}/")
        assert "/login" in page.url
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/")
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
        browser.close()
