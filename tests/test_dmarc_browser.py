"""The DMARC pages in a real headless Chromium against a real `postwarden serve`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_browser import ARTIFACTS, chromium, serving, sign_in
from tests.test_dmarc_web import DOMAIN, seed_reports


@pytest.fixture
def dmarc_server(tmp_path: Path) -> Iterator[str]:
    with serving(tmp_path, seed_reports) as running:
        yield running.base


def test_a_postmaster_goes_from_the_nav_to_a_domains_sources(dmarc_server: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, dmarc_server, "postmaster")
        assert "2,900 messages" in page.locator("#dmarc-card").inner_text()
        page.click("nav a:has-text('DMARC')")
        page.wait_for_url(f"{dmarc_server}/dmarc")
        page.click(f"#dmarc-domains a:has-text('{DOMAIN}')")
        page.wait_for_url(f"**/dmarc/{DOMAIN}**")
        chart = page.locator("#dmarc-chart svg")
        assert chart.is_visible() and chart.bounding_box()["width"] > 300  # type: ignore[index]
        first = page.locator("#dmarc-sources tbody tr").first
        assert first.inner_text().split("\t")[:3] == ["167.89.0.5", "SendGrid", "200"]
        assert page.locator("#dmarc-verdict .fix").first.is_visible()
        page.screenshot(path=str(ARTIFACTS / "dmarc.png"), full_page=True)
