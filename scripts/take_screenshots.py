"""Screenshots of the running app for the README: `python scripts/take_screenshots.py URL USER`.

The password is read from the PASSWORD environment variable or a prompt.
"""
from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent.parent / "docs"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main(url: str, username: str, password: str, out: Path = DOCS) -> None:
    out.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(base_url=url, viewport={"width": 1400, "height": 860})
        page.goto("/login")
        page.screenshot(path=str(out / "login.png"))
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("#login-submit")
        page.wait_for_selector("#shell-tabs")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(out / "shell-light.png"))
        page.locator("#shell-theme-switch").click()
        page.locator("#filters-countries").click()
        page.wait_for_timeout(300)
        page.screenshot(path=str(out / "shell-dark.png"))
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], os.environ.get("PASSWORD") or getpass.getpass())
