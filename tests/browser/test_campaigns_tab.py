"""End to end in headless Chromium on demo data behind gunicorn: the Campaigns tab as an analyst reads it.

A demo database of its own (3,000 customers: the A/B test has a few hundred per variant) and one
gunicorn server and one logged-in page for the module. The numbers on screen are checked against
pandas on the raw SQL tables (`tests.test_campaigns_callbacks.CampaignTruth`: per-customer values
over the campaign window, CUPED with the pre-campaign values), never against the services.
Every test ends with a console that logged no errors.
"""
from __future__ import annotations

import re

import pandas as pd
import pytest
from playwright.sync_api import expect

from benchmarks.servers import gunicorn_server
from layouts import campaigns as ids
from services import formatting as fmt
from services import users
from services.db import make_engine, session_scope, upgrade_schema
from services.demo import DemoConfig, generate_demo_data
from services.refresh import refresh
from tests.browser.conftest import ARTIFACTS, login, open_page
from tests.browser.test_performance_tab import DATA_TIMEOUT, settle
from tests.conftest import ADMIN_PASSWORD
from tests.test_campaigns_callbacks import AB_TEST, EMAIL, LOYALTY, CampaignTruth

DEMO = DemoConfig(customers=3000, seed=11)
GRAPHS = (ids.SEASON_WINDOWS_GRAPH, ids.SEASON_MONTH_GRAPH, ids.SEASON_HEATMAP, ids.SEASON_STL_GRAPH)


@pytest.fixture(scope="module")
def campaigns_database(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('campaigns-browser') / 'demo.db'}"
    upgrade_schema(url)
    engine = make_engine(url)
    try:
        generate_demo_data(engine, DEMO)
        refresh(engine)
        with session_scope(engine) as session:
            users.create_user(session, "admin", ADMIN_PASSWORD, "admin")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="module")
def truth(campaigns_database) -> CampaignTruth:
    return CampaignTruth.read(campaigns_database)


@pytest.fixture(scope="module")
def server(campaigns_database, tmp_path_factory):
    with gunicorn_server(campaigns_database, tmp_path_factory.mktemp("campaigns-live"), workers=2) as url:
        yield url


@pytest.fixture(scope="module")
def admin_page(browser, server, request):
    """One logged-in page for the module (a browser context and a login are the slow part)."""
    with open_page(browser, server, request) as page:
        login(page, path="/?tab=campaigns")
        yield page


def at_opening_state(page, truth: CampaignTruth) -> bool:
    """The tab shows the A/B test with every setting as it opens (a fresh load would show the same)."""
    if "tab=campaigns" not in page.url or page.locator(f"#{ids.CAMPAIGN}").count() == 0:
        return False
    settle(page)
    return (page.locator(f"#{ids.CAMPAIGN}").input_value() == truth.campaign_id(AB_TEST)
            and not page.locator(f"#{ids.CUPED}").is_checked() and not page.locator(f"#{ids.SEQUENTIAL}").is_checked()
            and page.locator(f"#{ids.CAP}").input_value() == ids.NO_CAP
            and page.locator(f"#{ids.DIMENSION}").input_value() == ids.DIMENSION_OPTIONS[0]["value"])


@pytest.fixture
def campaigns(admin_page, truth, request):
    """The Campaigns tab in its opening state, the A/B test's readout shown; console errors counted from here.
    A test that leaves the tab changed gets the next one a fresh load (loads are the slow part)."""
    page = admin_page
    if not at_opening_state(page, truth):
        page.goto("/?tab=campaigns")
    page.console.errors.clear()
    expect(page.locator("#campaigns-kpi-orders")).to_have_text(orders_lift(truth), timeout=DATA_TIMEOUT)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)


def orders_lift(truth: CampaignTruth, name: str = AB_TEST, cuped: bool = False) -> str:
    """The orders-per-customer lift as the KPI card prints it, from pandas."""
    values = truth.values(name)
    if cuped:
        y, x = values["orders"], values["pre_orders"]
        values = values.assign(orders=y - (x.cov(y) / x.var()) * (x - x.mean()))
    means = values.groupby("variant")["orders"].mean()
    return fmt.change(means["treatment"] / means["control"] - 1)


def figure(page, graph_id: str) -> dict:
    """What plotly drew in a dcc.Graph: each trace's type, x and y (decoded from typed arrays), the annotations."""
    return page.evaluate("""id => {
        const plot = document.getElementById(id).querySelector('.js-plotly-plot');
        return {data: plot._fullData.map(t => ({type: t.type, x: Array.from(t.x || []), y: Array.from(t.y || [])})),
                annotations: (plot.layout.annotations || []).map(a => a.text)};
    }""", graph_id)


