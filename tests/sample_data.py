"""A small, hand-checkable data set for web tests (independent of the demo generator)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert

from services.models import Customer, Transaction

CUSTOMERS = [
    # id, external id, gender, birth date, country, city, children
    (1, "S001", "Female", dt.date(1980, 5, 1), "United States", "Chicago", 2),
    (2, "S002", "Male", dt.date(1975, 2, 3), "United States", "Boston", 0),
    (3, "S003", "Female", dt.date(1990, 8, 9), "Australia", "Sydney", 1),
    (4, "S004", "Male", dt.date(1962, 1, 20), "Australia", "Perth", 3),
    (5, "S005", "Other", dt.date(2000, 12, 12), "Canada", "Toronto", 0),
]
ORDERS = [
    # customer id, ordered at, amount, cost
    (1, dt.datetime(2022, 3, 1, 10), 120.0, 70.0),
    (1, dt.datetime(2023, 11, 20, 12), 80.0, 50.0),
    (2, dt.datetime(2021, 6, 5, 9), 45.5, 30.0),
    (3, dt.datetime(2023, 12, 1, 15), 300.0, 200.0),
    (4, dt.datetime(2020, 1, 15, 11), 60.0, 40.0),
    (4, dt.datetime(2023, 12, 30, 18), 90.0, 55.0),
]


def load_sample(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(insert(Customer), [
            dict(id=i, external_id=e, name=f"Customer {e}", gender=g, birth_date=b, country=c, city=city, children=k)
            for i, e, g, b, c, city, k in CUSTOMERS
        ])
        connection.execute(insert(Transaction), [
            dict(customer_id=c, ordered_at=t, amount=a, cost=cost, discount=0.0, quantity=1)
            for c, t, a, cost in ORDERS
        ])
