"""Portable date arithmetic: one SQL function name, compiled per dialect."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Integer, extract
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement):
    """Whole calendar days from `earlier` to `later` (time of day ignored)."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


class years_between(FunctionElement):
    """Completed years from `earlier` to `later` (an age)."""

    type = Integer()
    inherit_cache = True
    name = "years_between"


def _args(element, compiler, **kw) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses]


@compiles(days_between, "sqlite")
def _days_sqlite(element, compiler, **kw):
    later, earlier = _args(element, compiler, **kw)
    return f"CAST(julianday(date({later})) - julianday(date({earlier})) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_postgresql(element, compiler, **kw):
    later, earlier = _args(element, compiler, **kw)
    return f"(CAST({later} AS DATE) - CAST({earlier} AS DATE))"


@compiles(years_between, "sqlite")
def _years_sqlite(element, compiler, **kw):
    later, earlier = _args(element, compiler, **kw)
    return (
        f"(CAST(strftime('%Y', {later}) AS INTEGER) - CAST(strftime('%Y', {earlier}) AS INTEGER)"
        f" - (strftime('%m-%d', {later}) < strftime('%m-%d', {earlier})))"
    )


@compiles(years_between, "postgresql")
def _years_postgresql(element, compiler, **kw):
    later, earlier = _args(element, compiler, **kw)
    return f"CAST(EXTRACT(YEAR FROM AGE(CAST({later} AS DATE), CAST({earlier} AS DATE))) AS INTEGER)"


def as_date(value) -> dt.date | None:
    """A DateTime column's value as a date (SQLite may hand back text for aggregates)."""
    if value is None:
        return None
    return value.date() if isinstance(value, dt.datetime) else dt.date.fromisoformat(str(value)[:10])


def month_parts(column) -> tuple:
    """The calendar year and month of a date column, portable across dialects."""
    return extract("year", column), extract("month", column)


def month_starts(years, months) -> pd.Series:
    """The first day of each (year, month) pair, as timestamps."""
    return pd.to_datetime({"year": pd.Series(years).astype(int), "month": pd.Series(months).astype(int), "day": 1})
