"""The ROI page in a real headless Chromium against a real `postwarden serve`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.engine import open_database, session_factory
from tests.dashboard_data import populate
from tests.servers import free_port
from tests.test_browser import ARTIFACTS, chromium, sign_in
from tests.test_roi_web import seed


@pytest.fixture
def roi_server(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    populate(session_factory(engine))
    engine.dispose()
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
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_postmaster_compares_the_models_and_picks_one(roi_server: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, roi_server, "postmaster")
        page.click("nav a:has-text('ROI')")
        page.wait_for_url(f"{roi_server}/roi")
        page.fill("input[name=from]", "2026-11-01")
        page.fill("input[name=to]", "2026-11-30")
        page.select_option("select[name=model]", "first_touch")
        page.click("button:has-text('Show')")
        page.wait_for_url("**model=first_touch**")
        charts = page.locator("figure.chart svg")
        assert charts.count() == 2 and charts.first.is_visible()
        first = page.locator("#roi-campaigns tbody tr").first
        assert first.inner_text().split("\t")[:2] == ["nov-a", "EUR"]
        assert "100.00" in first.inner_text()
        assert "(no touch)" in page.locator("#roi-campaigns").inner_text()
        page.screenshot(path=str(ARTIFACTS / "roi.png"), full_page=True)
