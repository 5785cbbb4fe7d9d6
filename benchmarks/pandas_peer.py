"""The naive peer: the tables loaded into pandas DataFrames at start, filtered, joined and
aggregated on every request, as typical dashboard tutorials do. It answers the same
questions as the Customer performance tab, so the benchmark can check both agree."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine

from services.filters import FilterOptions, Filters
from services.rules import UNKNOWN
from services.selection import Period, period_of

DAY = pd.Timedelta(days=1)
DIMENSIONS = ["family_status", "age_bracket", "profile", "gender", "country"]


class PandasPeer:
    """At start: every order joined once with its customer's attributes, text as categories."""

    def __init__(self, engine: Engine) -> None:
        with engine.connect() as connection:
            orders = pd.read_sql("SELECT customer_id, ordered_at, amount FROM transactions", connection,
                                 parse_dates=["ordered_at"])
            self.customers = pd.read_sql(
                "SELECT customer_id, country, city, gender, age, age_bracket, family_status, profile, first_order_at"
                " FROM customer_summary", connection, parse_dates=["first_order_at"]).set_index("customer_id")
            self.surveys = pd.read_sql("SELECT customer_id, answered_at, nps_score FROM survey_responses",
                                       connection, parse_dates=["answered_at"])
        for column in ("country", "city", "gender", "age_bracket", "family_status", "profile"):
            self.customers[column] = self.customers[column].astype("category")
        self.orders = orders.join(self.customers, on="customer_id")

    def tab(self, filters: Filters, options: FilterOptions, churn_days: int, top_n: int) -> dict:
        """Everything the tab shows for these filters."""
        period = period_of(filters, options)
        if period is None:
            return {}
        ids = self._selected(filters)
        selected = self.orders[self._keep(self.orders, filters)]
        orders = self._between(selected, period.start, period.end)
        previous = period.previous()
        result = {
            "kpis": self._kpis(ids, selected, orders, period, churn_days),
            "previous_kpis": (self._kpis(ids, selected, self._between(selected, previous.start, previous.end),
                                         previous, churn_days) if previous.covered_by(options) else None),
            "monthly": self._monthly(orders),
            "cohorts": self._cohorts(orders, period),
            "growth": self._growth(selected, period, options),
            "top": self._top(orders, top_n),
            "cities": self._split(orders, ["city", "country"]).dropna(subset=["city"]),
        }
        for dimension in DIMENSIONS:
            result[dimension] = self._split(orders, [dimension]).fillna({dimension: UNKNOWN})
        return result

    @staticmethod
    def _keep(frame: pd.DataFrame, filters: Filters) -> pd.Series:
        keep = pd.Series(True, index=frame.index)
        for column, allowed in (("country", filters.scope), ("country", filters.countries or None),
                                ("gender", filters.genders or None), ("age_bracket", filters.age_brackets or None)):
            if allowed is not None:
                keep &= frame[column].isin(allowed)
        return keep

    def _selected(self, filters: Filters) -> pd.Index:
        return self.customers.index[self._keep(self.customers, filters)]

    @staticmethod
    def _between(orders: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
        when = orders["ordered_at"]
        return orders[(when >= pd.Timestamp(start)) & (when < pd.Timestamp(end) + DAY)]

    def _kpis(self, ids: pd.Index, selected: pd.DataFrame, orders: pd.DataFrame, period: Period,
              churn_days: int) -> dict:
        per_customer = orders.groupby("customer_id")["amount"].agg(["size", "sum"])
        history = selected[selected["ordered_at"] < pd.Timestamp(period.end) + DAY]
        last = history.groupby("customer_id")["ordered_at"].max()
        cutoff = pd.Timestamp(period.end) - pd.Timedelta(days=churn_days - 1)
        surveys = self.surveys[self.surveys["customer_id"].isin(ids)
                               & (self.surveys["answered_at"] >= pd.Timestamp(period.start))
                               & (self.surveys["answered_at"] < pd.Timestamp(period.end) + DAY)]
        ages = self.customers.loc[per_customer.index, "age"].dropna()
        return {
            "customers": len(per_customer), "orders": len(orders), "revenue": float(orders["amount"].sum()),
            "average_age": float(ages.mean()) if len(ages) else None,
            "repeat_customers": int((per_customer["size"] >= 2).sum()),
            "churn_base": len(last), "churned": int((last < cutoff).sum()),
            "nps_responses": len(surveys), "promoters": int((surveys["nps_score"] >= 9).sum()),
            "detractors": int((surveys["nps_score"] <= 6).sum()),
        }

    @staticmethod
    def _split(orders: pd.DataFrame, keys) -> pd.DataFrame:
        groups = orders.groupby(keys, dropna=False, observed=True)
        frame = pd.DataFrame({"customers": groups["customer_id"].nunique(), "orders": groups.size(),
                              "revenue": groups["amount"].sum()}).reset_index()
        return frame.astype({column: object for column in frame.columns if frame[column].dtype == "category"})

    @staticmethod
    def _monthly(orders: pd.DataFrame) -> pd.DataFrame:
        month = orders["ordered_at"].dt.to_period("M").dt.to_timestamp().rename("month")
        groups = orders.groupby(month)
        return pd.DataFrame({"revenue": groups["amount"].sum(), "orders": groups.size(),
                             "customers": groups["customer_id"].nunique()}).reset_index()

    @staticmethod
    def _cohorts(orders: pd.DataFrame, period: Period) -> pd.DataFrame:
        first = orders["first_order_at"]
        orders = orders[(first >= pd.Timestamp(period.start)) & (first < pd.Timestamp(period.end) + DAY)]
        first, when = orders["first_order_at"], orders["ordered_at"]
        since = (when.dt.year - first.dt.year) * 12 + when.dt.month - first.dt.month
        frame = orders.assign(cohort=first.dt.to_period("M").dt.to_timestamp(), months_since=since)
        return frame.groupby(["cohort", "months_since"])["customer_id"].nunique().rename("customers").reset_index()

    def _growth(self, selected: pd.DataFrame, period: Period, options: FilterOptions) -> pd.DataFrame:
        recent_start = period.end - dt.timedelta(days=364)
        earlier_start = recent_start - dt.timedelta(days=365)
        if earlier_start < options.first_date:
            return pd.DataFrame(columns=["country", "revenue", "previous"])

        def revenue(start: dt.date, end: dt.date) -> pd.Series:
            return self._between(selected, start, end).groupby("country", observed=True)["amount"].sum()

        frame = pd.DataFrame({"revenue": revenue(recent_start, period.end),
                              "previous": revenue(earlier_start, recent_start - dt.timedelta(days=1))}).fillna(0.0)
        frame.index = frame.index.astype(object)
        return frame[frame["previous"] > 0].rename_axis("country").reset_index()

    @staticmethod
    def _top(orders: pd.DataFrame, limit: int) -> pd.DataFrame:
        per_customer = orders.groupby("customer_id")["amount"].agg(orders="size", revenue="sum").reset_index()
        return per_customer.sort_values(["revenue", "customer_id"], ascending=[False, True]).head(limit)
