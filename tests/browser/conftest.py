"""Headless Chromium (Debian's package) driven by Playwright against a real gunicorn server."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD, IN_CI
from benchmarks.servers import gunicorn_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"Chromium is required under CI ({CHROMIUM} missing)")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_server(app_database, tmp_path_factory):
    with gunicorn_server(app_database, tmp_path_factory.mktemp("live"), workers=2) as url:
        yield url


class ConsoleWatch:
    """Collects console errors and uncaught page errors."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))


@contextmanager
def open_page(browser, base_url: str, request) -> Iterator:
    """A page in a fresh browser context that watches the console; a screenshot when the test fails."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console = ConsoleWatch(page)
    try:
        yield page
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture
def page(browser, live_server, request):
    with open_page(browser, live_server, request) as page:
        yield page


# ------------------------------------------------ a realistic data set (demo generator)
DEMO_CONFIG = {"customers": 400, "seed": 5}
DEMO_SCOPED_USER, DEMO_SCOPE = "aussie", ["Australia"]
DEMO_VIEWER = "reader"


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory) -> str:
    """A SQLite database with refreshed demo data, an admin, an analyst scoped to Australia and a viewer."""
    from services import users
    from services.db import make_engine, session_scope, upgrade_schema
    from services.demo import DemoConfig, generate_demo_data
    from services.refresh import refresh

    url = f"sqlite:///{tmp_path_factory.mktemp('demodb') / 'demo.db'}"
    upgrade_schema(url)
    engine = make_engine(url)
    try:
        generate_demo_data(engine, DemoConfig(**DEMO_CONFIG))
        refresh(engine)
        with session_scope(engine) as session:
            users.create_user(session, "admin", ADMIN_PASSWORD, "admin")
            users.create_user(session, DEMO_SCOPED_USER, ADMIN_PASSWORD, "analyst", DEMO_SCOPE)
            users.create_user(session, DEMO_VIEWER, ADMIN_PASSWORD, "viewer")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def demo_server(demo_database, tmp_path_factory):
    with gunicorn_server(demo_database, tmp_path_factory.mktemp("demo-live"), workers=2) as url:
        yield url


@pytest.fixture
def demo_page(browser, demo_server, request):
    with open_page(browser, demo_server, request) as page:
        yield page


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def login(page, username: str = "admin", password: str = ADMIN_PASSWORD, path: str = "/") -> None:
    page.goto(path)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_selector("#shell-tabs")


def dropdown_options(page, dropdown_id: str):
    """The options of an open dcc.Dropdown; its menu is a portal named by the button's aria-controls."""
    menu = page.locator(f"#{dropdown_id}").get_attribute("aria-controls")
    return page.locator(f"[id='{menu}']").get_by_role("option")
