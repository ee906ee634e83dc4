"""The ROI page in a real headless Chromium against a real `postwarden serve`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_browser import ARTIFACTS, chromium, serving, sign_in
from tests.test_roi_web import seed


@pytest.fixture
def roi_server(tmp_path: Path) -> Iterator[str]:
    with serving(tmp_path, seed) as running:
        yield running.base


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
