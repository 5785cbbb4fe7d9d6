"""Branches, campaigns and coupons: the tables written once, before the customers."""
from __future__ import annotations

import numpy as np
from sqlalchemy import Connection

from services.bulk_load import insert_rows
from services.demo.arrays import nullable
from services.demo.calendar import Calendar
from services.demo.catalog import BRANCHES, COUNTRIES
from services.demo.plan import (
    AB_DISCOUNT_PCT,
    AB_LIFT,
    AB_TEST,
    AB_WINDOW,
    BURN_RATE,
    CLAIM_RATE,
    EMAIL,
    EMAIL_TREATMENT_SHARE,
    EMAIL_WINDOW,
    LOW_BURN_BRANCHES,
    LOYALTY,
    LOYALTY_WINDOW,
    PERIOD_START,
)
from services.models import Branch, Campaign, Coupon


def write_branches(connection: Connection) -> dict[str, np.ndarray]:
    """Write the branches; returns their id, city and country index for the generators."""
    countries = [c[0] for c in COUNTRIES]
    ids = np.arange(1, len(BRANCHES) + 1)
    insert_rows(connection, Branch.__table__, {
        "id": ids,
        "name": np.array([b[0] for b in BRANCHES], dtype=object),
        "city": np.array([b[1] for b in BRANCHES], dtype=object),
        "country": np.array([b[2] for b in BRANCHES], dtype=object),
    })
    return {
        "id": ids,
        "city": np.array([b[1] for b in BRANCHES], dtype=object),
        "country_index": np.array([countries.index(b[2]) for b in BRANCHES]),
    }


def branch_rates(rng: np.random.Generator) -> tuple[dict[int, tuple[float, float]], tuple[str, ...]]:
    """(claim rate, burn rate) per branch id, and the names of the low-burn branches."""
    # typical branches sit a little above the planned rates, which the low-burn ones pull down
    claim = rng.uniform(CLAIM_RATE - 0.09, CLAIM_RATE + 0.05, len(BRANCHES))
    burn = rng.uniform(BURN_RATE + 0.06, BURN_RATE + 0.20, len(BRANCHES))
    low = np.sort(rng.choice(len(BRANCHES), LOW_BURN_BRANCHES, replace=False))
    claim[low], burn[low] = 0.78, 0.22
    rates = {i + 1: (float(claim[i]), float(burn[i])) for i in range(len(BRANCHES))}
    return rates, tuple(BRANCHES[i][0] for i in low)


def write_campaigns(connection: Connection) -> dict[str, int]:
    """Write the three campaigns; returns their ids by name."""
    rows = (
        (AB_TEST, "ab_test", AB_DISCOUNT_PCT, AB_WINDOW, 5_000.0, 0.5,
         f"Randomised test: active customers paired by purchase rate, one of each pair gets "
         f"{AB_DISCOUNT_PCT:g}% off every order in the window. Goal: {AB_LIFT:+.0%} purchases per customer."),
        (EMAIL, "email", None, EMAIL_WINDOW, 12_000.0, EMAIL_TREATMENT_SHARE,
         "Holiday season e-mail series to active customers, with a holdout group."),
        (LOYALTY, "loyalty", 10.0, LOYALTY_WINDOW, 30_000.0, None,
         "Loyalty programme: regular customers get the LOYAL10-2023 coupon."),
    )
    insert_rows(connection, Campaign.__table__, {
        "id": np.arange(1, len(rows) + 1),
        "name": np.array([r[0] for r in rows], dtype=object),
        "kind": np.array([r[1] for r in rows], dtype=object),
        "discount_pct": np.array([r[2] for r in rows], dtype=object),
        "starts_on": np.array([r[3][0].isoformat() for r in rows], dtype="datetime64[D]"),
        "ends_on": np.array([r[3][1].isoformat() for r in rows], dtype="datetime64[D]"),
        "cost": np.array([r[4] for r in rows]),
        "planned_treatment_share": np.array([r[5] for r in rows], dtype=object),
        "description": np.array([r[6] for r in rows], dtype=object),
    })
    return {r[0]: i + 1 for i, r in enumerate(rows)}


def write_coupons(connection: Connection, cal: Calendar, campaign_ids: dict[str, int]) -> None:
    specs = cal.coupons
    start = np.datetime64(PERIOD_START.isoformat(), "D")
    campaign = np.array([campaign_ids.get(c, -1) for c in specs["campaign"]])
    pct, amount = specs["pct"], specs["amount"]
    insert_rows(connection, Coupon.__table__, {
        "id": np.arange(1, len(specs["code"]) + 1),
        "code": specs["code"].astype(object),
        "campaign_id": nullable(campaign, campaign > 0),
        "discount_pct": nullable(pct, ~np.isnan(pct)),
        "discount_amount": nullable(amount, ~np.isnan(amount)),
        "valid_from": start + specs["valid_from"].astype("timedelta64[D]"),
        "valid_to": start + specs["valid_to"].astype("timedelta64[D]"),
    })
