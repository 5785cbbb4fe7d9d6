"""Comparing two saved segments: every row's test and p-value agree with scipy/statsmodels run here
on metrics recomputed with pandas from the raw SQL tables.

Demo data in a fresh database per backend; three saved segments: two planted behavioural
groups with a known overlap, and a tiny one. The reference reads `customers`, `transactions`,
`coupon_events`, `survey_responses` and `saved_segment_members` and derives each member's
orders, revenue, average order value, recency, churn, coupon claims and burns, NPS answers,
gender, age bracket (from the birth date on the reference day) and country itself.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sqlalchemy import Engine
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from services.analytics.snapshot import build_snapshot, open_snapshot
from services.analytics.warehouse import Warehouse
from services.db import make_engine
from services.demo import MAINSTREAM, DemoConfig, generate_demo_data, planted_groups
from services.refresh import refresh
from services.segmentation import comparison
from services.segmentation.comparison import SegmentComparison, compare_segments
from services.segmentation.saved import save_segment
from tests.conftest import fresh_database

CUSTOMERS = 2_000
SEED = 31
RTOL = 1e-9
# Mann-Whitney p-values: revenues summed in another order can differ in the last bits, so a tie between two
# customers with equal revenue (in cents) may be lost on one side; that moves p in the sixth digit at most here.
RANK_RTOL = 1e-4
CHURN_DAYS = 180  # the README's default churn window
LABELS = ("First", "Second")
SCOPES = {"all": None, "two countries": ("United States", "Australia"), "nowhere": ("Atlantis",)}
# The README's age brackets, written out here
BRACKETS = ((0, 20, "Under 21"), (21, 30, "21-30"), (31, 40, "31-40"), (41, 50, "41-50"), (51, 60, "51-60"),
            (61, 70, "61-70"), (71, 200, "Over 70"))


# ------------------------------------------------------------------ data
@dataclass(eq=False)
class Data:
    engine: Engine
    snapshot: object
    people: pd.DataFrame  # one row per customer: the metrics the comparison tests, computed here
    answers: pd.DataFrame  # customer_id, nps (-100 / 0 / 100), one row per survey answer
    members: dict[str, int]  # segment name -> saved segment id
    membership: pd.DataFrame  # saved_segment_members as read back from SQL

    def warehouse(self) -> Warehouse:
        return Warehouse(self.snapshot.cursor(), self.engine)

    def ids(self, segment: str, scope) -> list[int]:
        ids = self.membership.loc[self.membership["segment_id"] == self.members[segment], "customer_id"]
        people = self.people.loc[sorted(ids)]
        if scope is not None:
            people = people[people["country"].isin(scope)]
        return people.index.tolist()


def _age(birth: pd.Timestamp, reference: pd.Timestamp) -> float:
    if pd.isna(birth):
        return np.nan
    return reference.year - birth.year - ((reference.month, reference.day) < (birth.month, birth.day))


def _bracket(age: float) -> str:
    if pd.isna(age):
        return "Unknown"
    return next((label for low, high, label in BRACKETS if low <= age <= high), "Unknown")


def _people(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    customers = pd.read_sql("SELECT id, gender, birth_date, age, country FROM customers", engine).set_index("id")
    orders = pd.read_sql("SELECT customer_id, ordered_at, amount FROM transactions", engine)
    orders["day"] = pd.to_datetime(orders["ordered_at"]).dt.normalize()
    events = pd.read_sql("SELECT customer_id, event FROM coupon_events", engine)
    surveys = pd.read_sql("SELECT customer_id, nps_score FROM survey_responses", engine)
    reference = orders["day"].max()

    by_customer = orders.groupby("customer_id")
    people = pd.DataFrame(index=customers.index.sort_values())
    people["orders"] = by_customer.size().reindex(people.index, fill_value=0)
    people["revenue"] = by_customer["amount"].sum().reindex(people.index, fill_value=0.0)
    people["avg_order_value"] = people["revenue"] / people["orders"].where(people["orders"] > 0)
    people["recency_days"] = (reference - by_customer["day"].max()).dt.days.reindex(people.index)
    counts = events.groupby(["customer_id", "event"]).size().unstack(fill_value=0)
    for event, column in (("claimed", "claimed"), ("burned", "burned")):
        people[column] = (counts[event] if event in counts else pd.Series(dtype=int)).reindex(
            people.index, fill_value=0)
    people["gender"] = customers["gender"].fillna("Unknown")
    people["country"] = customers["country"].fillna("Unknown")
    births = pd.to_datetime(customers["birth_date"])
    ages = pd.Series([_age(b, reference) for b in births], index=customers.index).fillna(customers["age"])
    people["age_bracket"] = [_bracket(age) for age in ages.reindex(people.index)]
    answers = pd.DataFrame({"customer_id": surveys["customer_id"],
                            "nps": np.select([surveys["nps_score"] >= 9, surveys["nps_score"] <= 6],
                                             [100.0, -100.0], 0.0)})
    return people, answers


def _choose_segments(engine: Engine) -> dict[str, list[int]]:
    """Two planted groups, each with some mainstream customers, sharing 35 members; and six buyers."""
    external = pd.read_sql("SELECT id, external_id FROM customers", engine).set_index("external_id")["id"]
    groups = {name: sorted(external.loc[ids]) for name, ids in planted_groups(engine).items()}
    first, second = sorted(name for name in groups if name != MAINSTREAM)[:2]
    rng = np.random.default_rng(SEED)
    mainstream = rng.permutation(groups[MAINSTREAM])
    shared_mainstream, own_mainstream = mainstream[:25].tolist(), mainstream[25:65].tolist()
    group_a, group_b = groups[first], groups[second]
    buyers = sorted(pd.read_sql("SELECT DISTINCT customer_id FROM transactions", engine)["customer_id"])
    return {
        "A": group_a + shared_mainstream + own_mainstream,
        "B": group_b + shared_mainstream + group_a[:10],
        "tiny": rng.choice(buyers, size=6, replace=False).tolist(),
    }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def data(request, tmp_path_factory) -> Iterator[Data]:
    for url in fresh_database(request.param, tmp_path_factory, "compare"):
        engine = make_engine(url)
        generate_demo_data(engine, DemoConfig(customers=CUSTOMERS, seed=SEED))
        refresh(engine)
        path = tmp_path_factory.mktemp("compare-snapshot") / "analytics.duckdb"
        build_snapshot(engine, path)
        with engine.begin() as connection:
            members = {name: save_segment(connection, f"Segment {name}", "filters", ids)
                       for name, ids in _choose_segments(engine).items()}
        people, answers = _people(engine)
        membership = pd.read_sql("SELECT segment_id, customer_id FROM saved_segment_members", engine)
        snapshot = open_snapshot(path)
        try:
            yield Data(engine, snapshot, people, answers, members, membership)
        finally:
            snapshot.close()
            engine.dispose()


# ------------------------------------------------------------------ the reference
def _mix_table(a: pd.Series, b: pd.Series) -> pd.DataFrame:
    table = pd.concat([a.value_counts(), b.value_counts()], axis=1, keys=["A", "B"]).fillna(0).T
    return table.loc[:, table.sum() > 0]


def expected_rows(data: Data, a_ids: list[int], b_ids: list[int]) -> dict[str, dict]:
    """metric -> {value_a, value_b, p_value} from pandas, scipy and statsmodels."""
    a, b = data.people.loc[a_ids], data.people.loc[b_ids]
    buyers_a, buyers_b = a[a["orders"] > 0], b[b["orders"] > 0]
    rows: dict[str, dict] = {
        "Customers": {"value_a": len(a), "value_b": len(b), "p_value": None},
        "Revenue (total)": {"value_a": a["revenue"].sum(), "value_b": b["revenue"].sum(), "p_value": None},
    }
    for metric, x, y in (("Revenue per customer", a["revenue"], b["revenue"]),
                         ("Orders per customer", a["orders"], b["orders"]),
                         ("Average order value", buyers_a["avg_order_value"], buyers_b["avg_order_value"]),
                         ("Recency (days)", buyers_a["recency_days"], buyers_b["recency_days"])):
        p = stats.mannwhitneyu(x.astype(float), y.astype(float), alternative="two-sided").pvalue \
            if len(x) and len(y) else None
        rows[metric] = {"value_a": x.mean() if len(x) else None, "value_b": y.mean() if len(y) else None,
                        "p_value": p, "n": (len(x), len(y))}

    def rate(metric, successes, totals):
        values = [s / n if n else None for s, n in zip(successes, totals)]
        p = None
        if all(totals) and 0 < sum(successes) < sum(totals):
            p = proportions_ztest(np.array(successes), np.array(totals))[1]
        rows[metric] = {"value_a": values[0], "value_b": values[1], "p_value": p,
                        "successes": successes, "totals": totals}

    rate(f"Churn rate (no order in {CHURN_DAYS} days)",
         [int((frame["recency_days"] > CHURN_DAYS).sum()) for frame in (buyers_a, buyers_b)],
         [len(buyers_a), len(buyers_b)])
    rate("Coupon burn rate", [int(a["burned"].sum()), int(b["burned"].sum())],
         [int(a["claimed"].sum()), int(b["claimed"].sum())])

    nps_a = data.answers.loc[data.answers["customer_id"].isin(a_ids), "nps"].to_numpy()
    nps_b = data.answers.loc[data.answers["customer_id"].isin(b_ids), "nps"].to_numpy()
    rows["NPS"] = {"value_a": nps_a.mean() if nps_a.size else None, "value_b": nps_b.mean() if nps_b.size else None,
                   "p_value": stats.ttest_ind(nps_a, nps_b, equal_var=False).pvalue
                   if nps_a.size >= 2 and nps_b.size >= 2 else None, "n": (nps_a.size, nps_b.size)}

    for name, column in (("Gender mix", "gender"), ("Age mix", "age_bracket"), ("Country mix", "country")):
        table = _mix_table(a[column], b[column])
        if table.shape[1] == 0:
            rows[name] = {"value_a": None, "value_b": None, "p_value": None}
            continue
        top = table.sum().idxmax()
        totals = table.sum(axis=1)
        p = stats.chi2_contingency(table.to_numpy(), correction=False)[1] \
            if totals.min() > 0 and table.shape[1] > 1 else None
        rows[f"{name} ({top} share)"] = {"value_a": table.loc["A", top] / totals["A"] if totals["A"] else None,
                                         "value_b": table.loc["B", top] / totals["B"] if totals["B"] else None,
                                         "p_value": p, "table": table}
    return rows


def _close(actual, expected, rtol: float = RTOL) -> bool:
    if expected is None or (isinstance(expected, float) and np.isnan(expected)):
        return actual is None
    return actual is not None and np.isclose(actual, expected, rtol=rtol, atol=1e-300)


def _close_p(row, expected) -> bool:
    return _close(row.p_value, expected, RANK_RTOL if row.kind == "skewed" else RTOL)


def _compare(data: Data, first: str, second: str, scope) -> tuple[SegmentComparison, dict[str, dict], list, list]:
    a_ids, b_ids = data.ids(first, scope), data.ids(second, scope)
    result = compare_segments(data.warehouse(), data.members[first], data.members[second], LABELS, scope)
    return result, expected_rows(data, a_ids, b_ids), a_ids, b_ids


# ------------------------------------------------------------------ the tests
def test_the_churn_window_is_the_documented_default():
    assert comparison.CHURN_DAYS == CHURN_DAYS


def test_the_reference_age_brackets_agree_with_the_summary(data):
    """The bracket computed here from birth dates is the refresh's (so the age mix is judged on the same ages)."""
    summary = pd.read_sql("SELECT customer_id, age_bracket FROM customer_summary", data.engine).set_index(
        "customer_id")["age_bracket"]
    assert summary.reindex(data.people.index).tolist() == data.people["age_bracket"].tolist()


