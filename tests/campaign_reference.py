"""An independent pandas / scipy / statsmodels reference for the Campaigns tab's services.

Everything here starts from the raw SQL tables read into pandas (`transactions`,
`campaign_assignments`, `coupon_events`, `campaigns`, `saved_segment_members` and the
per-customer attributes of `customer_summary`) and from the documented rules, never from the
services' SQL or the statistics engine:

- analysed customers: assigned to exactly one variant of the campaign, passing the filters;
- the window: the campaign's days up to the data's last order day; the pre-campaign window:
  as many days right before the start;
- per customer: orders, revenue (amount), profit (amount - cost), converted (any order), their
  pre-campaign values, coupon claims and burns in the window; zeros without any;
- capping at q: each capped column clipped at its own linear-interpolation q-quantile over
  the analysed customers;
- tests on the row-level values: Welch (scipy), the pooled two-proportion z-test and unpooled
  Wald interval (statsmodels), the delta method for ratios of sums (numpy covariances), CUPED
  by adjusting every row, relative intervals by the delta method.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

DAY = pd.Timedelta(days=1)
VALUES = ("converted", "orders", "revenue", "profit", "claims", "burns")
PRE_VALUES = ("pre_converted", "pre_orders", "pre_revenue", "pre_profit")
CAPPED = ("orders", "revenue", "profit", "pre_orders", "pre_revenue", "pre_profit")


@dataclass(frozen=True)
class Spec:
    """How a metric is measured: kind, per-customer column, and its CUPED covariate or ratio denominator."""

    kind: str  # proportion | mean | ratio
    value: str
    other: str  # the pre-campaign covariate (proportion, mean) or the denominator (ratio)


SPECS = {
    "conversion": Spec("proportion", "converted", "pre_converted"),
    "orders": Spec("mean", "orders", "pre_orders"),
    "revenue": Spec("mean", "revenue", "pre_revenue"),
    "profit": Spec("mean", "profit", "pre_profit"),
    "aov": Spec("ratio", "revenue", "orders"),
    "profit_per_sale": Spec("ratio", "profit", "orders"),
    "burn_rate": Spec("ratio", "burns", "claims"),
}
CROSSES = tuple(dict.fromkeys((spec.value, spec.other) for spec in SPECS.values()))


# ------------------------------------------------------------------ raw data
@dataclass(frozen=True, eq=False)
class Raw:
    orders: pd.DataFrame  # customer_id, day, amount, profit
    assignments: pd.DataFrame  # campaign_id, customer_id, variant
    events: pd.DataFrame  # customer_id, event, day
    customers: pd.DataFrame  # by customer id: country, gender, age_bracket, profile, rfm_segment
    campaigns: pd.DataFrame  # by campaign id: name, starts_on, ends_on, cost, planned_treatment_share
    members: pd.DataFrame  # segment_id, customer_id

    @property
    def data_end(self) -> pd.Timestamp:
        return self.orders["day"].max()

    def campaign_id(self, name: str) -> int:
        return int(self.campaigns.index[self.campaigns["name"] == name][0])


def raw_from(transactions: pd.DataFrame, assignments: pd.DataFrame, events: pd.DataFrame,
             customers: pd.DataFrame, campaigns: pd.DataFrame, members: pd.DataFrame) -> Raw:
    """Raw frames as read from SQL (timestamps as datetimes or text) turned into days and profits."""
    orders = pd.DataFrame({
        "customer_id": transactions["customer_id"].astype("int64"),
        "day": pd.to_datetime(transactions["ordered_at"]).dt.normalize(),
        "amount": transactions["amount"].astype(float),
        "profit": transactions["amount"].astype(float) - transactions["cost"].fillna(0.0).astype(float),
    })
    events = pd.DataFrame({"customer_id": events["customer_id"].astype("int64"), "event": events["event"],
                           "day": pd.to_datetime(events["occurred_at"]).dt.normalize()})
    campaigns = campaigns.assign(starts_on=pd.to_datetime(campaigns["starts_on"]).dt.normalize(),
                                 ends_on=pd.to_datetime(campaigns["ends_on"]).dt.normalize())
    return Raw(orders, assignments[["campaign_id", "customer_id", "variant"]].copy(), events, customers, campaigns,
               members)


# ------------------------------------------------------------------ who and when
@dataclass(frozen=True)
class Days:
    start: pd.Timestamp
    end: pd.Timestamp
    pre_start: pd.Timestamp

    def dates(self) -> tuple[dt.date, dt.date, dt.date]:
        return self.start.date(), self.end.date(), self.pre_start.date()


def window(raw: Raw, campaign_id: int) -> Days | None:
    campaign = raw.campaigns.loc[campaign_id]
    start = campaign["starts_on"]
    if start > raw.data_end:
        return None
    end = min(campaign["ends_on"], raw.data_end)
    days = (end - start).days + 1
    return Days(start, end, start - days * DAY)


def selected(raw: Raw, filters) -> pd.Index:
    """Customers passing a `Filters` value: its countries, genders, age brackets, scope and saved segment."""
    customers = raw.customers
    keep = pd.Series(True, index=customers.index)
    for column, allowed in (("country", filters.scope), ("country", filters.countries or None),
                            ("gender", filters.genders or None), ("age_bracket", filters.age_brackets or None)):
        if allowed is not None:
            keep &= customers[column].isin(allowed)
    if filters.segment_id is not None:
        members = raw.members.loc[raw.members["segment_id"] == filters.segment_id, "customer_id"]
        keep &= customers.index.isin(members)
    return customers.index[keep]


def _assigned(raw: Raw, campaign_id: int, keep: pd.Index | None) -> pd.DataFrame:
    a = raw.assignments[raw.assignments["campaign_id"] == campaign_id]
    a = a[a["customer_id"].isin(raw.customers.index if keep is None else keep)]
    return a.groupby("customer_id").agg(variants=("variant", "nunique"), rows=("variant", "size"),
                                        variant=("variant", "first"))


def health(raw: Raw, campaign_id: int, keep: pd.Index | None) -> tuple[pd.Series, int, int]:
    """Analysed customers per variant, customers in several variants, customers assigned twice to one."""
    a = _assigned(raw, campaign_id, keep)
    single = a[a["variants"] == 1]
    return (single["variant"].value_counts().sort_index(), int((a["variants"] > 1).sum()),
            int((single["rows"] > 1).sum()))


def values(raw: Raw, campaign_id: int, keep: pd.Index | None = None, cap: float | None = None) -> pd.DataFrame:
    """One row per analysed customer (by id): variant and every value column."""
    days = window(raw, campaign_id)
    a = _assigned(raw, campaign_id, keep)
    analysed = a.loc[a["variants"] == 1, "variant"]
    o = raw.orders[raw.orders["customer_id"].isin(analysed.index)]

    def per_customer(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
        out = frame.groupby("customer_id").agg(orders=("amount", "size"), revenue=("amount", "sum"),
                                               profit=("profit", "sum"))
        out = out.reindex(analysed.index, fill_value=0).astype(float)
        out.insert(0, "converted", (out["orders"] > 0).astype(float))
        return out.add_prefix(prefix)

    during = per_customer(o[(o["day"] >= days.start) & (o["day"] <= days.end)], "")
    before = per_customer(o[(o["day"] >= days.pre_start) & (o["day"] < days.start)], "pre_")
    e = raw.events[raw.events["customer_id"].isin(analysed.index) & (raw.events["day"] >= days.start)
                   & (raw.events["day"] <= days.end)]
    coupons = pd.DataFrame({
        "claims": e[e["event"] == "claimed"].groupby("customer_id").size(),
        "burns": e[e["event"] == "burned"].groupby("customer_id").size(),
    }).reindex(analysed.index).fillna(0.0).astype(float)
    out = pd.concat([analysed.rename("variant"), during, before, coupons], axis=1)
    if cap is not None:
        for column in CAPPED:
            out[column] = out[column].clip(upper=out[column].quantile(cap, interpolation="linear"))
    return out.sort_index()


def sums(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """n, and per column its sum and sum of squares, and the metrics' cross products, per group."""
    frame = pd.DataFrame(index=rows.index)
    frame["n"] = 1.0
    for column in VALUES + PRE_VALUES:
        frame[f"{column}_sum"] = rows[column]
        frame[f"{column}_sq"] = rows[column] ** 2
    for y, x in CROSSES:
        frame[f"{y}_x_{x}"] = rows[y] * rows[x]
    return frame.groupby([rows[column] for column in by]).sum()


