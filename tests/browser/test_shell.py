"""End to end in headless Chromium: log in, open every tab, toggle the theme, filter, log out."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from layouts.shell import TAB_LIST
from tests.browser.conftest import dropdown_options, login


def test_login_shows_the_shell_without_console_errors(page):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    login(page)
    expect(page.locator(".navbar-brand")).to_contain_text("CustomerScope")
    expect(page.locator("#shell-user-menu")).to_contain_text("admin")
    for tab in TAB_LIST:
        expect(page.get_by_role("tab", name=tab.label)).to_be_visible()
    expect(page.locator("#filters-countries")).to_be_visible()
    assert page.console.errors == []


def test_wrong_password_stays_on_login(page):
    login_page = page.goto("/login")
    assert login_page.status == 200
    page.fill("#username", "admin")
    page.fill("#password", "not the password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("Invalid username or password.")


def test_every_tab_opens(page):
    login(page)
    for tab in TAB_LIST:
        page.get_by_role("tab", name=tab.label).click()
        expect(page.locator(f"#{tab.key}-content")).to_be_visible()
        if tab.key != TAB_LIST[0].key:
            expect(page).to_have_url(re.compile(f"tab={tab.key}"))
    assert page.console.errors == []


def test_theme_toggle_is_remembered(page):
    login(page)
    html = page.locator("html")
    expect(html).to_have_attribute("data-bs-theme", "light")
    page.locator("#shell-theme-switch").click()
    expect(html).to_have_attribute("data-bs-theme", "dark")
    page.reload()
    page.wait_for_selector("#shell-tabs")
    expect(html).to_have_attribute("data-bs-theme", "dark")
    page.locator("#shell-theme-switch").click()
    expect(html).to_have_attribute("data-bs-theme", "light")
    assert page.console.errors == []


def test_filters_are_mirrored_in_the_url(page):
    login(page, path="/?country=Australia&tab=coupons")
    expect(page.locator("#filters-countries")).to_contain_text("Australia")
    expect(page.get_by_role("tab", name="Coupons")).to_have_class(re.compile("active"))
    page.locator("#filters-genders").click()
    page.get_by_role("option", name="Female").click()
    expect(page).to_have_url(re.compile(r"country=Australia.*gender=Female"))
    page.locator("#filters-reset").click()
    expect(page).not_to_have_url(re.compile("country="))
    assert page.console.errors == []


def test_invalid_url_filters_are_dropped(page):
    login(page, path="/?country=Atlantis&gender=Female")
    expect(page.locator("#filters-genders")).to_contain_text("Female")
    expect(page.locator("#filters-countries")).not_to_contain_text("Atlantis")
    expect(page).not_to_have_url(re.compile("Atlantis"))


def test_scope_limits_country_options(page):
    login(page, username="aussie")
    expect(page.locator("#filters-scope-note")).to_contain_text("Australia")
    page.locator("#filters-countries").click()
    options = dropdown_options(page, "filters-countries")
    expect(options).to_have_count(1)
    expect(options.first).to_have_text("Australia")


def test_logout_returns_to_login(page):
    login(page)
    page.locator("#shell-user-menu").click()
    page.locator("#shell-logout").click()
    expect(page).to_have_url(re.compile("/login"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert page.console.errors == []
