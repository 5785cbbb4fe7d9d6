"""The first page after sign-in in headless Chromium, from pressing "Sign in": until every KPI
card shows a value, and until every figure is drawn with no callback pending. Measured for
a browser on its first visit (empty cache: plotly.js is fetched and compiled) and for a
returning one (signed out, then in again). The first run meets the server's cold cache."""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from benchmarks.http_bench import USERNAME, _benchmark_user, _fresh_instance
from benchmarks.servers import gunicorn_server
from layouts import performance
from layouts.performance_kpis import KPIS
from services.formatting import MISSING

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
RUNS = 3
KPIS_SHOWN = """([ids, missing]) => ids.every(id => {
    const value = document.querySelector(`#${id} .kpi-value`);
    return value && value.textContent.trim() && value.textContent.trim() !== missing;
})"""
ALL_DRAWN = """(map) => !document.querySelector("[data-dash-is-loading='true']")
    && document.querySelector(`#${map} path.choroplethlocation`)
    && [...document.querySelectorAll('.js-plotly-plot')].length >= 10"""


def run(url: str, work: Path, customers: int, workers: int = 4) -> dict:
    from playwright.sync_api import sync_playwright

    password = _benchmark_user(url)
    with gunicorn_server(url, _fresh_instance(work), workers=workers, APP_ENV="development") as base, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        first_visits = [_visit(browser.new_context(**_context(base)), password, close=True) for _ in range(RUNS)]
        returning = browser.new_context(**_context(base))
        _visit(returning, password)
        again = []
        for _ in range(RUNS):
            returning.clear_cookies()
            again.append(_visit(returning, password))
        browser.close()
    return {
        "first_visit": _summary(first_visits), "returning": _summary(again),
        "target_ms": 2000 if customers <= 20_000 else 3000,
    }


def _context(base: str) -> dict:
    return {"base_url": base, "viewport": {"width": 1400, "height": 900}}


def _visit(context, password: str, close: bool = False) -> tuple[float, float]:
    """Seconds until the KPI cards show values, and until everything is drawn."""
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", USERNAME)
    page.fill("#password", password)
    started = time.perf_counter()
    page.click("#login-submit")
    page.wait_for_function(KPIS_SHOWN, arg=[[spec.id for spec in KPIS], MISSING], timeout=60_000, polling=20)
    shown = time.perf_counter() - started
    page.wait_for_function(ALL_DRAWN, arg=performance.MAP_GRAPH, timeout=60_000, polling=20)
    drawn = time.perf_counter() - started
    page.close()
    if close:
        context.close()
    return shown, drawn


def _summary(visits: list[tuple[float, float]]) -> dict:
    return {"kpis_ms": [1000 * shown for shown, _ in visits], "drawn_ms": [1000 * drawn for _, drawn in visits],
            "kpis_median_ms": 1000 * statistics.median(shown for shown, _ in visits),
            "drawn_median_ms": 1000 * statistics.median(drawn for _, drawn in visits)}
