"""Imported coupon events that break the funnel (burns without an earlier claim) are reported, not fatal.

A real import through the CSV importer and the refresh, then the snapshot and the coupon services.
"""
from __future__ import annotations

import pytest

from services.analytics.snapshot import ensure_snapshot, open_snapshot
from services.analytics.warehouse import Warehouse
from services.coupons.funnel import data_quality, funnel
from services.coupons.view import coupon_view
from services.filters import Filters, filter_options
from services.importer import import_csv

CUSTOMERS = b"customer_id,name,gender,country,city\nc1,Ann,Female,Canada,Toronto\nc2,Bob,Male,Canada,Toronto\n"
ORDERS = (b"order_id,customer_id,ordered_at,amount,coupon_code\n"
          b"o1,c1,2024-03-02 10:00,40.0,SPRING\no2,c2,2024-03-03 11:00,25.0,SPRING\n"
          b"o3,c2,2024-03-20 11:00,30.0,SPRING\n")
# c1 claims, then burns: fine. c2 burns twice after a single claim, and the claim comes after the first burn.
EVENTS = (b"customer_id,coupon_code,event,occurred_at,branch,order_id\n"
          b"c1,SPRING,claimed,2024-03-01 09:00,Toronto Eaton Centre,\n"
          b"c1,SPRING,burned,2024-03-02 10:00,Toronto Eaton Centre,o1\n"
          b"c2,SPRING,burned,2024-03-03 11:00,Toronto Eaton Centre,o2\n"
          b"c2,SPRING,claimed,2024-03-10 09:00,Toronto Eaton Centre,\n"
          b"c2,SPRING,burned,2024-03-20 11:00,Toronto Eaton Centre,o3\n")


@pytest.fixture
def warehouse(engine, tmp_path):
    for kind, data in (("customers", CUSTOMERS), ("transactions", ORDERS), ("coupon_events", EVENTS)):
        result = import_csv(engine, kind, data, filename=f"{kind}.csv")
        assert not result.errors, result.errors
    snapshot = open_snapshot(ensure_snapshot(engine, tmp_path))
    yield Warehouse(snapshot.cursor(), engine)
    snapshot.close()


def test_a_burn_before_its_claim_is_reported_and_still_counted(engine, warehouse):
    with engine.connect() as connection:
        options = filter_options(connection, None)
    view = coupon_view(warehouse, Filters(), options)
    quality = data_quality(warehouse, view)
    assert (quality.unclaimed_burns, quality.customers, quality.ok) == (1, 1, False)
    result = funnel(warehouse, view)
    assert (result.claimed, result.burned) == (2, 3)
    assert result.burn_rate == pytest.approx(1.5)  # the warning says why a rate above 100% is possible
