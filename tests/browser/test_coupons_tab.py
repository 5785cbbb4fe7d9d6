"""End to end in headless Chromium on demo data: the Coupons tab as a user works with it.

Every number on screen is checked against counts computed straight from the SQL tables
(`coupon_events`, `transactions`, `branches`), not from the snapshot or the services, so the path
from SQL through the snapshot, the services and the callbacks to the card, the figure and the CSV
is under test. The admin's tests share one logged-in page (a fresh load of the tab each).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine

from layouts import coupons as ids
from layouts import segmentation_lab as lab_ids
from services.formatting import compact
from tests.browser.conftest import ARTIFACTS, DEMO_SCOPE, DEMO_SCOPED_USER, login, open_page
from tests.browser.test_performance_tab import DATA_TIMEOUT, settle

EVENTS = ("issued", "claimed", "burned", "expired")
PRESET_CITIES = 3  # the shortcut into the lab adds the cities with the most burns
COUPON_FEATURE_LABELS = ["Orders", "Coupon usage", "Coupon burn rate", "Female (1) or not (0)"]


@dataclass(frozen=True)
class Truth:
    """What the SQL tables say, computed independently of the app."""

    events: pd.DataFrame  # every coupon event: event, branch_id, customer country, branch city and country
    coupon_orders: pd.DataFrame  # every order paid with a coupon: branch_id, customer country
    branches: pd.DataFrame  # every branch: branch_id, branch, city, country

    def counts(self, **where: str) -> dict[str, int]:
        frame = self.events
        for column, value in where.items():
            frame = frame[frame[column] == value]
        counts = frame["event"].value_counts()
        return {event: int(counts.get(event, 0)) for event in EVENTS}

    def active_branches(self, customer_country: str | None = None) -> pd.DataFrame:
        """The branches with coupon events or coupon orders (of customers in `customer_country`), with their burns."""
        events, orders = self.events, self.coupon_orders
        if customer_country is not None:
            events = events[events["customer_country"] == customer_country]
            orders = orders[orders["customer_country"] == customer_country]
        active = set(events["branch_id"].dropna()) | set(orders["branch_id"].dropna())
        burned = events[events["event"] == "burned"].groupby("branch_id").size()
        table = self.branches[self.branches["branch_id"].isin(active)].copy()
        table["burned"] = table["branch_id"].map(burned).fillna(0).astype(int)
        return table.set_index("branch_id").sort_index()

    def cities_by_burns(self) -> list[str]:
        """Branch cities, most burns first (ties by name, as the tab breaks them)."""
        burned = self.events[self.events["event"] == "burned"].groupby("city").size().rename("burned").reset_index()
        return burned.sort_values(["burned", "city"], ascending=[False, True])["city"].tolist()


@pytest.fixture(scope="module")
def truth(demo_database) -> Truth:
    engine = create_engine(demo_database)
    try:
        events = pd.read_sql(
            "SELECT e.event, e.branch_id, c.country AS customer_country, b.city, b.country AS branch_country "
            "FROM coupon_events e JOIN customers c ON c.id = e.customer_id "
            "LEFT JOIN branches b ON b.id = e.branch_id", engine)
        coupon_orders = pd.read_sql(
            "SELECT t.branch_id, c.country AS customer_country FROM transactions t "
            "JOIN customers c ON c.id = t.customer_id WHERE t.coupon_id IS NOT NULL", engine)
        branches = pd.read_sql("SELECT id AS branch_id, name AS branch, city, country FROM branches", engine)
    finally:
        engine.dispose()
    assert set(events["event"]) == set(EVENTS) and events["city"].nunique() > PRESET_CITIES  # worth looking at
    assert (events["customer_country"] == DEMO_SCOPE[0]).any()
    return Truth(events, coupon_orders, branches)


@pytest.fixture(scope="module")
def admin_page(browser, demo_server, request):
    """One logged-in admin page for the module's tests (a browser context and a login are the slow part)."""
    with open_page(browser, demo_server, request) as page:
        login(page, path="/?tab=coupons")
        yield page


@pytest.fixture
def coupons(admin_page, request, truth):
    """The admin's page on a freshly loaded Coupons tab, its data shown; console errors counted from here."""
    page = admin_page
    page.console.errors.clear()
    page.goto("/?tab=coupons")
    wait_for_kpis(page, truth.counts())
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)


def kpis(page) -> dict[str, str]:
    return {event: page.locator(f"#coupons-kpi-{event}").text_content() for event in EVENTS}


