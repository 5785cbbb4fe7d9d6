"""The active filters as one typed value object, its URL form, and the options it may take.

Values from the browser are untrusted: parsing drops what is not a valid choice, and the
user's data scope is applied by the server, never read from the browser.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs, urlencode

from sqlalchemy import Connection, func, select

from services.models import GENDERS, CustomerSummary, Transaction
from services.rules import AGE_BRACKET_LABELS
from services.sql_functions import as_date

S = CustomerSummary.__table__.c


def scope_key(scope: tuple[str, ...] | None) -> str:
    """The data scope as part of a cache key: "*" for all countries."""
    return ",".join(scope) if scope is not None else "*"


@dataclass(frozen=True)
class Filters:
    start: dt.date | None = None
    end: dt.date | None = None
    countries: tuple[str, ...] = ()
    genders: tuple[str, ...] = ()
    age_brackets: tuple[str, ...] = ()
    segment_id: int | None = None
    scope: tuple[str, ...] | None = field(default=None, compare=True)  # countries the user may see

    def with_scope(self, scope: tuple[str, ...] | None) -> "Filters":
        return replace(self, scope=scope)

    def to_query(self) -> dict[str, str]:
        """The URL query form (without the scope, which never travels to the browser)."""
        query = {
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "country": ",".join(self.countries),
            "gender": ",".join(self.genders),
            "age": ",".join(self.age_brackets),
            "segment": str(self.segment_id) if self.segment_id else "",
        }
        return {key: value for key, value in query.items() if value}

    def to_search(self) -> str:
        query = urlencode(self.to_query())
        return f"?{query}" if query else ""

    def cache_key(self) -> str:
        return f"{urlencode(self.to_query())}|scope={scope_key(self.scope)}"


@dataclass(frozen=True)
class FilterOptions:
    countries: tuple[str, ...]
    first_date: dt.date | None
    last_date: dt.date | None
    genders: tuple[str, ...] = GENDERS
    age_brackets: tuple[str, ...] = AGE_BRACKET_LABELS
    segments: tuple[tuple[int, str], ...] = ()  # saved segments: (id, name)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _choices(values, allowed) -> tuple[str, ...]:
    """Valid choices only, in the order of `allowed`, without duplicates."""
    chosen = {value for value in values or () if isinstance(value, str)}
    return tuple(option for option in allowed if option in chosen)


def parse_filters(start: str | None, end: str | None, countries, genders, age_brackets,
                  options: FilterOptions, segment_id=None) -> Filters:
    """Filters from untrusted browser values; invalid entries are dropped, dates ordered."""
    start_date, end_date = _date(start), _date(end)
    if start_date and end_date and start_date > end_date:
        start_date, end_date = end_date, start_date
    segment = int(segment_id) if str(segment_id or "").isdigit() else None
    if segment not in {known for known, _ in options.segments}:
        segment = None
    return Filters(start_date, end_date, _choices(countries, options.countries),
                   _choices(genders, options.genders), _choices(age_brackets, options.age_brackets),
                   segment)


def parse_search(search: str | None, options: FilterOptions) -> Filters:
    """Filters from a URL query string such as `?from=2021-01-01&country=Australia`."""
    query = parse_qs((search or "").lstrip("?"))

    def first(key: str) -> str | None:
        return query.get(key, [None])[0]

    def listed(key: str) -> list[str]:
        return [part for value in query.get(key, []) for part in value.split(",") if part]

    return parse_filters(first("from"), first("to"), listed("country"), listed("gender"),
                         listed("age"), options, first("segment"))


def filter_options(connection: Connection, scope: tuple[str, ...] | None) -> FilterOptions:
    """Countries the user may see and the date range of the data."""
    countries = select(S.country).where(S.country.is_not(None)).distinct().order_by(S.country)
    if scope is not None:
        countries = countries.where(S.country.in_(scope))
    # Two queries, not one: SQLite answers a lone MIN or MAX from the index in O(log n).
    first = connection.scalar(select(func.min(Transaction.ordered_at)))
    last = connection.scalar(select(func.max(Transaction.ordered_at)))
    return FilterOptions(tuple(connection.scalars(countries)), as_date(first), as_date(last))

