"""End to end in headless Chromium behind gunicorn: the Value & churn section as an analyst and a viewer use it.

A demo database of its own (the retraining test writes a new data version), one server for the module.
Numbers on screen are checked against pandas on the SQL `customer_summary` the refresh wrote; the
section's own services are never asked. Every test ends with a console that logged no errors.
"""
from __future__ import annotations

import pandas as pd
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from benchmarks.servers import gunicorn_server
from layouts import filter_bar as fb
from layouts import performance as performance_ids
from layouts import value as ids
from services import formatting as fmt
from services import users
from services.db import make_engine, session_scope, upgrade_schema
from services.demo import DemoConfig, generate_demo_data
from services.models import CustomerSummary, ValueModelRecord
from services.refresh import refresh
from tests.browser.conftest import login, open_page
from tests.browser.test_performance_tab import DATA_TIMEOUT, settle
from tests.conftest import ADMIN_PASSWORD

DEMO = DemoConfig(customers=800, seed=21)
VIEWER = "reader"


@pytest.fixture(scope="module")
def value_database(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('value-browser') / 'demo.db'}"
    upgrade_schema(url)
    engine = make_engine(url)
    try:
        generate_demo_data(engine, DEMO)
        refresh(engine)
        with session_scope(engine) as session:
            users.create_user(session, "admin", ADMIN_PASSWORD, "admin")
            users.create_user(session, VIEWER, ADMIN_PASSWORD, "viewer")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="module")
def server(value_database, tmp_path_factory):
    with gunicorn_server(value_database, tmp_path_factory.mktemp("value-live"), workers=2) as url:
        yield url


def scored(url: str) -> pd.DataFrame:
    """The buyers' stored scores, read from SQL."""
    s = CustomerSummary.__table__.c
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(s.customer_id, s.orders, s.clv_12m, s.churn_risk, s.revenue_at_risk)
                                      .where(s.orders > 0)).all()
    finally:
        engine.dispose()
    return pd.DataFrame(rows, columns=["customer_id", "orders", "clv_12m", "churn_risk", "revenue_at_risk"])


def open_section(page, username: str = "admin"):
    page.set_default_timeout(DATA_TIMEOUT)  # the whole Customer performance tab loads first
    login(page, username=username)
    page.locator(f"#{ids.OPEN}").click()
    expect(page.locator(f"#{ids.KPI_CLV}")).not_to_have_text("–", timeout=DATA_TIMEOUT)
    expect(page.locator(f"#{ids.OPEN}")).to_be_hidden()


@pytest.fixture(scope="module")
def admin_page(browser, server, request):
    """One logged-in page for the admin's tests, which run in this file's order (loading the tab is the slow
    part): saving at the opening threshold, moving it, the customer detail, then retraining."""
    with open_page(browser, server, request) as page:
        open_section(page)
        yield page


@pytest.fixture
def section(admin_page):
    admin_page.console.errors.clear()
    return admin_page


def risk_rows(page):
    return page.locator(f'#{ids.RISK_GRID} .ag-center-cols-container .ag-row')


def test_an_analyst_saves_the_at_risk_customers_as_a_segment(section, value_database):
    truth = scored(value_database)
    page = section
    page.fill(f"#{ids.SEGMENT_NAME}", "Win-back list")
    page.locator(f"#{ids.SAVE_SEGMENT}").click()
    flagged = int((truth["churn_risk"] >= 0.5).sum())
    expect(page.locator(f"#{ids.SAVE_FEEDBACK}")).to_contain_text(
        f"Saved “Win-back list” with {flagged:,} customers", timeout=DATA_TIMEOUT)
    page.locator(f"#{fb.SEGMENT}").click()
    expect(page.get_by_role("option", name="Win-back list")).to_be_visible()
    page.keyboard.press("Escape")
    settle(page)
    assert page.console.errors == []