def wait_for_kpis(page, counts: dict[str, int]) -> None:
    """Wait until the four funnel cards show `counts` (compact, as the cards print them)."""
    for event in EVENTS:
        expect(page.locator(f"#coupons-kpi-{event}")).to_have_text(compact(counts[event]), timeout=DATA_TIMEOUT)


def figure(page, graph_id: str) -> dict:
    """The data and layout plotly drew in a dcc.Graph."""
    return page.evaluate("""id => {
        const plot = document.getElementById(id).querySelector('.js-plotly-plot');
        return {data: plot.data.map(trace => ({x: trace.x, y: trace.y, name: trace.name})),
                annotations: (plot.layout.annotations || []).map(a => a.text)};
    }""", graph_id)


def timeline_step(page, days: int) -> None:
    """Wait until the timeline's x values are `days` apart (or a calendar month, for days=30)."""
    page.wait_for_function("""([id, days]) => {
        const plot = document.getElementById(id).querySelector('.js-plotly-plot');
        const x = plot && plot.data && plot.data[0] && plot.data[0].x;
        if (!x || x.length < 3) return false;
        const step = (new Date(x[2]) - new Date(x[1])) / 86400000;
        return days === 30 ? step >= 28 && step <= 31 : step === days;
    }""", arg=[ids.TIMELINE_GRAPH, days], timeout=DATA_TIMEOUT)


def choose_grain(page, label: str) -> None:
    page.locator(f"#{ids.GRAIN} label", has_text=re.compile(f"^{label}$")).click()


def grid_column(page, grid_id: str, column: str):
    return page.locator(f'#{grid_id} .ag-row .ag-cell[col-id="{column}"]')


def test_kpis_equal_the_sql_counts(coupons, truth):
    page = coupons
    counts = truth.counts()
    assert kpis(page) == {event: compact(count) for event, count in counts.items()}
    expect(page.locator(f"#{ids.FUNNEL_GRAPH} .js-plotly-plot")).to_be_visible(timeout=DATA_TIMEOUT)
    funnel = figure(page, ids.FUNNEL_GRAPH)
    assert funnel["data"][0]["x"] == [counts["issued"], counts["claimed"], counts["burned"]]  # exact, not compact
    assert any(f"{counts['expired']:,}" in text for text in funnel["annotations"])
    expect(page.locator(f"#{ids.FOCUS_BADGE}")).to_be_empty()
    expect(page.locator(f"#{ids.FOCUS_CLEAR}")).to_be_hidden()
    settle(page)
    assert page.console.errors == []


def test_granularity_changes_the_timeline_spacing(coupons):
    page = coupons
    timeline_step(page, 7)  # the tab opens by week
    weeks = figure(page, ids.TIMELINE_GRAPH)["data"]
    assert [trace["name"] for trace in weeks] == ["claimed", "burned", "expired"]
    week_days = pd.to_datetime(pd.Series(weeks[0]["x"]))
    assert (week_days.dt.day_of_week == 0).all() and (week_days.diff().dropna() == pd.Timedelta(days=7)).all()

    choose_grain(page, "Day")
    timeline_step(page, 1)
    days = pd.to_datetime(pd.Series(figure(page, ids.TIMELINE_GRAPH)["data"][0]["x"]))
    assert (days.diff().dropna() == pd.Timedelta(days=1)).all()
    assert len(days) > 5 * len(week_days)

    choose_grain(page, "Month")
    timeline_step(page, 30)
    months = pd.to_datetime(pd.Series(figure(page, ids.TIMELINE_GRAPH)["data"][0]["x"]))
    assert (months.dt.day == 1).all() and months.diff().dropna().dt.days.between(28, 31).all()
    assert len(months) < len(week_days)
    assert week_days.min() <= days.min() and months.min() <= days.min() <= months.min() + pd.Timedelta(days=31)
    expect(page.locator(f"#{ids.GRAIN} label.active")).to_have_text("Month")
    settle(page)
    assert page.console.errors == []