@pytest.mark.parametrize("scope", list(SCOPES.values()), ids=list(SCOPES))
def test_every_row_matches_scipy_and_statsmodels(data, scope):
    result, expected, a_ids, b_ids = _compare(data, "A", "B", scope)
    assert result.labels == LABELS
    assert [row.metric for row in result.rows] == list(expected)
    for row in result.rows:
        want = expected[row.metric]
        assert _close(row.value_a, want["value_a"]) and _close(row.value_b, want["value_b"]), row
        assert _close_p(row, want["p_value"]), (row.metric, row.p_value, want["p_value"])
        if row.value_a is not None and row.value_b is not None:
            assert row.difference == pytest.approx(row.value_b - row.value_a)
    if scope != SCOPES["nowhere"]:
        assert sum(row.p_value is not None for row in result.rows) == 10  # every metric but the two counts
        assert len(a_ids) > 100 and len(b_ids) > 100
    else:
        assert all(row.p_value is None for row in result.rows) and not a_ids and not b_ids
        assert all("no customers" in (row.warning or "") for row in result.rows if row.kind != "rate"
                   or row.metric.startswith("Churn"))


@pytest.mark.parametrize("scope", list(SCOPES.values())[:2], ids=list(SCOPES)[:2])
def test_the_adjusted_p_values_are_benjamini_hochberg(data, scope):
    result, *_ = _compare(data, "A", "B", scope)
    tested = [row for row in result.rows if row.p_value is not None]
    assert len(tested) >= 8
    adjusted = multipletests([row.p_value for row in tested], method="fdr_bh")[1]
    np.testing.assert_allclose([row.p_adjusted for row in tested], adjusted, rtol=RTOL)
    assert all(row.p_adjusted is None for row in result.rows if row.p_value is None)
    frame = result.frame()
    assert frame["metric"].tolist() == [row.metric for row in result.rows]
    np.testing.assert_allclose(frame.loc[frame["p_value"].notna(), "p_adjusted"].astype(float), adjusted, rtol=RTOL)


