"""What the analytics services read from: the snapshot, plus the SQL database for application data.

A `Warehouse` lives for one request (or one benchmark step): it holds a DuckDB cursor of its
own, and remembers intermediate results so that the figures of one view share their scans.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TypeVar

import duckdb
import pandas as pd
from sqlalchemy import Engine, select

from services.filters import Filters
from services.models import SavedSegmentMember

Result = TypeVar("Result")


@dataclass
class Warehouse:
    snapshot: duckdb.DuckDBPyConnection  # a cursor of this thread's own
    sql: Engine | None = None  # the SQL database, for application data (saved segments)
    _memo: dict = field(default_factory=dict, repr=False)

    def frame(self, query: str, params: dict | None = None) -> pd.DataFrame:
        return self._execute(query, params).df()

    def row(self, query: str, params: dict | None = None) -> tuple | None:
        """The first row; the result is read to the end (a pending one blocks registering views later)."""
        rows = self._execute(query, params).fetchall()
        return rows[0] if rows else None

    def _execute(self, query: str, params: dict | None) -> duckdb.DuckDBPyConnection:
        """Run `query` with those of `params` it names (DuckDB refuses unused ones)."""
        used = {name: value for name, value in (params or {}).items() if re.search(rf"\${name}\b", query)}
        return self.snapshot.execute(query, used)

    def memo(self, key: Hashable, compute: Callable[[], Result]) -> Result:
        """`compute()` once per key for the life of this warehouse."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def selection(self, filters: Filters) -> "Selection":
        """The customers the filters and the scope let through, as conditions on the snapshot."""
        return self.memo(("selection", filters), lambda: self._selection(filters))

    def _selection(self, filters: Filters) -> "Selection":
        countries = filters.countries or None
        if filters.scope is not None:  # the scope always applies; chosen countries outside it select nobody
            countries = tuple(country for country in (filters.countries or filters.scope) if country in filters.scope)
        wanted = (("country_code", "country", countries), ("gender_code", "gender", filters.genders or None),
                  ("age_code", "age_bracket", filters.age_brackets or None))
        codes = tuple((code, self._codes(code, attribute, values))
                      for code, attribute, values in wanted if values is not None)
        segment = self.segment_members(filters.segment_id) if filters.segment_id is not None else None
        return Selection(codes, segment)

    def segment_members(self, segment_id: int) -> str:
        """The name of a registered view of a saved segment's members (customer_id)."""
        name = f"segment_{int(segment_id)}_members"
        self.memo(("members", name), lambda: self.snapshot.register(name, self._segment_members(segment_id)))
        return name

    def _codes(self, code: str, attribute: str, values: tuple[str, ...]) -> tuple[int, ...]:
        rows = self.snapshot.execute(f"SELECT DISTINCT {code} FROM cells WHERE list_contains($values, {attribute}) "
                                     f"ORDER BY 1", {"values": list(values)}).fetchall()
        return tuple(int(value) for (value,) in rows)

    def _segment_members(self, segment_id: int) -> pd.DataFrame:
        if self.sql is None:
            raise ValueError("a saved-segment filter needs the SQL database")
        with self.sql.connect() as connection:
            ids = connection.scalars(select(SavedSegmentMember.customer_id)
                                     .where(SavedSegmentMember.segment_id == segment_id)).all()
        return pd.DataFrame({"customer_id": pd.Series(ids, dtype="int64")})


@dataclass(frozen=True)
class Selection:
    """Customer conditions on any snapshot table with attribute codes (and `customer_id`, for segments)."""

    codes: tuple[tuple[str, tuple[int, ...]], ...]  # (code column, allowed codes); none: every customer
    segment: str | None  # the registered view of a saved segment's members the customers must be in

    @property
    def rollups_usable(self) -> bool:
        """The roll-ups know attribute cells, not customers: a segment needs the order facts."""
        return self.segment is None

    def rollup_where(self) -> str:
        """The attribute conditions, for the roll-ups (codes are integers from the snapshot, safe to inline)."""
        conditions = [f"{column} IN ({', '.join(map(str, allowed))})" if allowed else "FALSE"
                      for column, allowed in self.codes]
        return " AND ".join(conditions) or "TRUE"

    def where(self) -> str:
        """The whole condition, for tables with a row per customer, order or answer."""
        if self.segment is not None:
            return f"{self.rollup_where()} AND customer_id IN (SELECT customer_id FROM {self.segment})"
        return self.rollup_where()
