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

    def row(self, query: str, params: dict | None = None) -> tuple:
        return self._execute(query, params).fetchone()

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
        cells = None
        conditions = [("country", filters.scope), ("country", filters.countries or None),
                      ("gender", filters.genders or None), ("age_bracket", filters.age_brackets or None)]
        wanted = [(column, list(values)) for column, values in conditions if values is not None]
        if wanted:
            where = " AND ".join(f"list_contains($values{i}, {column})" for i, (column, _) in enumerate(wanted))
            params = {f"values{i}": values for i, (_, values) in enumerate(wanted)}
            cells = tuple(int(cell) for (cell,) in self.snapshot.execute(
                f"SELECT cell FROM cells WHERE {where} ORDER BY cell", params).fetchall())
        if filters.segment_id is not None:
            members = self._segment_members(filters.segment_id)
            self.snapshot.register("segment_members", members)
        return Selection(cells, filters.segment_id is not None)

    def _segment_members(self, segment_id: int) -> pd.DataFrame:
        if self.sql is None:
            raise ValueError("a saved-segment filter needs the SQL database")
        with self.sql.connect() as connection:
            ids = connection.scalars(select(SavedSegmentMember.customer_id)
                                     .where(SavedSegmentMember.segment_id == segment_id)).all()
        return pd.DataFrame({"customer_id": pd.Series(ids, dtype="int64")})


@dataclass(frozen=True)
class Selection:
    """Customer conditions on any snapshot table with `cell` and `customer_id` columns."""

    cells: tuple[int, ...] | None  # None: every cell
    segment: bool  # restricted to the registered `segment_members`

    @property
    def rollups_usable(self) -> bool:
        """The roll-ups know cells, not customers: a segment needs the order facts."""
        return not self.segment

    def rollup_where(self) -> str:
        """The cell condition, for the roll-ups (cell numbers are integers from the snapshot, safe to inline)."""
        if self.cells is None:
            return "TRUE"
        return f"cell IN ({', '.join(map(str, self.cells))})" if self.cells else "FALSE"

    def where(self) -> str:
        """The whole condition, for tables with a row per customer, order or answer."""
        if self.segment:
            return f"{self.rollup_where()} AND customer_id IN (SELECT customer_id FROM segment_members)"
        return self.rollup_where()
