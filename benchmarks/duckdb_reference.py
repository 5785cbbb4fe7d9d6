"""The second reference: the tab's aggregates written by hand in DuckDB SQL over the raw tables
(orders, customers with their summary attributes, survey answers), with COUNT(DISTINCT)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
from sqlalchemy import Engine

from services.analytics.snapshot import copy_tables
from services.filters import FilterOptions, Filters
from services.rules import UNKNOWN
from services.selection import Period, period_of

DIMENSIONS = ["family_status", "age_bracket", "profile", "gender", "country"]
TABLES = {
    "raw_orders": ("SELECT customer_id, ordered_at, amount FROM transactions",
                   "customer_id INTEGER, ordered_at TIMESTAMP, amount DOUBLE"),
    "raw_customers": ("SELECT customer_id, country, city, gender, age, age_bracket, family_status, profile, "
                      "first_order_at FROM customer_summary",
                      "customer_id INTEGER, country VARCHAR, city VARCHAR, gender VARCHAR, age INTEGER, "
                      "age_bracket VARCHAR, family_status VARCHAR, profile VARCHAR, first_order_at TIMESTAMP"),
    "raw_surveys": ("SELECT customer_id, answered_at, nps_score FROM survey_responses",
                    "customer_id INTEGER, answered_at TIMESTAMP, nps_score INTEGER"),
}


def build_raw_copy(engine: Engine, path: Path) -> None:
    """The raw tables, copied as they are into a DuckDB file."""
    path.unlink(missing_ok=True)
    database = duckdb.connect(str(path))
    copy_tables(engine, database, TABLES)
    database.close()


def _zero_if_missing(value):
    return 0 if pd.isna(value) else value


class DuckDBReference:
    def __init__(self, path: Path, threads: int = 2) -> None:
        self.database = duckdb.connect(str(path), read_only=True, config={"threads": threads})

    def tab(self, filters: Filters, options: FilterOptions, churn_days: int, top_n: int) -> dict:
        period = period_of(filters, options)
        if period is None:
            return {}
        where, params = self._customer_condition(filters)
        self.params = params
        self.selected = f"SELECT customer_id FROM raw_customers WHERE {where}"
        previous = period.previous()
        result = {
            "kpis": self._kpis(period, churn_days),
            "previous_kpis": self._kpis(previous, churn_days) if previous.covered_by(options) else None,
            "monthly": self._frame(
                f"SELECT date_trunc('month', ordered_at) AS month, sum(amount) AS revenue, count(*) AS orders, "
                f"count(DISTINCT customer_id) AS customers FROM ({self._orders(period)}) GROUP BY 1 ORDER BY 1"),
            "cohorts": self._frame(
                f"SELECT date_trunc('month', first_order_at) AS cohort, "
                f"datediff('month', date_trunc('month', first_order_at), date_trunc('month', ordered_at)) "
                f"AS months_since, count(DISTINCT customer_id) AS customers FROM ({self._orders(period)}) "
                f"WHERE first_order_at >= $start AND first_order_at < $end_excl GROUP BY 1, 2 ORDER BY 1, 2",
                **self._bounds(period)),
            "growth": self._growth(period, options),
            "top": self._frame(
                f"SELECT customer_id, count(*) AS orders, sum(amount) AS revenue FROM ({self._orders(period)}) "
                f"GROUP BY customer_id ORDER BY revenue DESC, customer_id LIMIT {int(top_n)}"),
            "cities": self._frame(
                f"SELECT city, country, count(DISTINCT customer_id) AS customers, count(*) AS orders, "
                f"sum(amount) AS revenue FROM ({self._orders(period)}) WHERE city IS NOT NULL GROUP BY 1, 2"),
        }
        for dimension in DIMENSIONS:
            result[dimension] = self._frame(
                f"SELECT coalesce({dimension}, '{UNKNOWN}') AS {dimension}, count(DISTINCT customer_id) AS customers, "
                f"count(*) AS orders, sum(amount) AS revenue FROM ({self._orders(period)}) GROUP BY 1")
        return result

    @staticmethod
    def _customer_condition(filters: Filters) -> tuple[str, dict]:
        conditions, params = ["TRUE"], {}
        for index, (column, allowed) in enumerate((("country", filters.scope), ("country", filters.countries or None),
                                                   ("gender", filters.genders or None),
                                                   ("age_bracket", filters.age_brackets or None))):
            if allowed is not None:
                conditions.append(f"list_contains($allowed{index}, {column})")
                params[f"allowed{index}"] = list(allowed)
        return " AND ".join(conditions), params

    @staticmethod
    def _bounds(period: Period) -> dict:
        return {"start": dt.datetime.combine(period.start, dt.time()),
                "end_excl": dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time())}

    def _orders(self, period: Period) -> str:
        start = dt.datetime.combine(period.start, dt.time()).isoformat(sep=" ")
        end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time()).isoformat(sep=" ")
        return (f"SELECT o.*, c.* EXCLUDE (customer_id) FROM raw_orders o JOIN raw_customers c USING (customer_id) "
                f"WHERE o.ordered_at >= TIMESTAMP '{start}' AND o.ordered_at < TIMESTAMP '{end}' "
                f"AND o.customer_id IN ({self.selected})")

    def _frame(self, query: str, **params) -> pd.DataFrame:
        used = {**self.params, **params}
        used = {name: value for name, value in used.items() if f"${name}" in query}
        return self.database.execute(query, used).df()

    def _kpis(self, period: Period, churn_days: int) -> dict:
        bounds = self._bounds(period)
        buyers = self._frame(
            f"SELECT count(*) AS customers, avg(c.age) AS average_age, sum(n) AS orders, sum(revenue) AS revenue, "
            f"count(*) FILTER (n >= 2) AS repeat_customers FROM (SELECT customer_id, count(*) AS n, "
            f"sum(amount) AS revenue FROM ({self._orders(period)}) GROUP BY customer_id) JOIN raw_customers c "
            f"USING (customer_id)").iloc[0]
        churn = self._frame(
            f"SELECT count(*) AS base, count(*) FILTER (last < $cutoff) AS churned FROM (SELECT customer_id, "
            f"max(ordered_at) AS last FROM raw_orders WHERE ordered_at < $end_excl AND customer_id IN "
            f"({self.selected}) GROUP BY customer_id)",
            end_excl=bounds["end_excl"],
            cutoff=dt.datetime.combine(period.end - dt.timedelta(days=churn_days - 1), dt.time())).iloc[0]
        nps = self._frame(
            f"SELECT count(*) AS n, count(*) FILTER (nps_score >= 9) AS promoters, count(*) FILTER (nps_score <= 6) "
            f"AS detractors FROM raw_surveys WHERE answered_at >= $start AND answered_at < $end_excl "
            f"AND customer_id IN ({self.selected})", **bounds).iloc[0]
        return {
            "customers": int(buyers["customers"]), "orders": int(_zero_if_missing(buyers["orders"])),
            "revenue": float(_zero_if_missing(buyers["revenue"])),
            "average_age": None if pd.isna(buyers["average_age"]) else float(buyers["average_age"]),
            "repeat_customers": int(buyers["repeat_customers"]), "churn_base": int(churn["base"]),
            "churned": int(churn["churned"]), "nps_responses": int(nps["n"]), "promoters": int(nps["promoters"]),
            "detractors": int(nps["detractors"]),
        }

    def _growth(self, period: Period, options: FilterOptions) -> pd.DataFrame:
        recent = Period(period.end - dt.timedelta(days=364), period.end)
        earlier = recent.previous()
        if earlier.start < options.first_date:
            return pd.DataFrame(columns=["country", "revenue", "previous"])
        return self._frame(
            f"SELECT country, sum(amount) FILTER (ordered_at >= $recent) AS revenue, "
            f"sum(amount) FILTER (ordered_at < $recent) AS previous FROM ({self._orders(Period(earlier.start, recent.end))}) "
            f"WHERE country IS NOT NULL GROUP BY country HAVING previous > 0",
            recent=dt.datetime.combine(recent.start, dt.time())).fillna({"revenue": 0.0})
