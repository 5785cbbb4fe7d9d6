"""Purchase histories for the value models, aggregated by the SQL database: one row per customer.

Purchases are counted per day (several orders on one day are one purchase, as the models assume);
the first purchase day starts a customer's history and is not a repeat. Times are in days:
t_x from the first to the last purchase day before the cutoff, T from the first day to the cutoff.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Connection, and_, case, func, literal, select

from services.models import Transaction
from services.sql_functions import days_between

EPOCH = dt.date(1970, 1, 1)
COLUMNS = ["customer_id", "x", "t_x", "T", "spend", "holdout"]


def purchase_histories(connection: Connection, cutoff: dt.date, holdout_end: dt.date | None = None) -> pd.DataFrame:
    """Customers with a purchase before `cutoff`: repeat purchase days x, t_x and T in days, the mean value of
    their repeat purchase days (NaN without one), and their purchase days from `cutoff` to `holdout_end`."""
    return purchase_histories_at(connection, (cutoff,), holdout_end)[0]


def purchase_histories_at(connection: Connection, cutoffs: tuple[dt.date, ...],
                          holdout_end: dt.date | None = None) -> list[pd.DataFrame]:
    """`purchase_histories` at each cutoff, from one pass over the transactions (the pass is the cost)."""
    t = Transaction.__table__.c
    cuts = [(cutoff - EPOCH).days for cutoff in cutoffs]
    end = ((holdout_end - EPOCH).days if holdout_end else max(cuts) - 1)
    day = days_between(t.ordered_at, literal(EPOCH.isoformat()))
    daily = (select(t.customer_id, day.label("day"), func.sum(t.amount).label("amount"))
             .where(day <= max(end, max(cuts) - 1)).group_by(t.customer_id, day).subquery("daily"))
    ranked = select(daily, func.row_number().over(partition_by=daily.c.customer_id, order_by=daily.c.day)
                    .label("seq")).subquery("ranked")
    columns = []
    for index, cut in enumerate(cuts):
        before = ranked.c.day < cut
        first = func.min(case((before, ranked.c.day)))
        columns += [
            (func.count(case((before, 1))) - 1).label(f"x_{index}"),
            (func.max(case((before, ranked.c.day))) - first).label(f"t_x_{index}"),
            (literal(cut) - first).label(f"T_{index}"),
            func.sum(case((and_(before, ranked.c.seq > 1), ranked.c.amount))).label(f"repeat_amount_{index}"),
            func.count(case((and_(ranked.c.day >= cut, ranked.c.day <= end), 1))).label(f"holdout_{index}"),
        ]
    query = (select(ranked.c.customer_id, *columns).group_by(ranked.c.customer_id)
             .having(func.min(ranked.c.day) < max(cuts)).order_by(ranked.c.customer_id))
    wide = pd.DataFrame(connection.execute(query).all(), columns=["customer_id", *(c.name for c in columns)])
    return [_history(wide, index) for index in range(len(cuts))]


def _history(wide: pd.DataFrame, index: int) -> pd.DataFrame:
    names = ["x", "t_x", "T", "repeat_amount", "holdout"]
    frame = wide[["customer_id", *(f"{name}_{index}" for name in names)]]
    frame = frame.set_axis(["customer_id", *names], axis=1)
    frame = frame[frame["x"] >= 0].astype({"customer_id": "int64", "x": "int64", "t_x": "float64",
                                           "T": "float64", "holdout": "int64"})
    repeat = pd.to_numeric(frame.pop("repeat_amount"), errors="coerce")
    frame["spend"] = (repeat / frame["x"]).where(frame["x"] > 0)
    return frame[COLUMNS].reset_index(drop=True)
