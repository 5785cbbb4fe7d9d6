"""Everything the Customer performance tab shows, named; callbacks and benchmarks use the same list."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from services.filters import FilterOptions, Filters
from services.performance import breakdowns, cohorts, customers, kpis, trends
from services.performance.breakdowns import Dimension

Query = Callable[..., object]

# name -> (service, extra arguments after connection, filters, options)
QUERIES: dict[str, tuple[Query, tuple]] = {
    "kpis": (kpis.kpi_report, (kpis.DEFAULT_CHURN_DAYS,)),
    **{dimension.name.lower(): (breakdowns.breakdown, (dimension,)) for dimension in Dimension},
    "leading-countries": (breakdowns.leading_countries, ()),
    "cities": (breakdowns.top_cities, ()),
    "growth": (breakdowns.country_growth, ()),
    "monthly": (trends.monthly, ()),
    "cohorts": (cohorts.cohort_retention, ()),
    "top": (customers.top_customers, (customers.TOP_SIZES[0],)),
}


def tab_data(connection: Connection, filters: Filters, options: FilterOptions) -> dict[str, object]:
    """Every query of the tab with its default settings, uncached."""
    return {name: service(connection, filters, options, *args) for name, (service, args) in QUERIES.items()}
