"""Two saved segments side by side: every metric with its test, effect size and adjusted p-value.

Members are read within the user's scope. Metrics describe each customer's whole history up
to the reference date (the latest order), as the customer summary does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.analytics.warehouse import Warehouse
from services.filters import Filters
from services.performance.kpis import DEFAULT_CHURN_DAYS
from services.segmentation import statistics as st

CHURN_DAYS = DEFAULT_CHURN_DAYS
MONEY_METRICS = ("Revenue per customer", "Average order value")
MIXES = (("Gender mix", "gender"), ("Age mix", "age_bracket"), ("Country mix", "country"))


@dataclass(frozen=True)
class SegmentComparison:
    labels: tuple[str, str]  # the two segments' names
    rows: list[st.MetricComparison]
    overlap: int  # customers in both segments
    distributions: dict[str, dict[str, np.ndarray]]  # money metric -> segment name -> values
    mixes: dict[str, pd.DataFrame]  # mix -> shares per category (index) and segment (columns)

    def frame(self) -> pd.DataFrame:
        return st.comparison_frame(self.rows)


def members(warehouse: Warehouse, segment_id: int, scope: tuple[str, ...] | None) -> pd.DataFrame:
    """One row per member the user may see, with the values the comparison tests."""
    selection = warehouse.selection(Filters(segment_id=segment_id, scope=scope))
    return warehouse.frame(
        f"SELECT c.customer_id, c.external_id, c.name, c.orders, c.revenue, c.revenue / nullif(c.orders, 0) AS avg_order_value, "
        f"c.recency_days, c.coupons_claimed, c.coupons_burned, c.gender, cells.age_bracket, "
        f"coalesce(c.country, 'Unknown') AS country, answers.nps "
        f"FROM (SELECT * FROM customers WHERE {selection.where()}) c JOIN cells USING (cell) "
        f"LEFT JOIN (SELECT customer_id, list(CASE WHEN nps_score >= 9 THEN 100 WHEN nps_score <= 6 THEN -100 "
        f"ELSE 0 END) AS nps FROM surveys GROUP BY customer_id) answers USING (customer_id) ORDER BY c.customer_id")



def member_export(warehouse: Warehouse, segment_id: int, scope: tuple[str, ...] | None) -> pd.DataFrame:
    """The members the user may see, one row each, for a CSV export."""
    return members(warehouse, segment_id, scope).drop(columns=["nps"])


def compare_segments(warehouse: Warehouse, segment_a: int, segment_b: int, labels: tuple[str, str],
                     scope: tuple[str, ...] | None) -> SegmentComparison:
    a, b = members(warehouse, segment_a, scope), members(warehouse, segment_b, scope)
    buyers_a, buyers_b = a[a["orders"] > 0], b[b["orders"] > 0]
    rows = [
        st.compare_counts("Customers", len(a), len(b)),
        st.compare_counts("Revenue (total)", a["revenue"].sum(), b["revenue"].sum()),
        st.compare_skewed("Revenue per customer", a["revenue"], b["revenue"]),
        st.compare_skewed("Orders per customer", a["orders"], b["orders"]),
        st.compare_skewed("Average order value", buyers_a["avg_order_value"], buyers_b["avg_order_value"]),
        st.compare_skewed("Recency (days)", buyers_a["recency_days"], buyers_b["recency_days"]),
        _churn(buyers_a, buyers_b),
        st.compare_rates("Coupon burn rate", int(a["coupons_burned"].sum()), int(a["coupons_claimed"].sum()),
                         int(b["coupons_burned"].sum()), int(b["coupons_claimed"].sum())),
        st.compare_means("NPS", _nps_scores(a), _nps_scores(b)),
        *(st.compare_mix(name, a[column].value_counts(), b[column].value_counts()) for name, column in MIXES),
    ]
    return SegmentComparison(
        labels, st.adjust_p_values(rows), len(set(a["customer_id"]) & set(b["customer_id"])),
        {"Revenue per customer": {labels[0]: a["revenue"].to_numpy(), labels[1]: b["revenue"].to_numpy()},
         "Average order value": {labels[0]: buyers_a["avg_order_value"].to_numpy(),
                                 labels[1]: buyers_b["avg_order_value"].to_numpy()}},
        {name: _shares(a[column], b[column], labels) for name, column in MIXES},
    )


def _churn(buyers_a: pd.DataFrame, buyers_b: pd.DataFrame) -> st.MetricComparison:
    churned = [int((frame["recency_days"] > CHURN_DAYS).sum()) for frame in (buyers_a, buyers_b)]
    return st.compare_rates(f"Churn rate (no order in {CHURN_DAYS} days)", churned[0], len(buyers_a),
                            churned[1], len(buyers_b))


def _nps_scores(frame: pd.DataFrame) -> np.ndarray:
    """Every survey answer of the members as -100 (detractor), 0 (passive) or 100 (promoter)."""
    answers = [score for scores in frame["nps"] if isinstance(scores, list | np.ndarray) for score in scores]
    return np.asarray(answers, dtype=float)


def _shares(a: pd.Series, b: pd.Series, labels: tuple[str, str]) -> pd.DataFrame:
    shares = pd.concat([a.value_counts(normalize=True), b.value_counts(normalize=True)], axis=1, keys=labels)
    shares = shares.fillna(0.0)
    return shares.loc[shares.sum(axis=1).sort_values(ascending=False).index[:8]]
