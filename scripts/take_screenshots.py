"""Screenshots of the running app for the README: `python scripts/take_screenshots.py URL USER`.

The password is read from the PASSWORD environment variable or a prompt. Best on the demo data.
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
LAST_YEAR = "/?from=2023-01-01&to=2023-12-31"  # the demo data's last year: KPIs compare with 2022


def _wait_for_tab(page) -> None:
    page.wait_for_selector("#performance-top-grid .ag-row")
    page.wait_for_function("document.querySelector('#kpi-total-customers .kpi-value').innerText !== '–'")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)


def main(url: str, username: str, password: str, out: Path = DOCS) -> None:
    out.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(base_url=url, viewport={"width": 1400, "height": 860})
        page.goto(f"/login?next={LAST_YEAR.replace('&', '%26')}")
        page.screenshot(path=str(out / "login.png"))
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("#login-submit")
        _wait_for_tab(page)
        page.screenshot(path=str(out / "performance.png"))
        page.screenshot(path=str(out / "performance-full.png"), full_page=True)
        page.locator("#shell-theme-switch").click()
        page.wait_for_load_state("networkidle")
        page.locator("#performance-top-grid .ag-cell[col-id='name']").first.click()
        page.wait_for_selector("#performance-detail-body .js-plotly-plot")
        page.wait_for_timeout(800)
        page.screenshot(path=str(out / "performance-dark.png"))
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], os.environ.get("PASSWORD") or getpass.getpass())