def cumulative(raw: Raw, rows: pd.DataFrame, campaign_id: int, day: pd.Timestamp) -> pd.DataFrame:
    """The customers' uncapped orders, revenue, profit and conversion from the window's start to `day`."""
    start = window(raw, campaign_id).start
    o = raw.orders[raw.orders["customer_id"].isin(rows.index) & (raw.orders["day"] >= start)
                   & (raw.orders["day"] <= day)]
    out = o.groupby("customer_id").agg(orders=("amount", "size"), revenue=("amount", "sum"),
                                       profit=("profit", "sum")).reindex(rows.index, fill_value=0).astype(float)
    out["converted"] = (out["orders"] > 0).astype(float)
    return out


# ------------------------------------------------------------------ statistics on rows
def _relative(treatment: float, var_t: float, control: float, var_c: float) -> tuple[float, float]:
    """treatment / control - 1 and its delta-method standard error."""
    relative = treatment / control - 1 if control != 0 else math.nan
    se = math.sqrt(var_t / control ** 2 + treatment ** 2 * var_c / control ** 4) if control != 0 else math.nan
    return relative, se


def _effect(control: float, treatment: float, low: float, high: float, relative: float, se_relative: float,
            quantile: float, p: float, se_absolute: float) -> dict:
    return {"control": control, "treatment": treatment, "absolute": treatment - control, "absolute_low": low,
            "absolute_high": high, "relative": relative, "relative_low": relative - quantile * se_relative,
            "relative_high": relative + quantile * se_relative, "p_value": p, "se_absolute": se_absolute,
            "se_relative": se_relative}