def test_the_planted_groups_really_differ(data):
    """Not a property of the code under test but of the case: some adjusted p-values are tiny, so the
    equality checks above compared real test results, not a table of ones."""
    result, *_ = _compare(data, "A", "B", None)
    assert sum(row.p_adjusted < 1e-6 for row in result.rows if row.p_adjusted is not None) >= 3


@pytest.mark.parametrize("scope", list(SCOPES.values()), ids=list(SCOPES))
def test_the_overlap_counts_members_of_both_within_the_scope(data, scope):
    result, _, a_ids, b_ids = _compare(data, "A", "B", scope)
    assert result.overlap == len(set(a_ids) & set(b_ids))
    if scope is None:
        assert result.overlap == 35  # 25 shared mainstream customers and 10 of the first group
    itself, *_ = _compare(data, "A", "A", scope)
    assert itself.overlap == len(a_ids)


def test_distributions_and_mixes_are_the_members_values(data):
    result, _, a_ids, b_ids = _compare(data, "A", "B", None)
    a, b = data.people.loc[a_ids], data.people.loc[b_ids]
    revenue = result.distributions["Revenue per customer"]
    np.testing.assert_allclose(revenue[LABELS[0]], a["revenue"], rtol=RTOL)
    np.testing.assert_allclose(revenue[LABELS[1]], b["revenue"], rtol=RTOL)
    basket = result.distributions["Average order value"]
    np.testing.assert_allclose(basket[LABELS[1]], b.loc[b["orders"] > 0, "avg_order_value"], rtol=RTOL)
    for name, column in (("Gender mix", "gender"), ("Country mix", "country"), ("Age mix", "age_bracket")):
        shares = result.mixes[name]
        for label, frame in zip(LABELS, (a, b)):
            expected = frame[column].value_counts(normalize=True).reindex(shares.index, fill_value=0.0)
            np.testing.assert_allclose(shares[label], expected, rtol=RTOL)
        assert len(shares) == min(8, len(set(a[column]) | set(b[column])))


