"""The README's dashboard screenshot, taken from a running demo: ``python -m tests.screenshot``.

Starts ``postwarden demo``, signs in with the login it prints, shoots the overview in
headless system Chromium (Playwright) into docs/dashboard.png, then stops the demo with
SIGINT. Not a test: run it again when the overview changes.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "dashboard.png"


def main() -> int:
    script = Path(sys.executable).with_name("postwarden")
    demo = subprocess.Popen([str(script), "demo"], stdout=subprocess.PIPE, text=True)
    try:
        assert demo.stdout is not None
        printed = ""
        for line in demo.stdout:
            printed += line
            if line.startswith("Ctrl-C stops"):
                break
        url = re.search(r"^Dashboard: (\S+)$", printed, re.MULTILINE)
        login = re.search(r"^Login:\s+(\S+) / (\S+)", printed, re.MULTILINE)
        if not (url and login):
            raise SystemExit(f"the demo did not print its URL and login:\n{printed}")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 1480})
            page.goto(url.group(1))
            page.fill("input[name=username]", login.group(1))
            page.fill("input[name=password]", login.group(2))
            page.click("button[type=submit], input[type=submit]")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUTPUT))
            browser.close()
        print(f"wrote {OUTPUT}")
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
