"""Each piece of the fast path against the obvious alternative, side by side on the same data.

Every lever runs both ways a few times and checks that both give the same answer; the
medians justify the design in docs/PERFORMANCE.md.
"""
from __future__ import annotations

import datetime as dt
import math

import duckdb
import plotly.graph_objects as go
from sqlalchemy import Engine, text

from benchmarks.stats import summary, timed
from layouts.figures import template, themed
from services.analytics.months import split_months

REPEATS = 5


def run(engine: Engine, database: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date) -> list[dict]:
    """One entry per lever: name, the alternative's and the chosen way's timings, their ratio, agreement."""
    year = (max(first, last - dt.timedelta(days=364)), last - dt.timedelta(days=1))  # closed at both ends
    cursor = database.cursor()

    def sql(query: str, **params):
        return cursor.execute(query, params).fetchall()

    codes = sql("SELECT list(DISTINCT gender_code) FROM cells WHERE gender = 'Female'")[0][0]
    cell_list = ", ".join(str(cell) for (cell,) in sql("SELECT cell FROM cells WHERE gender = 'Female'"))
    split = split_months(*year)
    partial = " OR ".join(f"day BETWEEN DATE '{a}' AND DATE '{b}'" for a, b in split.partial_days) or "FALSE"
    levers = [
        _lever("Distinct buyers of one year: COUNT(DISTINCT) vs first order in the period (previous-order day)",
               lambda: sql("SELECT count(DISTINCT customer_id) FROM orders WHERE day BETWEEN $a AND $b",
                           a=year[0], b=year[1]),
               lambda: sql("SELECT count(*) FROM orders WHERE day BETWEEN $a AND $b "
                           "AND (prev_day IS NULL OR prev_day < $a)", a=year[0], b=year[1])),
        _lever("Revenue of one year: every order vs monthly roll-up plus partial months",
               lambda: sql("SELECT sum(amount) FROM orders WHERE day BETWEEN $a AND $b", a=year[0], b=year[1]),
               lambda: sql(f"SELECT sum(revenue) FROM (SELECT revenue FROM monthly WHERE month BETWEEN "
                           f"{split.first_month} AND {split.last_month} UNION ALL SELECT amount FROM orders "
                           f"WHERE {partial})")),
        _lever("Filter women, one year of orders: list of attribute cells vs attribute code",
               lambda: sql(f"SELECT count(*) FROM orders WHERE day BETWEEN $a AND $b AND cell IN ({cell_list})",
                           a=year[0], b=year[1]),
               lambda: sql(f"SELECT count(*) FROM orders WHERE day BETWEEN $a AND $b "
                           f"AND gender_code IN ({', '.join(map(str, codes))})", a=year[0], b=year[1])),
        _lever("Buyers since a day (open end): scan the orders vs the last-order day per customer",
               lambda: sql("SELECT count(DISTINCT customer_id) FROM orders WHERE day >= $a", a=year[0]),
               lambda: sql("SELECT count(*) FROM customers WHERE last_day >= $a", a=year[0])),
        _lever("Buyers of one year, SQL database vs analytics snapshot",
               lambda: _sql_database(engine, year),
               lambda: sql("SELECT count(*) FROM orders WHERE day BETWEEN $a AND $b "
                           "AND (prev_day IS NULL OR prev_day < $a)", a=year[0], b=year[1]), repeats=1),
        _figure_lever(),
    ]
    cursor.close()
    return levers


def _sql_database(engine: Engine, year: tuple[dt.date, dt.date]):
    with engine.connect() as connection:
        return [tuple(connection.execute(text(
            "SELECT count(DISTINCT customer_id) FROM transactions WHERE ordered_at >= :a AND ordered_at < :b"),
            {"a": dt.datetime.combine(year[0], dt.time()),
             "b": dt.datetime.combine(year[1] + dt.timedelta(days=1), dt.time())}).one())]


def _figure_lever() -> dict:
    """Ten figures themed by validating the template into each, vs the template's JSON set once."""
    def figures() -> list[go.Figure]:
        return [go.Figure(go.Bar(x=list(range(12)), y=list(range(12)))) for _ in range(10)]

    def validated():
        return [figure.update_layout(template=template("dark")).to_plotly_json()["layout"]["template"]["layout"]
                ["colorway"] for figure in figures()]

    def plain():
        return [themed(figure, "dark")["layout"]["template"]["layout"]["colorway"] for figure in figures()]

    return _lever("Theme ten figures: plotly validates the template vs template JSON set once", validated, plain)


def _lever(name: str, alternative, chosen, repeats: int = REPEATS) -> dict:
    slow, fast = [], []
    for _ in range(repeats):
        seconds, before = timed(alternative)
        slow.append(seconds)
        seconds, after = timed(chosen)
        fast.append(seconds)
    alternative_stats, chosen_stats = summary(slow), summary(fast)
    return {"lever": name, "alternative": alternative_stats, "chosen": chosen_stats,
            "ratio": alternative_stats["median_ms"] / chosen_stats["median_ms"], "same_answer": _same(before, after)}


def _same(left, right) -> bool:
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right))
    if isinstance(left, float) or isinstance(right, float):
        return math.isclose(float(left), float(right), rel_tol=1e-9)
    return left == right
