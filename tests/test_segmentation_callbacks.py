"""The Segmentation tab's callbacks over HTTP: roles on the server, saving, scopes, comparison, assignment."""
from __future__ import annotations

import base64
import csv
import io

import pandas as pd
import pytest
from sqlalchemy import func, select

from services import users
from services.analytics.snapshot import ensure_snapshot, open_snapshot
from services.analytics.warehouse import Warehouse
from services.db import make_engine, session_scope, upgrade_schema
from services.demo import DemoConfig, generate_demo_data
from services.filters import Filters, filter_options
from services.models import AuditLog, SavedClustering, SavedSegment, SavedSegmentMember, User
from services.refresh import current_version, refresh
from services.segmentation import lab
from services.segmentation.clustering import ClusteringSpec
from services.segmentation.defaults import DEFAULT_FEATURES, DEFAULT_SCALING
from tests.conftest import ADMIN_PASSWORD
from tests.dash_client import call

FILTERS = "filters-store.data"
REFRESH = "segmentation-segments-refresh.data"


@pytest.fixture(scope="module")
def app_database(tmp_path_factory) -> str:
    """Demo data with an admin, a viewer and an analyst who may see Australia only (for conftest's `app`)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('segmentation-app') / 'app.db'}"
    upgrade_schema(url)
    engine = make_engine(url)
    generate_demo_data(engine, DemoConfig(customers=800, seed=11))
    refresh(engine)
    with session_scope(engine) as session:
        users.create_user(session, "admin", ADMIN_PASSWORD, "admin")
        users.create_user(session, "viewer", ADMIN_PASSWORD, "viewer")
        users.create_user(session, "aussie", ADMIN_PASSWORD, "analyst", ["Australia"])
    engine.dispose()
    return url


def _count(app_database, model, **where) -> int:
    with make_engine(app_database).connect() as connection:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return connection.scalar(query)


def _segment(app_database, name: str) -> tuple[SavedSegment, set[int]]:
    with make_engine(app_database).connect() as connection:
        segment = connection.execute(select(SavedSegment).where(SavedSegment.name == name)).one()
        members = set(connection.scalars(select(SavedSegmentMember.customer_id)
                                         .where(SavedSegmentMember.segment_id == segment.id)))
    return segment, members


def _buyers(app_database, countries: set[str] | None = None) -> set[int]:
    """Customers with at least one order, from the raw tables (independent of the services)."""
    frame = pd.read_sql("SELECT c.id, c.country, count(t.id) AS orders FROM customers c "
                        "LEFT JOIN transactions t ON t.customer_id = c.id GROUP BY c.id, c.country",
                        make_engine(app_database))
    frame = frame[frame["orders"] > 0]
    if countries is not None:
        frame = frame[frame["country"].isin(countries)]
    return set(frame["id"].astype(int))


def _save_filters(client, name: str, search: str = ""):
    return call(client, "segmentation-segments-feedback.children", {"segmentation-segments-save-filters.n_clicks": 1},
                {"segmentation-segments-filter-name.value": name, FILTERS: search, REFRESH: 0})


def _text(response) -> str:
    return str(response.get_json()["response"])


# --- roles are checked on the server -------------------------------------------------------------------

VIEWER_POSTS = [
    ("segmentation-rfm-save-feedback.children", {"segmentation-rfm-save.n_clicks": 1},
     {"segmentation-rfm-save-segment.value": "Champions", "segmentation-rfm-save-name.value": "V1", FILTERS: ""}),
    ("segmentation-segments-feedback.children", {"segmentation-segments-save-filters.n_clicks": 1},
     {"segmentation-segments-filter-name.value": "V2", FILTERS: ""}),
    ("segmentation-segments-feedback.children", {"segmentation-segments-delete.n_clicks": 1},
     {"segmentation-segments-grid.selectedRows": [{"id": 1}]}),
    ("segmentation-lab-save-feedback.children", {"segmentation-lab-save.n_clicks": 1},
     {"segmentation-lab-save-name.value": "V3", "segmentation-lab-result.data": {"run": "0" * 32}}),
    ("segmentation-compare-grid.rowData", {"segmentation-compare-a.value": 1}, {}),
    ("segmentation-assign-grid.rowData", {"segmentation-assign-upload.contents": "data:text/csv;base64,"}, {}),
]


@pytest.mark.parametrize("output, inputs, state", VIEWER_POSTS, ids=[p[0].split(".")[0] for p in VIEWER_POSTS])
def test_a_viewer_posting_an_analyst_callback_by_hand_gets_403(client, auth, app_database, output, inputs, state):
    auth.login("admin")
    _save_filters(client, "Kept for the viewer test")
    auth.logout()
    before = _count(app_database, SavedSegment)
    auth.login("viewer")
    response = call(client, output, inputs, state)
    assert response.status_code == 403
    assert _count(app_database, SavedSegment) == before


def test_a_viewer_sees_the_tab_with_the_editing_controls_disabled(client, auth):
    auth.login("viewer")
    response = call(client, "shell-tab-content.children", {"shell-tabs.active_tab": "segmentation"})
    page = _text(response)
    assert "Analysts and administrators save segments" in page
    assert "Analysts and administrators run clusterings" in page


# --- saving --------------------------------------------------------------------------------------------


def test_saving_the_filter_selection_keeps_exactly_its_buyers(client, auth, app_database):
    auth.login("admin")
    response = _save_filters(client, "Canadian buyers", "?country=Canada")
    assert "Saved" in _text(response)
    assert response.get_json()["response"]["segmentation-segments-refresh"]["data"] == 1
    segment, members = _segment(app_database, "Canadian buyers")
    assert members == _buyers(app_database, {"Canada"}) and segment.customers == len(members) > 0
    assert segment.kind == "filters" and segment.definition["filters"] == "?country=Canada"
    with make_engine(app_database).connect() as connection:
        audit = connection.execute(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert audit.action == "save segment" and audit.detail["segment_id"] == segment.id


def test_a_scoped_analyst_saves_only_customers_of_their_scope(client, auth, app_database):
    auth.login("aussie")
    _save_filters(client, "Everyone I may see", "?country=Canada,Australia")
    _segment_row, members = _segment(app_database, "Everyone I may see")
    assert members == _buyers(app_database, {"Australia"})


def test_a_taken_name_is_refused_and_nothing_is_written_twice(client, auth, app_database):
    auth.login("admin")
    _save_filters(client, "Twice")
    before = _count(app_database, SavedSegmentMember)
    response = _save_filters(client, "  twice ")
    assert "is taken" in _text(response) and _count(app_database, SavedSegmentMember) == before
    assert "segmentation-segments-refresh" not in response.get_json()["response"]  # the list is not reloaded


def test_saving_an_rfm_segment_and_filtering_by_it(client, auth, app_database):
    auth.login("admin")
    response = call(client, "segmentation-rfm-save-feedback.children", {"segmentation-rfm-save.n_clicks": 1},
                    {"segmentation-rfm-save-segment.value": "Champions", "segmentation-rfm-save-name.value": "",
                     FILTERS: "", REFRESH: 3})
    assert "Saved" in _text(response)
    segment, members = _segment(app_database, "Champions")
    assert segment.kind == "rfm" and members
    with make_engine(app_database).connect() as connection:
        scored = set(connection.scalars(select(func.distinct(SavedSegmentMember.customer_id))))
    assert members <= scored
    listed = call(client, "segmentation-segments-grid.rowData", {REFRESH: 4}).get_json()["response"]
    assert {"label": "Champions", "value": segment.id} in listed["filters-segment"]["options"]
    kpis = call(client, "kpi-total-customers.children",
                {FILTERS: f"?segment={segment.id}", "performance-churn-days.value": 180}).get_json()["response"]
    assert f"{len(members):,}" in str(kpis["kpi-total-customers"]) or str(len(members)) in \
        str(kpis["kpi-total-customers"])


def test_an_rfm_segment_name_must_be_one_of_the_segments(client, auth, app_database):
    auth.login("admin")
    response = call(client, "segmentation-rfm-save-feedback.children", {"segmentation-rfm-save.n_clicks": 1},
                    {"segmentation-rfm-save-segment.value": "Robert'); DROP TABLE", FILTERS: "", REFRESH: 0})
    assert "Choose one of the RFM segments" in _text(response)


def test_deleting_a_segment_removes_it_and_its_members(client, auth, app_database):
    auth.login("admin")
    _save_filters(client, "To delete", "?country=Canada")
    segment, _members = _segment(app_database, "To delete")
    response = call(client, "segmentation-segments-feedback.children", {"segmentation-segments-delete.n_clicks": 1},
                    {"segmentation-segments-grid.selectedRows": [{"id": segment.id}], REFRESH: 0})
    assert "Deleted" in _text(response)
    assert _count(app_database, SavedSegment, id=segment.id) == 0
    assert _count(app_database, SavedSegmentMember, segment_id=segment.id) == 0


# --- clustering runs -----------------------------------------------------------------------------------


def _kept_run(app_database, tmp_path, username: str) -> tuple[str, lab.LabRun]:
    """A clustering run kept for this user, as the background job keeps it."""
    engine = make_engine(app_database)
    with engine.connect() as connection:
        owner = connection.scalar(select(User.id).where(User.username == username))
        options = filter_options(connection, None)
        version = current_version(connection)
    snapshot = open_snapshot(ensure_snapshot(engine, tmp_path / "analytics"), "128MB", 1)
    spec = ClusteringSpec(features=DEFAULT_FEATURES, scaling=DEFAULT_SCALING, k=5, random_state=42)
    run = lab.run_clustering(Warehouse(snapshot.cursor(), engine), Filters(), options, spec, lambda *_: None)
    snapshot.close()
    return lab.keep_run(tmp_path / "runs", run, owner, version, {"filters": ""}), run


def test_saving_a_run_keeps_the_model_and_one_segment_per_cluster(client, auth, app_database, tmp_path):
    run_id, run = _kept_run(app_database, tmp_path, "admin")
    auth.login("admin")
    response = call(client, "segmentation-lab-save-feedback.children", {"segmentation-lab-save.n_clicks": 1},
                    {"segmentation-lab-save-name.value": "Behaviour", "segmentation-lab-result.data": {"run": run_id},
                     REFRESH: 0})
    assert "Saved the clustering and 5 segments" in _text(response)
    labels = pd.Series(run.result.labels, index=run.result.customer_ids)
    for cluster in run.clusters():
        _segment_row, members = _segment(app_database, f"Behaviour · {cluster['name']}")
        assert members == set(labels.index[labels == cluster["cluster"]])
    assert _count(app_database, SavedClustering, name="Behaviour") == 1


@pytest.mark.parametrize("result", [{"run": "../../etc/passwd"}, {"run": "f" * 32}, None, {"run": 7}])
def test_a_forged_or_unknown_run_is_refused(client, auth, app_database, result):
    auth.login("admin")
    before = _count(app_database, SavedClustering)
    response = call(client, "segmentation-lab-save-feedback.children", {"segmentation-lab-save.n_clicks": 1},
                    {"segmentation-lab-save-name.value": "Forged", "segmentation-lab-result.data": result})
    assert "Run a clustering first" in _text(response) and _count(app_database, SavedClustering) == before


def test_another_users_run_cannot_be_saved(client, auth, app_database, tmp_path):
    run_id, _run = _kept_run(app_database, tmp_path, "admin")
    auth.login("aussie")
    response = call(client, "segmentation-lab-save-feedback.children", {"segmentation-lab-save.n_clicks": 1},
                    {"segmentation-lab-save-name.value": "Not mine", "segmentation-lab-result.data": {"run": run_id}})
    assert "Run a clustering first" in _text(response)
    assert _count(app_database, SavedClustering, name="Not mine") == 0


# --- comparison and assignment -------------------------------------------------------------------------


def test_comparing_two_segments_fills_the_table_and_exports_it(client, auth, app_database):
    auth.login("admin")
    _save_filters(client, "Compare A", "?country=Canada")
    _save_filters(client, "Compare B", "?country=Germany")
    a, b = _segment(app_database, "Compare A")[0].id, _segment(app_database, "Compare B")[0].id
    response = call(client, "segmentation-compare-grid.rowData",
                    {"segmentation-compare-a.value": a, "segmentation-compare-b.value": b}).get_json()["response"]
    rows = {row["metric"]: row for row in response["segmentation-compare-grid"]["rowData"]}
    assert rows["Customers"]["shown_a"] == f"{len(_buyers(app_database, {'Canada'})):,}"
    assert rows["Revenue per customer"]["test"] == "Mann-Whitney U" and rows["Revenue per customer"]["p_value"] is not None
    assert rows["Country mix (Canada share)"]["shown_a"] == "100.0%"
    download = call(client, "segmentation-compare-download.data", {"segmentation-compare-export.n_clicks": 1},
                    {"segmentation-compare-a.value": a, "segmentation-compare-b.value": b}).get_json()["response"]
    exported = list(csv.DictReader(io.StringIO(download["segmentation-compare-download"]["data"]["content"])))
    assert {row["metric"] for row in exported} == set(rows)


def test_an_unknown_segment_is_not_compared(client, auth):
    auth.login("admin")
    response = call(client, "segmentation-compare-grid.rowData",
                    {"segmentation-compare-a.value": 99999, "segmentation-compare-b.value": "1 OR 1=1"})
    assert response.status_code == 204


def _upload(client, clustering_id, text: str, filename="new.csv"):
    contents = "data:text/csv;base64," + base64.b64encode(text.encode()).decode()
    return call(client, "segmentation-assign-grid.rowData", {"segmentation-assign-upload.contents": contents},
                {"segmentation-assign-upload.filename": filename, "segmentation-assign-clustering.value": clustering_id})


def test_uploaded_customers_are_assigned_like_the_saved_model_assigns_them(client, auth, app_database, tmp_path):
    run_id, run = _kept_run(app_database, tmp_path, "admin")
    auth.login("admin")
    call(client, "segmentation-lab-save-feedback.children", {"segmentation-lab-save.n_clicks": 1},
         {"segmentation-lab-save-name.value": "For assignment", "segmentation-lab-result.data": {"run": run_id}})
    with make_engine(app_database).connect() as connection:
        clustering_id = connection.scalar(select(SavedClustering.id).where(SavedClustering.name == "For assignment"))
    centres = run.result.centres
    header = ",".join(["customer", *DEFAULT_FEATURES])
    lines = [",".join([f"new-{cluster}", *(f"{centres.at[cluster, name]:.6f}" for name in DEFAULT_FEATURES)])
             for cluster in centres.index]
    response = _upload(client, clustering_id, "\n".join([header, *lines])).get_json()["response"]
    rows = response["segmentation-assign-grid"]["rowData"]
    names = {cluster["cluster"]: cluster["name"] for cluster in run.clusters()}
    predicted = run.result.pipeline.predict(pd.DataFrame([[float(v) for v in line.split(",")[1:]] for line in lines],
                                                         columns=list(DEFAULT_FEATURES)))
    assert [row["customer"] for row in rows] == [f"new-{c}" for c in centres.index]
    assert [row["segment"] for row in rows] == [names[int(c)] for c in predicted]
    bad = _upload(client, clustering_id, "customer,age\nx,abc").get_json()["response"]
    assert "no column for" in str(bad["segmentation-assign-upload-feedback"])
    worse = _upload(client, clustering_id, header + "\n" + "x," + ",".join(["abc"] * len(DEFAULT_FEATURES)))
    assert "is not a number" in _text(worse)


def test_exporting_a_segment_gives_its_members_within_the_scope(client, auth, app_database):
    auth.login("admin")
    _save_filters(client, "Export me", "?country=Canada,Australia")
    segment, members = _segment(app_database, "Export me")
    auth.logout()
    auth.login("aussie")
    response = call(client, "segmentation-segments-download.data", {"segmentation-segments-export.n_clicks": 1},
                    {"segmentation-segments-grid.selectedRows": [{"id": segment.id}]}).get_json()["response"]
    rows = list(csv.DictReader(io.StringIO(response["segmentation-segments-download"]["data"]["content"])))
    assert {int(row["customer_id"]) for row in rows} == members & _buyers(app_database, {"Australia"})
    assert {row["country"] for row in rows} == {"Australia"}


def test_only_the_owner_or_an_admin_deletes_a_segment(client, auth, app_database):
    auth.login("admin")
    _save_filters(client, "Owned by admin")
    segment, _members = _segment(app_database, "Owned by admin")
    auth.logout()
    auth.login("aussie")
    delete = ("segmentation-segments-feedback.children", {"segmentation-segments-delete.n_clicks": 1},
              {"segmentation-segments-grid.selectedRows": [{"id": segment.id}], REFRESH: 0})
    assert "Only its owner or an administrator" in _text(call(client, *delete))
    assert _count(app_database, SavedSegment, id=segment.id) == 1
    _save_filters(client, "Owned by aussie")
    own, _members = _segment(app_database, "Owned by aussie")
    auth.logout()
    auth.login("admin")
    assert "Deleted" in _text(call(client, "segmentation-segments-feedback.children",
                                   {"segmentation-segments-delete.n_clicks": 1},
                                   {"segmentation-segments-grid.selectedRows": [{"id": own.id}], REFRESH: 0}))
    assert _count(app_database, SavedSegment, id=own.id) == 0
