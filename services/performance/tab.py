"""The queries of the Customer performance tab, named; callbacks and the benchmark use the same list."""
from __future__ import annotations

from collections.abc import Callable

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

