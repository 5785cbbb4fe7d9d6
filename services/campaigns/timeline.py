"""Cumulative lift day by day: a per-customer metric summed from the window's first day to each day.

Every analysed customer counts from the first day (all were assigned before the start), so
each day's statistics are the running sums of the customers' values so far. The sum of squares
of a running value grows by 2·before·Δ + Δ² on each day with an increment Δ, which keeps the
query at one row per customer and day with an order (the snapshot's `campaign_days`). Outlier capping does not apply here.
With sequential testing on, the band is a confidence sequence: valid however often one looks.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from services.analytics.warehouse import Warehouse
from services.campaigns.facts import Design, values_sql
from services.campaigns.metrics import Metric
from services.campaigns.readout import Settings
from services.experiments.frequentist import compare
from services.experiments.sufficient import MeanStats



def daily_sums(warehouse: Warehouse, design: Design, metric: Metric) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per variant and day the increments of total, squares and cross product with the covariate; and per
    variant the constant n and covariate sums."""
    design = replace(design, cap=None)
    x = metric.covariate
    days = "FROM campaign_days WHERE campaign_id = $campaign AND customer_id IN (SELECT customer_id FROM v)"
    if metric.key == "conversion":  # converted once, on the first order day in the window
        increments = f"SELECT customer_id, min(day) AS day, 1 AS dy {days} GROUP BY customer_id"
    else:
        increments = f"SELECT customer_id, day, {metric.value} AS dy {days}"
    daily = f"""
WITH v AS ({values_sql(design)}),
inc AS ({increments}),
run AS (SELECT customer_id, day, dy, coalesce(sum(dy) OVER (PARTITION BY customer_id ORDER BY day
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before FROM inc)
SELECT v.variant, r.day, sum(r.dy) AS total, sum(2 * r.before * r.dy + r.dy * r.dy) AS squares,
       sum(v.{x} * r.dy) AS xy
FROM run r JOIN v USING (customer_id) GROUP BY ALL ORDER BY r.day"""
    constants = f"""WITH v AS ({values_sql(design)})
SELECT variant, count(*) AS n, sum({x}) AS x_total, sum({x} * {x}) AS x_squares FROM v GROUP BY variant"""
    params = design.params()
    return warehouse.frame(daily, params), warehouse.frame(constants, params).set_index("variant")


def cumulative_lift(warehouse: Warehouse, design: Design, metric: Metric, control: str, treatment: str,
                    settings: Settings) -> pd.DataFrame:
    """day, control, treatment, relative, relative_low, relative_high, p_value: one row per day of the window."""
    daily, constants = daily_sums(warehouse, design, metric)
    days = pd.date_range(design.window.start, design.window.end, freq="D")
    running = {variant: _running(daily[daily["variant"] == variant], days) for variant in (control, treatment)}
    rows = []
    for i, day in enumerate(days):
        stats = [_stats(constants.loc[v], running[v].iloc[i]) for v in (control, treatment)]
        effect = compare(metric.kind, *stats, alpha=settings.alpha, cuped=settings.cuped,
                         sequential_n_star=settings.n_star)
        rows.append({"day": day.date(), "control": effect.control, "treatment": effect.treatment,
                     "relative": effect.relative, "relative_low": effect.relative_low,
                     "relative_high": effect.relative_high, "p_value": effect.p_value})
    return pd.DataFrame(rows)


def _running(daily: pd.DataFrame, days: pd.DatetimeIndex) -> pd.DataFrame:
    frame = daily.assign(day=pd.to_datetime(daily["day"])).set_index("day")[["total", "squares", "xy"]]
    return frame.reindex(days, fill_value=0.0).cumsum()


def _stats(constants: pd.Series, running: pd.Series) -> MeanStats:
    return MeanStats(int(constants["n"]), float(running["total"]), float(running["squares"]),
                     float(constants["x_total"]), float(constants["x_squares"]), float(running["xy"]))
