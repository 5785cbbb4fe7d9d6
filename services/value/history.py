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
    t = Transaction.__table__.c
    cut, end = (cutoff - EPOCH).days, ((holdout_end or cutoff) - EPOCH).days
    day = days_between(t.ordered_at, literal(EPOCH.isoformat()))
    daily = (select(t.customer_id, day.label("day"), func.sum(t.amount).label("amount"))
             .where(day <= end).group_by(t.customer_id, day).subquery("daily"))
    ranked = select(daily, func.row_number().over(partition_by=daily.c.customer_id, order_by=daily.c.day)
                    .label("seq")).subquery("ranked")
    before = ranked.c.day < cut
    query = (
        select(
            ranked.c.customer_id,
            (func.count(case((before, 1))) - 1).label("x"),
            (func.max(case((before, ranked.c.day))) - func.min(case((before, ranked.c.day)))).label("t_x"),
            (literal(cut) - func.min(case((before, ranked.c.day)))).label("T"),
            func.sum(case((and_(before, ranked.c.seq > 1), ranked.c.amount))).label("repeat_amount"),
            func.count(case((ranked.c.day >= cut, 1))).label("holdout"),
        )
        .group_by(ranked.c.customer_id)
        .having(func.min(ranked.c.day) < cut)
        .order_by(ranked.c.customer_id)
    )
    frame = pd.DataFrame(connection.execute(query).all(),
                         columns=["customer_id", "x", "t_x", "T", "repeat_amount", "holdout"])
    frame = frame.astype({"customer_id": "int64", "x": "int64", "t_x": "float64", "T": "float64",
                          "holdout": "int64"})
    repeat = pd.to_numeric(frame.pop("repeat_amount"), errors="coerce")
    frame["spend"] = (repeat / frame["x"]).where(frame["x"] > 0)
    return frame[COLUMNS]
