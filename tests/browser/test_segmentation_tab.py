"""End to end in headless Chromium on demo data: run a clustering, save it, filter another tab by a saved
segment, compare two segments, and RFM on screen.

Segment sizes are read from the SQL tables the save wrote, and the performance tab's customer count is
compared with them, so the path from the background job to another tab's filter is under test.
"""
from __future__ import annotations

import re

import pandas as pd
from playwright.sync_api import expect
from sqlalchemy import create_engine

from layouts import filter_bar as fb
from layouts import segmentation_lab as lab_ids
from layouts import segmentation_rfm as rfm_ids
from layouts import segmentation_segments as segment_ids
from services.formatting import compact
from tests.browser.conftest import DEMO_VIEWER, dropdown_options, login
from tests.browser.test_performance_tab import DATA_TIMEOUT, kpi_value, settle

CLUSTERING = "Browser behaviour"
RUN_TIMEOUT = 120_000  # the job runs in a process of its own on a busy 2-core machine


def saved_sizes(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        frame = pd.read_sql("SELECT s.name, count(m.customer_id) AS members FROM saved_segments s "
                            "JOIN saved_segment_members m ON m.segment_id = s.id GROUP BY s.name", engine)
    finally:
        engine.dispose()
    return dict(zip(frame["name"], frame["members"].astype(int)))


def pick(page, dropdown_id: str, label_start: str) -> str:
    """Choose the first option starting with `label_start`; returns its label."""
    page.locator(f"#{dropdown_id}").click()
    option = dropdown_options(page, dropdown_id).filter(has_text=re.compile(f"^{re.escape(label_start)}")).first
    label = option.text_content()
    option.click()
    page.keyboard.press("Escape")
    return label


def test_rfm_segments_are_drawn(demo_page):
    page = demo_page
    login(page, path="/?tab=segmentation")
    expect(page.locator(f"#{rfm_ids.PERIOD}")).to_contain_text("customers scored", timeout=DATA_TIMEOUT)
    expect(page.locator(f"#{rfm_ids.TREEMAP} .treemap")).to_have_count(1, timeout=DATA_TIMEOUT)
    expect(page.locator(f"#{rfm_ids.GRID} .ag-row").first).to_be_visible()
    expect(page.locator(f"#{rfm_ids.SANKEY} .sankey")).to_have_count(1, timeout=DATA_TIMEOUT)
    settle(page)
    assert page.console.errors == []


def test_cluster_save_filter_and_compare(demo_page, demo_database):
    page = demo_page
    login(page, path="/?tab=segmentation")
    page.get_by_role("tab", name="Clustering lab").click()
    expect(page.locator(f"#{lab_ids.FEATURES}")).to_contain_text("7 selected", timeout=DATA_TIMEOUT)

    page.click(f"#{lab_ids.RUN}")
    profiles = page.locator(f"#{lab_ids.PROFILES} .ag-center-cols-container .ag-row")
    expect(profiles).to_have_count(5, timeout=RUN_TIMEOUT)
    expect(page.locator(f"#{lab_ids.PROJECTION} .legend .traces")).to_have_count(5)  # one WebGL trace per cluster
    expect(page.locator(f"#{lab_ids.METRICS}")).to_contain_text("silhouette")
    expect(page.locator(f"#{lab_ids.STATUS}")).to_have_text("")  # the job's progress is cleared when it ends

    page.fill(f"#{lab_ids.SAVE_NAME}", CLUSTERING)
    page.click(f"#{lab_ids.SAVE}")
    expect(page.locator(f"#{lab_ids.SAVE_FEEDBACK}")).to_contain_text("Saved the clustering and 5 segments")
    sizes = {name: n for name, n in saved_sizes(demo_database).items() if name.startswith(CLUSTERING)}
    assert len(sizes) == 5

    chosen = pick(page, fb.SEGMENT, f"{CLUSTERING} · ")
    page.get_by_role("tab", name="Customer performance").click()
    expect(kpi_value(page, "kpi-total-customers")).to_have_text(compact(sizes[chosen]), timeout=DATA_TIMEOUT)
    assert "segment=" in page.url

    page.get_by_role("tab", name="Segmentation").click()
    page.get_by_role("tab", name="Saved segments").click()
    first, second = sorted(sizes)[:2]
    pick(page, segment_ids.SEGMENT_A, first)
    pick(page, segment_ids.SEGMENT_B, second)
    rows = page.locator(f"#{segment_ids.COMPARE_GRID} .ag-center-cols-container .ag-row")
    expect(rows.first).to_be_visible(timeout=DATA_TIMEOUT)
    customers = page.locator(f"#{segment_ids.COMPARE_GRID} .ag-center-cols-container .ag-row[row-id='Customers']")
    expect(customers).to_contain_text(f"{sizes[first]:,}")
    expect(page.locator(f"#{segment_ids.DISTRIBUTIONS} .barlayer")).not_to_have_count(0)
    settle(page)
    assert page.console.errors == []


def test_a_viewer_who_clicks_the_disabled_run_button_by_script_is_refused_by_the_job(demo_page):
    page = demo_page
    login(page, DEMO_VIEWER, path="/?tab=segmentation")
    page.get_by_role("tab", name="Clustering lab").click()
    expect(page.locator(f"#{lab_ids.RUN}")).to_be_disabled(timeout=DATA_TIMEOUT)
    page.evaluate(f"dash_clientside.set_props('{lab_ids.RUN}', {{n_clicks: 1}})")
    expect(page.locator(f"#{lab_ids.METRICS}")).to_contain_text("Analysts and administrators run clusterings",
                                                                 timeout=RUN_TIMEOUT)
    expect(page.locator(f"#{lab_ids.PROFILES} .ag-center-cols-container .ag-row")).to_have_count(0)
