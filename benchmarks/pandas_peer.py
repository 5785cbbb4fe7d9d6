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
    def __init__(self, engine: Engine) -> None:
        with engine.connect() as connection:
            self.orders = pd.read_sql("SELECT customer_id, ordered_at, amount FROM transactions", connection,
                                      parse_dates=["ordered_at"])
            self.customers = pd.read_sql(
                "SELECT customer_id, country, city, gender, age, age_bracket, family_status, profile, first_order_at"
                " FROM customer_summary", connection, parse_dates=["first_order_at"]).set_index("customer_id")
            self.surveys = pd.read_sql("SELECT customer_id, answered_at, nps_score FROM survey_responses",
                                       connection, parse_dates=["answered_at"])

    def tab(self, filters: Filters, options: FilterOptions, churn_days: int, top_n: int) -> dict:
        """Everything the tab shows for these filters."""
        period = period_of(filters, options)
        if period is None:
            return {}
        ids = self._selected(filters)
        orders = self._orders(ids, period.start, period.end)
        previous = period.previous()
        result = {
            "kpis": self._kpis(ids, orders, period, churn_days),
            "previous_kpis": (self._kpis(ids, self._orders(ids, previous.start, previous.end), previous, churn_days)
                              if previous.covered_by(options) else None),
            "monthly": self._monthly(orders),
            "cohorts": self._cohorts(ids, orders, period),
            "growth": self._growth(ids, period, options),
            "top": self._top(orders, top_n),
            "cities": self._split(orders, ["city", "country"]).dropna(subset=["city"]),
        }
        for dimension in DIMENSIONS:
            result[dimension] = self._split(orders, [orders[dimension].fillna(UNKNOWN)])
        return result

    def _selected(self, filters: Filters) -> pd.Index:
        keep = pd.Series(True, index=self.customers.index)
        for column, allowed in (("country", filters.scope), ("country", filters.countries or None),
                                ("gender", filters.genders or None), ("age_bracket", filters.age_brackets or None)):
            if allowed is not None:
                keep &= self.customers[column].isin(allowed)
        return self.customers.index[keep]

    def _orders(self, ids: pd.Index, start: dt.date, end: dt.date) -> pd.DataFrame:
        when = self.orders["ordered_at"]
        mask = (when >= pd.Timestamp(start)) & (when < pd.Timestamp(end) + DAY) & self.orders["customer_id"].isin(ids)
        return self.orders[mask].join(self.customers, on="customer_id")

    def _kpis(self, ids: pd.Index, orders: pd.DataFrame, period: Period, churn_days: int) -> dict:
        per_customer = orders.groupby("customer_id")["amount"].agg(["size", "sum"])
        history = self.orders[self.orders["customer_id"].isin(ids)
                              & (self.orders["ordered_at"] < pd.Timestamp(period.end) + DAY)]
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
        groups = orders.groupby(keys, dropna=False)
        return pd.DataFrame({"customers": groups["customer_id"].nunique(), "orders": groups.size(),
                             "revenue": groups["amount"].sum()}).reset_index()

    @staticmethod
    def _monthly(orders: pd.DataFrame) -> pd.DataFrame:
        month = orders["ordered_at"].dt.to_period("M").dt.to_timestamp().rename("month")
        groups = orders.groupby(month)
        return pd.DataFrame({"revenue": groups["amount"].sum(), "orders": groups.size(),
                             "customers": groups["customer_id"].nunique()}).reset_index()

    def _cohorts(self, ids: pd.Index, orders: pd.DataFrame, period: Period) -> pd.DataFrame:
        first = self.customers.loc[ids, "first_order_at"]
        members = first[(first >= pd.Timestamp(period.start)) & (first < pd.Timestamp(period.end) + DAY)]
        orders = orders[orders["customer_id"].isin(members.index)]
        cohort = orders["first_order_at"].dt.to_period("M")
        since = (orders["ordered_at"].dt.to_period("M") - cohort).apply(lambda offset: offset.n)
        frame = orders.assign(cohort=cohort.dt.to_timestamp(), months_since=since)
        return frame.groupby(["cohort", "months_since"])["customer_id"].nunique().rename("customers").reset_index()

    def _growth(self, ids: pd.Index, period: Period, options: FilterOptions) -> pd.DataFrame:
        recent_start = period.end - dt.timedelta(days=364)
        earlier_start = recent_start - dt.timedelta(days=365)
        if earlier_start < options.first_date:
            return pd.DataFrame(columns=["country", "revenue", "previous"])
        recent = self._orders(ids, recent_start, period.end).groupby("country")["amount"].sum()
        earlier = self._orders(ids, earlier_start, recent_start - dt.timedelta(days=1)).groupby("country")["amount"].sum()
        frame = pd.DataFrame({"revenue": recent, "previous": earlier}).fillna(0.0)
        return frame[frame["previous"] > 0].rename_axis("country").reset_index()

    @staticmethod
    def _top(orders: pd.DataFrame, limit: int) -> pd.DataFrame:
        per_customer = orders.groupby("customer_id")["amount"].agg(orders="size", revenue="sum").reset_index()
        return per_customer.sort_values(["revenue", "customer_id"], ascending=[False, True]).head(limit)