def grid_column(page, grid_id: str, column: str):
    return page.locator(f'#{grid_id} .ag-center-cols-container .ag-row .ag-cell[col-id="{column}"], '
                        f'#{grid_id} .ag-pinned-left-cols-container .ag-row .ag-cell[col-id="{column}"]')


def badges(page):
    return page.locator(f"#{ids.HEALTH} .health-badge")


def test_the_readout_shows_the_ab_tests_lift_from_sql(campaigns, truth):
    page = campaigns
    values = truth.values(AB_TEST)
    counts = values["variant"].value_counts()
    expect(page.locator(f"#{ids.CAMPAIGN}")).to_have_value(truth.campaign_id(AB_TEST))
    assert page.locator(f"#{ids.CAMPAIGN} option:checked").text_content().startswith(AB_TEST)
    expect(page.locator("#campaigns-kpi-customers")).to_have_text(f"{len(values):,}")
    expect(page.locator(f"#{ids.VERDICT}")).to_contain_text(
        f"compares {counts['treatment']:,} treatment with {counts['control']:,} control customers")
    expect(badges(page).first).to_contain_text(f"Split {counts['control'] / len(values):.1%} / "
                                               f"{counts['treatment'] / len(values):.1%} (planned 50% / 50%)")
    expect(page.locator(f"#{ids.NOT_RANDOMISED}")).to_be_hidden()
    expect(grid_column(page, ids.READOUT_GRID, "metric")).to_have_count(7, timeout=DATA_TIMEOUT)
    expect(page.locator(f"#{ids.LIFT_GRAPH} .js-plotly-plot .barlayer .point")).to_have_count(7, timeout=DATA_TIMEOUT)
    settle(page)
    bars = figure(page, ids.LIFT_GRAPH)["data"][0]
    lift = dict(zip(bars["y"], bars["x"]))["Orders per customer"]
    assert fmt.change(lift) == orders_lift(truth)
    assert page.console.errors == []


def test_cuped_changes_the_lift_and_the_verdict(campaigns, truth):
    page = campaigns
    before = page.locator(f"#{ids.VERDICT}").text_content()
    expect(badges(page).filter(has_text="CUPED on")).to_have_count(0)
    page.locator(f"#{ids.CUPED}").check()
    expect(badges(page).filter(has_text="CUPED on")).to_have_count(1, timeout=DATA_TIMEOUT)
    cuped = orders_lift(truth, cuped=True)
    assert cuped != orders_lift(truth)
    expect(page.locator("#campaigns-kpi-orders")).to_have_text(cuped, timeout=DATA_TIMEOUT)
    expect(page.locator(f"#{ids.VERDICT}")).to_contain_text("of the variance of orders per customer")
    assert page.locator(f"#{ids.VERDICT}").text_content() != before

    page.locator(f"#{ids.CUPED}").uncheck()
    expect(page.locator("#campaigns-kpi-orders")).to_have_text(orders_lift(truth), timeout=DATA_TIMEOUT)
    expect(badges(page).filter(has_text="CUPED on")).to_have_count(0)
    expect(page.locator(f"#{ids.VERDICT}")).to_have_text(before)
    settle(page)
    assert page.console.errors == []


def test_the_gender_dimension_shows_each_gender_and_the_interaction_test(campaigns, truth):
    page = campaigns
    values = truth.values(AB_TEST)
    comparable = values.groupby("gender").filter(lambda g: g["variant"].nunique() == 2)
    expected = comparable.groupby("gender")["variant"].value_counts().unstack()
    page.locator(f"#{ids.DIMENSION}").select_option("gender")
    segments = grid_column(page, ids.SEGMENT_GRID, "segment")
    expect(segments).to_have_text(list(expected.index), timeout=DATA_TIMEOUT)
    assert {"Female", "Male"} <= set(expected.index)
    controls = grid_column(page, ids.SEGMENT_GRID, "control_n").all_inner_texts()
    treated = grid_column(page, ids.SEGMENT_GRID, "treatment_n").all_inner_texts()
    assert controls == [f"{n:,}" for n in expected["control"]] and treated == [f"{n:,}" for n in expected["treatment"]]
    relative = page.locator("#campaigns-interaction-relative")
    expect(relative).to_contain_text("Does the relative lift differ between segments?")
    expect(relative).to_contain_text(re.compile(r"Cochran's Q = [\d.]+ on \d+ df, p [=<] [\d.]+"))
    expect(page.locator(f"#{ids.INTERACTION}")).to_contain_text("OLS F-test of treatment × gender")
    expect(page.locator("#campaigns-after-campaign")).to_have_count(0)  # gender is known before the campaign
    settle(page)
    assert figure(page, ids.SEGMENT_GRAPH)["data"][0]["x"] == list(expected.index)
    assert page.console.errors == []


