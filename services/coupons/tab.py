"""The Coupons tab's queries, named: callbacks and the benchmark run the same list."""
from __future__ import annotations

from collections.abc import Callable

from services.coupons import activity, branches, catalog, funnel, retention, users

# name -> service(warehouse, view, *settings)
QUERIES: dict[str, Callable] = {
    "funnel": funnel.funnel,
    "quality": funnel.data_quality,
    "timeline": activity.timeline,
    "frequency": activity.usage_frequency,
    "branches": branches.branch_table,
    "users": users.user_attributes,
    "retention": retention.retention,
    "cohorts": retention.burn_cohorts,
    "coupons": catalog.coupon_table,
}