def test_clicking_a_city_focuses_the_tab_and_all_branches_restores_it(coupons, truth):
    page = coupons
    everyone = truth.counts()
    bars = page.locator(f"#{ids.CITIES_GRAPH} .js-plotly-plot .barlayer .point")
    expect(bars).to_have_count(min(10, truth.events["city"].nunique()), timeout=DATA_TIMEOUT)
    settle(page)
    cities = figure(page, ids.CITIES_GRAPH)["data"][0]["y"]
    assert cities == truth.cities_by_burns()[:10]
    city = cities[0]  # the first bar is the top one (the axis is reversed)

    # Plotly's drag layer lies over the bars and takes the mouse (Playwright sees it intercept the click):
    # click at the bar's place anyway, as a user's mouse would.
    bars.first.locator("path").first.click(force=True)
    expect(page.locator(f"#{ids.FOCUS_BADGE}")).to_have_text(f"City: {city}", timeout=DATA_TIMEOUT)
    in_city = truth.counts(city=city)
    assert in_city["burned"] < everyone["burned"]
    expect(page.locator("#coupons-kpi-burned")).to_have_text(compact(in_city["burned"]), timeout=DATA_TIMEOUT)
    wait_for_kpis(page, in_city)
    city_branches = truth.active_branches().query("city == @city")
    expect(grid_column(page, ids.BRANCH_GRID, "city")).to_have_count(len(city_branches), timeout=DATA_TIMEOUT)
    assert sorted(grid_column(page, ids.BRANCH_GRID, "branch").all_inner_texts()) == sorted(city_branches["branch"])
    assert set(grid_column(page, ids.BRANCH_GRID, "city").all_inner_texts()) == {city}

    clear = page.locator(f"#{ids.FOCUS_CLEAR}")
    expect(clear).to_be_visible()
    clear.click()
    expect(page.locator(f"#{ids.FOCUS_BADGE}")).to_be_empty(timeout=DATA_TIMEOUT)
    expect(clear).to_be_hidden()
    wait_for_kpis(page, everyone)
    expect(grid_column(page, ids.BRANCH_GRID, "city")).to_have_count(len(truth.active_branches()),
                                                                     timeout=DATA_TIMEOUT)
    settle(page)
    assert page.console.errors == []


def test_branch_export_matches_the_sql(coupons, truth):
    page = coupons
    expected = truth.active_branches()
    expect(grid_column(page, ids.BRANCH_GRID, "burned")).to_have_count(len(expected), timeout=DATA_TIMEOUT)
    settle(page)
    with page.expect_download(timeout=DATA_TIMEOUT) as download:
        page.locator(f"#{ids.BRANCH_EXPORT}").click()
    assert download.value.suggested_filename == "coupon-branches.csv"
    exported = pd.read_csv(download.value.path())
    assert len(exported) == len(expected)
    assert exported["burned"].is_monotonic_decreasing  # most burns first, as on screen
    by_branch = exported.set_index("branch_id").sort_index()
    assert by_branch.index.tolist() == expected.index.tolist()
    assert by_branch["burned"].tolist() == expected["burned"].tolist()
    assert by_branch[["branch", "city", "country"]].equals(expected[["branch", "city", "country"]])
    assert page.console.errors == []


def test_segment_shortcut_opens_the_lab_with_the_coupon_features(coupons, truth):
    page = coupons
    settle(page)
    page.locator(f"#{ids.SEGMENT_SHORTCUT}").click()
    expect(page).to_have_url(re.compile(r"[?&]tab=segmentation"), timeout=DATA_TIMEOUT)
    expect(page.get_by_role("tab", name="Segmentation")).to_have_class(re.compile(r"\bactive\b"))
    expect(page.get_by_role("tab", name="Clustering lab")).to_have_class(re.compile(r"\bactive\b"))
    top_cities = truth.cities_by_burns()[:PRESET_CITIES]
    chosen = page.locator(f"#{lab_ids.FEATURES}-value .dash-dropdown-value-item")
    expect(chosen).to_have_text([*COUPON_FEATURE_LABELS, *(f"Lives in {city}" for city in top_cities)],
                                timeout=DATA_TIMEOUT)
    expect(page.locator(f"#{lab_ids.FEATURES}")).to_contain_text(f"{len(COUPON_FEATURE_LABELS) + PRESET_CITIES} "
                                                                 "selected")
    settle(page)
    assert page.console.errors == []


def test_scoped_user_sees_only_their_countrys_branches(demo_page, truth):
    page = demo_page
    (country,) = DEMO_SCOPE
    login(page, username=DEMO_SCOPED_USER, path="/?tab=coupons")
    wait_for_kpis(page, truth.counts(customer_country=country))
    expected = truth.active_branches(customer_country=country)
    countries = grid_column(page, ids.BRANCH_GRID, "country")
    expect(countries).to_have_count(len(expected), timeout=DATA_TIMEOUT)
    assert set(countries.all_inner_texts()) == {country}
    names = grid_column(page, ids.BRANCH_GRID, "branch").all_inner_texts()
    assert sorted(names) == sorted(expected["branch"])
    assert set(figure(page, ids.CITIES_GRAPH)["data"][0]["y"]) <= set(expected["city"])
    settle(page)
    assert page.console.errors == []