def test_choosing_another_campaign_changes_the_readout(campaigns, truth):
    page = campaigns
    select = page.locator(f"#{ids.CAMPAIGN}")
    email = truth.values(EMAIL)
    select.select_option(truth.campaign_id(EMAIL))
    expect(page.locator("#campaigns-kpi-customers")).to_have_text(f"{len(email):,}", timeout=DATA_TIMEOUT)
    expect(page.locator("#campaigns-kpi-orders")).to_have_text(orders_lift(truth, EMAIL), timeout=DATA_TIMEOUT)
    expect(badges(page).first).to_contain_text("(planned 10% / 90%)")
    expect(page.locator(f"#{ids.DESCRIPTION}")).to_contain_text("planned split 10% / 90%")

    select.select_option(truth.campaign_id(LOYALTY))
    notice = page.locator(f"#{ids.NOT_RANDOMISED}")
    expect(notice).to_be_visible(timeout=DATA_TIMEOUT)
    expect(notice).to_contain_text(f"{LOYALTY} has no assignment to variants")
    expect(page.locator(f"#{ids.READOUT}")).to_be_hidden()
    expect(page.locator(f"#{ids.DESCRIPTION}")).to_contain_text("01 Jul 2023 – 31 Dec 2023")

    select.select_option(truth.campaign_id(AB_TEST))
    expect(notice).to_be_hidden(timeout=DATA_TIMEOUT)
    expect(page.locator("#campaigns-kpi-orders")).to_have_text(orders_lift(truth), timeout=DATA_TIMEOUT)
    settle(page)
    assert page.console.errors == []


def test_the_readout_downloads_as_csv(campaigns, truth):
    page = campaigns
    expect(grid_column(page, ids.READOUT_GRID, "metric")).to_have_count(7, timeout=DATA_TIMEOUT)
    settle(page)
    with page.expect_download(timeout=DATA_TIMEOUT) as download:
        page.locator(f"#{ids.EXPORT}").click()
    assert download.value.suggested_filename == "readout-20-discount-a-b-test.csv"
    exported = pd.read_csv(download.value.path()).set_index("metric")
    assert exported.index.tolist() == grid_column(page, ids.READOUT_GRID, "metric").all_inner_texts()
    assert fmt.change(exported.loc["Orders per customer", "relative_lift"]) == orders_lift(truth)
    values = truth.values(AB_TEST)
    means = values.groupby("variant")["revenue"].mean()
    assert exported.loc["Revenue per customer", ["control", "treatment"]].tolist() == pytest.approx(
        [means["control"], means["treatment"]], rel=1e-9)
    assert page.console.errors == []


def test_the_seasonality_charts_render(campaigns, truth):
    page = campaigns
    for graph in GRAPHS:
        expect(page.locator(f"#{graph} .js-plotly-plot .main-svg").first).to_be_visible(timeout=DATA_TIMEOUT)
    peaks = page.locator("#campaigns-season-peaks")
    expect(peaks).to_contain_text("November", timeout=DATA_TIMEOUT)
    expect(peaks).to_contain_text("December")
    settle(page)
    drawn = {graph: figure(page, graph) for graph in GRAPHS}
    assert all(drawn[graph]["data"] for graph in GRAPHS)
    assert sorted(drawn[ids.SEASON_WINDOWS_GRAPH]["annotations"]) == sorted(truth.campaigns["name"])
    assert [trace["type"] for trace in drawn[ids.SEASON_STL_GRAPH]["data"]] == ["scatter", "scatter", "scatter", "bar"]
    revenue = truth.orders.groupby(truth.orders["day"].dt.month)["amount"].sum()
    months = drawn[ids.SEASON_MONTH_GRAPH]["data"][0]
    assert months["x"] == [pd.Timestamp(2000, m, 1).strftime("%b") for m in range(1, 13)]
    assert months["x"][max(range(12), key=lambda i: months["y"][i])] == pd.Timestamp(
        2000, int(revenue.idxmax()), 1).strftime("%b")
    assert page.console.errors == []
