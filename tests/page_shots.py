"""Screenshots of the postmaster's pages for people to look at: ``python -m tests.page_shots NAME``.

Serves the dashboard's example data (tests/dashboard_data.py, plus a domain never
checked yet) and shoots the overview, a domain page and the alerts page at desktop
width and the overview at phone width (390 px) into test-artifacts/NAME-*.png. Not a
test: run it before and after changing how the pages look, and look at the pictures.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from store.engine import open_database, session_factory
from tests.test_browser import ARTIFACTS, chromium, serving, sign_in

PAGES = {"overview": "/", "domain": "/domains/broken.example", "alerts": "/alerts?state=open",
         "message": "/messages/1"}  # fmt: skip


def add_pending_domain(directory: Path, url: str) -> None:
    """The route matrix's world (an audited message, a listing, a week of events) and a
    domain added after the last sweep: never checked yet."""
    from monitor.targets import add_domain
    from tests.test_pages_a11y import add_message_and_listing

    add_message_and_listing(directory, url)
    engine = open_database(url)
    with session_factory(engine)() as session:
        add_domain(session, "new.example", datetime.now(UTC))
        session.commit()
    engine.dispose()


def main(name: str) -> int:
    ARTIFACTS.mkdir(exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as directory,
        serving(Path(directory), add_pending_domain) as served,
        chromium() as browser,
    ):
        desktop = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(desktop, served.base, "admin")
        for page_name, path in PAGES.items():
            desktop.goto(served.base + path)
            desktop.screenshot(path=str(ARTIFACTS / f"{name}-{page_name}.png"), full_page=True)
        desktop.goto(served.base + PAGES["alerts"])
        desktop.click("button:has-text('Acknowledge')")
        desktop.wait_for_load_state()
        desktop.screenshot(path=str(ARTIFACTS / f"{name}-alerts-acknowledged.png"), full_page=True)
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        sign_in(phone, served.base, "admin")
        phone.screenshot(path=str(ARTIFACTS / f"{name}-phone-overview.png"), full_page=True)
    for shot in sorted(ARTIFACTS.glob(f"{name}-*.png")):
        print(shot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "pages"))