def test_a_tiny_segment_gets_small_group_warnings_and_still_its_tests(data):
    result, expected, tiny_ids, big_ids = _compare(data, "tiny", "A", None)
    assert len(tiny_ids) == 6 and len(big_ids) > 200
    rows = {row.metric: row for row in result.rows}
    for metric in ("Revenue per customer", "Orders per customer", "Average order value", "Recency (days)"):
        assert f"Segment A has {expected[metric]['n'][0]} customers: too few" in rows[metric].warning
        assert "Segment B" not in rows[metric].warning
        assert _close_p(rows[metric], expected[metric]["p_value"])
    nps_answers = expected["NPS"]["n"][0]
    assert ("Segment A has no customers with a value" if nps_answers == 0
            else f"Segment A has {nps_answers} customers: too few") in rows["NPS"].warning
    for metric in (m for m in expected if m.startswith(("Churn rate", "Coupon burn rate"))):
        successes, totals = expected[metric]["successes"][0], expected[metric]["totals"][0]
        if totals:
            assert f"Segment A has {successes} successes and {totals - successes} failures" in rows[metric].warning
        assert _close_p(rows[metric], expected[metric]["p_value"])
    mixes = [metric for metric in expected if "mix" in metric]
    assert any("expected counts are below" in (rows[metric].warning or "") for metric in mixes)
    for metric in mixes:
        assert _close_p(rows[metric], expected[metric]["p_value"])
    for metric in ("Customers", "Revenue (total)"):
        assert rows[metric].warning is None


def test_the_segments_are_read_from_the_database_as_saved(data):
    """The reference's member lists are what save_segment wrote (the overlap above relies on it)."""
    chosen = _choose_segments(data.engine)
    for name, segment_id in data.members.items():
        stored = data.membership.loc[data.membership["segment_id"] == segment_id, "customer_id"]
        assert sorted(stored) == sorted(set(chosen[name]))
