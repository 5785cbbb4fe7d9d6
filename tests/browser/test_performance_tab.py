"""End to end in headless Chromium on demo data: the Customer performance tab as a user works with it.

KPI values are checked against counts computed straight from the raw tables (not from
`customer_summary` or the services), so the whole pipeline from SQL to card is under test.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine

from layouts import filter_bar as fb
from layouts import performance as ids
from layouts.performance_kpis import KPIS
from services.formatting import MISSING, compact, money
from tests.browser.conftest import DEMO_SCOPE, DEMO_SCOPED_USER, dropdown_options, login

DATA_TIMEOUT = 45_000  # first callbacks of a fresh page load plotly.js and the grid; generous on busy machines
KPI_IDS = [spec.id for spec in KPIS]


@dataclass(frozen=True)
class Truth:
    """What the raw tables say, computed independently of the app."""

    buyers: pd.DataFrame  # one row per customer with at least one order: customer_id, country, gender, orders, revenue

    def customers(self, **where: str) -> int:
        frame = self.buyers
        for column, value in where.items():
            frame = frame[frame[column] == value]
        return len(frame)


@pytest.fixture(scope="module")
def truth(demo_database) -> Truth:
    engine = create_engine(demo_database)
    try:
        buyers = pd.read_sql(
            "SELECT c.id AS customer_id, c.country, c.gender, COUNT(*) AS orders, SUM(t.amount) AS revenue "
            "FROM transactions t JOIN customers c ON c.id = t.customer_id GROUP BY c.id, c.country, c.gender",
            engine)
    finally:
        engine.dispose()
    assert len(buyers) > 100 and buyers["country"].nunique() > 1  # a data set worth filtering
    return Truth(buyers)


def kpi_value(page, kpi_id: str):
    return page.locator(f"#{kpi_id} .kpi-value")


def wait_for_kpis(page, customers: int) -> dict[str, str]:
    """Wait until the customers card shows `customers`, then read every card."""
    expect(kpi_value(page, "kpi-total-customers")).to_have_text(compact(customers), timeout=DATA_TIMEOUT)
    for kpi_id in KPI_IDS:
        expect(kpi_value(page, kpi_id)).not_to_have_text(MISSING)
    values = {kpi_id: kpi_value(page, kpi_id).text_content() for kpi_id in KPI_IDS}
    return values


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def choose(page, dropdown_id: str, option: str) -> None:
    page.locator(f"#{dropdown_id}").click()
    dropdown_options(page, dropdown_id).filter(has_text=re.compile(f"^{re.escape(option)}$")).click()
    page.keyboard.press("Escape")


def settle(page) -> None:
    """Wait until no Dash callback is pending (the renderer marks their outputs data-dash-is-loading)."""
    expect(page.locator("[data-dash-is-loading='true']")).to_have_count(0, timeout=DATA_TIMEOUT)


def click_largest_country(page, paths) -> None:
    """Click inside the largest country of a choropleth (a bounding-box centre may lie in a neighbour or the sea)."""
    paths.first.scroll_into_view_if_needed()
    point = paths.evaluate_all("""paths => {
        const area = box => box.width * box.height;
        const [element, box] = paths.map(p => [p, p.getBBox()]).sort((a, b) => area(b[1]) - area(a[1]))[0];
        const cx = box.x + box.width / 2, cy = box.y + box.height / 2, inside = [];
        for (let i = 1; i < 20; i++) for (let j = 1; j < 20; j++) {
            const p = new DOMPoint(box.x + box.width * i / 20, box.y + box.height * j / 20);
            if (element.isPointInFill(p)) inside.push(p);
        }
        inside.sort((a, b) => Math.hypot(a.x - cx, a.y - cy) - Math.hypot(b.x - cx, b.y - cy));
        const best = inside[0].matrixTransform(element.getScreenCTM());
        return {x: best.x, y: best.y};
    }""")
    page.mouse.click(point["x"], point["y"])


def test_kpis_filters_and_map_click(demo_page, truth):
    page = demo_page
    login(page)
    everyone = wait_for_kpis(page, truth.customers())
    assert everyone["kpi-total-revenue"] == money(truth.buyers["revenue"].sum())
    assert everyone["kpi-orders"] == compact(truth.buyers["orders"].sum())

    churn = page.locator(f"#{ids.CHURN_DAYS}")
    churn.fill("90")
    churn.press("Enter")
    expect(page.locator("#kpi-churn-rate .kpi-title")).to_contain_text("90", timeout=DATA_TIMEOUT)
    everyone = wait_for_kpis(page, truth.customers())

    choose(page, fb.GENDERS, "Female")
    expect(page).to_have_url(re.compile(r"[?&]gender=Female"), timeout=DATA_TIMEOUT)
    women = wait_for_kpis(page, truth.customers(gender="Female"))
    assert women != everyone

    page.locator(f"#{fb.RESET}").click()
    expect(page).not_to_have_url(re.compile("gender="))
    assert wait_for_kpis(page, truth.customers()) == everyone
    expect(churn).to_have_value("90")  # Reset clears the filters, not the tab's own settings

    countries = page.locator(f"#{ids.MAP_GRAPH} .choroplethlocation")
    expect(countries).to_have_count(truth.buyers["country"].nunique(), timeout=DATA_TIMEOUT)
    settle(page)
    click_largest_country(page, countries)
    expect(page).to_have_url(re.compile(r"[?&]country="), timeout=DATA_TIMEOUT)
    (country,) = query(page)["country"]
    assert country in set(truth.buyers["country"])
    expect(page.locator(f"#{fb.COUNTRIES}")).to_contain_text(country)
    one_country = wait_for_kpis(page, truth.customers(country=country))
    assert one_country != everyone
    expect(countries).to_have_count(1, timeout=DATA_TIMEOUT)  # the map follows the filter
    assert page.console.errors == []


def test_customer_detail_and_csv_export(demo_page, truth):
    page = demo_page
    country = truth.buyers["country"].value_counts().index[0]
    login(page, path=f"/?country={country.replace(' ', '+')}")
    wait_for_kpis(page, truth.customers(country=country))
    grid = page.locator(f"#{ids.TOP_GRID}")
    names = grid.locator('.ag-row .ag-cell[col-id="name"]')
    expect(names).to_have_count(10, timeout=DATA_TIMEOUT)
    shown = names.all_inner_texts()

    names.first.click()
    detail = page.locator(f"#{ids.DETAIL}")
    expect(detail).to_be_visible(timeout=DATA_TIMEOUT)
    expect(detail.locator(".offcanvas-title")).to_contain_text(shown[0])
    for heading in ("Orders over time", "Categories", "Coupons used", "Survey answers"):
        expect(detail.get_by_role("heading", name=heading)).to_be_visible()
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()

    with page.expect_download(timeout=DATA_TIMEOUT) as download:
        page.locator(f"#{ids.TOP_EXPORT}").click()
    assert download.value.suggested_filename == "top-10-customers.csv"
    exported = pd.read_csv(download.value.path())
    assert len(exported) == 10
    assert exported["name"].tolist() == shown
    assert exported["revenue"].is_monotonic_decreasing
    assert (exported["country"] == country).all()
    mine = truth.buyers.set_index("customer_id").loc[exported["customer_id"]]
    assert exported["revenue"].round(2).tolist() == mine["revenue"].round(2).tolist()
    assert page.console.errors == []


def test_scoped_user_sees_only_their_country(demo_page, truth):
    page = demo_page
    login(page, username=DEMO_SCOPED_USER)
    (country,) = DEMO_SCOPE
    wait_for_kpis(page, truth.customers(country=country))
    expect(page.locator(f"#{ids.MAP_GRAPH} .choroplethlocation")).to_have_count(1, timeout=DATA_TIMEOUT)
    page.locator(f"#{fb.COUNTRIES}").click()
    options = dropdown_options(page, fb.COUNTRIES)
    expect(options).to_have_count(1)
    expect(options.first).to_have_text(country)
    page.keyboard.press("Escape")
    top_countries = page.locator(f'#{ids.TOP_GRID} .ag-row .ag-cell[col-id="country"]')
    expect(top_countries.first).to_be_visible(timeout=DATA_TIMEOUT)
    assert set(top_countries.all_inner_texts()) == {country}
    assert page.console.errors == []