def test_the_section_shows_the_stored_scores_and_explores_thresholds(section, value_database):
    truth = scored(value_database)
    assert truth["clv_12m"].notna().all() and truth["churn_risk"].notna().all()
    page = section
    expect(page.locator(f"#{ids.KPI_CLV}")).to_have_text(fmt.money(truth["clv_12m"].sum()))
    expect(page.locator(f"#{ids.KPI_AVERAGE}")).to_have_text(fmt.money(truth["clv_12m"].mean()))
    expect(page.locator(f"#{ids.KPI_RISK}")).to_have_text(fmt.money(truth["revenue_at_risk"].sum()))
    expect(page.locator(f"#{ids.MODEL_NOTE}")).to_contain_text("by the refresh on data version 1")
    for graph in (ids.HISTOGRAM, ids.BY_GRAPH, ids.ALIVE_GRAPH, ids.CALIBRATION_GRAPH, ids.ROC_GRAPH,
                  ids.PR_GRAPH, ids.RELIABILITY_GRAPH, ids.IMPORTANCE_GRAPH):
        expect(page.locator(f"#{graph} .js-plotly-plot")).to_have_count(1, timeout=DATA_TIMEOUT)

    flagged = int((truth["churn_risk"] >= 0.5).sum())
    readout = page.locator(f"#{ids.THRESHOLD_READOUT}")
    expect(readout).to_contain_text(f"{flagged:,} customers at or above 50% churn risk", timeout=DATA_TIMEOUT)
    expect(readout).to_contain_text("On the holdout: precision")
    riskiest = truth[truth["churn_risk"] >= 0.5].sort_values(["revenue_at_risk", "customer_id"],
                                                             ascending=[False, True])["customer_id"].iloc[0]
    expect(risk_rows(page).first).to_have_attribute("row-id", str(riskiest), timeout=DATA_TIMEOUT)
    page.locator(f"#{ids.THRESHOLD} [role=slider]").focus()
    page.keyboard.press("ArrowRight")
    higher = int((truth["churn_risk"] >= 0.55).sum())
    expect(readout).to_contain_text(f"{higher:,} customers at or above 55% churn risk", timeout=DATA_TIMEOUT)

    with page.expect_download(timeout=DATA_TIMEOUT) as download:
        page.locator(f"#{ids.RISK_EXPORT}").click()
    assert download.value.suggested_filename == "customers-at-risk-55.csv"
    exported = pd.read_csv(download.value.path())
    expected = truth[truth["churn_risk"] >= 0.55].sort_values(["revenue_at_risk", "customer_id"],
                                                              ascending=[False, True])
    assert exported["customer_id"].tolist() == expected["customer_id"].tolist()
    settle(page)
    assert page.console.errors == []


def test_the_customer_detail_shows_the_customers_scores(section, value_database):
    truth = scored(value_database).set_index("customer_id")
    page = section
    top = page.locator(f"#{performance_ids.TOP_GRID} .ag-row").first
    customer = int(top.get_attribute("row-id"))
    top.locator('.ag-cell[col-id="name"]').click()
    detail = page.locator(f"#{performance_ids.DETAIL}")
    expect(detail).to_contain_text("Expected value, 12 months", timeout=DATA_TIMEOUT)
    expect(detail).to_contain_text(fmt.money(truth.at[customer, "clv_12m"]))
    expect(detail).to_contain_text(f"Churn risk{fmt.percent(truth.at[customer, 'churn_risk'], 0)}")
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()
    settle(page)
    assert page.console.errors == []


def test_a_viewer_reads_the_section_without_training_or_saving(browser, server, request):
    with open_page(browser, server, request) as page:
        open_section(page, VIEWER)
        expect(page.locator(f"#{ids.SECTION}")).to_contain_text("Analysts and administrators retrain the models.")
        expect(page.locator(f"#{ids.TRAIN}")).to_have_count(0)
        expect(page.locator(f"#{ids.SAVE_SEGMENT}")).to_have_count(0)
        settle(page)
        assert page.console.errors == []


def test_retraining_runs_in_the_background_with_progress(section, value_database):
    page = section
    page.fill(f"#{ids.HORIZON}", "60")
    page.locator(f"#{ids.TRAIN}").click()
    expect(page.locator(f"#{ids.CANCEL}")).to_be_enabled(timeout=DATA_TIMEOUT)
    expect(page.locator(f"#{ids.STATUS}")).to_contain_text("…", timeout=DATA_TIMEOUT)
    expect(page.locator(f"#{ids.STATUS}")).to_contain_text("Retrained: the scores are data version 2",
                                                          timeout=180_000)
    expect(page.locator(f"#{ids.MODEL_NOTE}")).to_contain_text("by admin on data version 2",
                                                              timeout=DATA_TIMEOUT)
    expect(page.locator(f"#{ids.MODEL_NOTE}")).to_contain_text("Churn (60 days)")
    expect(page.locator(f"#{ids.TRAIN}")).to_be_enabled()
    settle(page)
    assert page.console.errors == []
    engine = make_engine(value_database)
    try:
        with engine.connect() as connection:
            trained = connection.execute(select(ValueModelRecord.kind, ValueModelRecord.trained_by,
                                                ValueModelRecord.settings).where(ValueModelRecord.data_version == 2)
                                         ).all()
    finally:
        engine.dispose()
    assert sorted(kind for kind, _, _ in trained) == ["churn", "value"]
    assert all(by == "admin" and settings["horizon"] == 60 for _, by, settings in trained)
