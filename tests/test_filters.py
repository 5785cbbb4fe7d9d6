"""The filter value object: untrusted values are cleaned, the URL form round-trips, scope stays server-side."""
from __future__ import annotations

import datetime as dt

from services.filters import FilterOptions, Filters, filter_options, parse_filters, parse_search
from services.refresh import refresh
from tests.sample_data import load_sample

OPTIONS = FilterOptions(("Australia", "Canada", "United States"), dt.date(2020, 1, 1), dt.date(2023, 12, 31))


def test_round_trip_through_the_url():
    filters = Filters(dt.date(2021, 1, 1), dt.date(2022, 6, 30), ("Australia", "Canada"), ("Female",), ("41-50",))
    assert parse_search(filters.to_search(), OPTIONS) == filters


def test_invalid_values_are_dropped():
    filters = parse_search("?from=yesterday&to=2022-13-45&country=Atlantis,Canada&gender=Robot&age=41-50,999",
                           OPTIONS)
    assert filters == Filters(None, None, ("Canada",), (), ("41-50",))


def test_non_string_values_from_the_browser_are_ignored():
    filters = parse_filters("2021-01-01", None, [{"x": 1}, "Canada", 3], None, "41-50", OPTIONS)
    assert filters.countries == ("Canada",) and filters.genders == () and filters.age_brackets == ()


def test_reversed_dates_are_ordered():
    filters = parse_filters("2023-05-01", "2021-01-01", [], [], [], OPTIONS)
    assert (filters.start, filters.end) == (dt.date(2021, 1, 1), dt.date(2023, 5, 1))


def test_scope_never_appears_in_the_url_but_in_the_cache_key():
    filters = Filters(countries=("Canada",)).with_scope(("Canada",))
    assert "scope" not in filters.to_search()
    assert filters.cache_key() != Filters(countries=("Canada",)).cache_key()


def test_filter_options_follow_the_scope(engine):
    load_sample(engine)
    refresh(engine)
    with engine.connect() as connection:
        everything = filter_options(connection, None)
        scoped = filter_options(connection, ("Australia",))
    assert everything.countries == ("Australia", "Canada", "United States")
    assert scoped.countries == ("Australia",)
    assert (everything.first_date, everything.last_date) == (dt.date(2020, 1, 15), dt.date(2023, 12, 30))