def welch(control, treatment, alpha: float = 0.05) -> dict:
    c, t = np.asarray(control, float), np.asarray(treatment, float)
    if len(c) < 2 or len(t) < 2:  # no variance: the means, and nothing else
        relative = t.mean() / c.mean() - 1 if c.mean() != 0 else math.nan
        return {**dict.fromkeys(("absolute_low", "absolute_high", "relative_low", "relative_high", "p_value",
                                 "se_absolute", "se_relative"), math.nan),
                "control": c.mean(), "treatment": t.mean(), "absolute": t.mean() - c.mean(), "relative": relative}
    result = stats.ttest_ind(t, c, equal_var=False)
    interval = result.confidence_interval(1 - alpha)
    var_t, var_c = t.var(ddof=1) / len(t), c.var(ddof=1) / len(c)
    relative, se_relative = _relative(t.mean(), var_t, c.mean(), var_c)
    return _effect(c.mean(), t.mean(), interval.low, interval.high, relative, se_relative,
                   stats.t.ppf(1 - alpha / 2, result.df), result.pvalue, math.sqrt(var_t + var_c))


def proportion(control, treatment, alpha: float = 0.05) -> dict:
    c, t = np.asarray(control, float), np.asarray(treatment, float)
    x_c, x_t = int(c.sum()), int(t.sum())
    _, p = proportions_ztest([x_t, x_c], [len(t), len(c)])
    low, high = confint_proportions_2indep(x_t, len(t), x_c, len(c), method="wald", compare="diff", alpha=alpha)
    p_c, p_t = c.mean(), t.mean()
    var_t, var_c = p_t * (1 - p_t) / len(t), p_c * (1 - p_c) / len(c)
    relative, se_relative = _relative(p_t, var_t, p_c, var_c)
    return _effect(p_c, p_t, low, high, relative, se_relative, stats.norm.ppf(1 - alpha / 2), p,
                   math.sqrt(var_t + var_c))


def _ratio_of(m: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    """The ratio of sums and the delta-method variance of it from the sample covariance of (m, d)."""
    if len(m) < 2:
        return m.sum() / d.sum() if d.sum() != 0 else math.nan, math.nan
    (var_m, cov), (_, var_d) = np.cov(m, d, ddof=1)
    m_bar, d_bar = m.mean(), d.mean()
    ratio = m_bar / d_bar
    gradient = np.array([1 / d_bar, -m_bar / d_bar ** 2])
    variance = gradient @ np.array([[var_m, cov], [cov, var_d]]) @ gradient / len(m)
    return ratio, float(variance)


def ratio(control_m, control_d, treatment_m, treatment_d, alpha: float = 0.05) -> dict:
    r_c, v_c = _ratio_of(np.asarray(control_m, float), np.asarray(control_d, float))
    r_t, v_t = _ratio_of(np.asarray(treatment_m, float), np.asarray(treatment_d, float))
    se = math.sqrt(v_t + v_c)
    z = stats.norm.ppf(1 - alpha / 2)
    p = 2 * stats.norm.sf(abs(r_t - r_c) / se) if se > 0 else math.nan
    relative, se_relative = _relative(r_t, v_t, r_c, v_c)
    return _effect(r_c, r_t, r_t - r_c - z * se, r_t - r_c + z * se, relative, se_relative, z, p, se)


def cuped_adjusted(y: pd.Series, x: pd.Series) -> pd.Series:
    """y - θ(x - x̄) with θ = cov(x, y) / var(x) and x̄ over all the rows given (both variants pooled)."""
    y, x = y.astype(float), x.astype(float)
    theta = float(np.cov(x, y, ddof=1)[0, 1] / x.var(ddof=1)) if x.var(ddof=1) > 0 else 0.0
    return y - theta * (x - x.mean())


def effect(rows: pd.DataFrame, key: str, control: str, treatment: str, *, alpha: float = 0.05,
           cuped: bool = False) -> dict:
    """One metric's expected effect of treatment against control on the value rows."""
    spec = SPECS[key]
    c, t = rows[rows["variant"] == control], rows[rows["variant"] == treatment]
    if spec.kind == "ratio":
        return ratio(c[spec.value], c[spec.other], t[spec.value], t[spec.other], alpha)
    if cuped:
        both = rows[rows["variant"].isin([control, treatment])]
        adjusted = cuped_adjusted(both[spec.value], both[spec.other])
        return welch(adjusted[both["variant"] == control], adjusted[both["variant"] == treatment], alpha)
    test = proportion if spec.kind == "proportion" else welch
    return test(c[spec.value], t[spec.value], alpha)


def variance_reduction(rows: pd.DataFrame, key: str, control: str, treatment: str) -> float:
    spec = SPECS[key]
    both = rows[rows["variant"].isin([control, treatment])]
    return 1 - cuped_adjusted(both[spec.value], both[spec.other]).var(ddof=1) / both[spec.value].var(ddof=1)
