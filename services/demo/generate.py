"""The demo run: writes every table batch by batch in one transaction and reports what it planted."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, Engine, Table, select

from services import models
from services.bulk_load import advance_sequences, insert_rows, sqlite_bulk_cache
from services.demo import plan
from services.demo.assignments import assign_variants, assignment_rows
from services.demo.calendar import Calendar, build_calendar
from services.demo.config import DemoConfig, PlantedTruths
from services.demo.coupons import EVENTS, coupon_event_rows
from services.demo.customers import Batch, draw_customers
from services.demo.fixed_tables import branch_rates, write_branches, write_campaigns, write_coupons
from services.demo.groups import GROUPS
from services.demo.orders import order_rows
from services.demo.surveys import survey_rows

Progress = Callable[[str], None]

_TABLES = (models.Branch, models.Campaign, models.Coupon, models.Customer, models.Transaction, models.CouponEvent,
           models.CampaignAssignment, models.SurveyResponse)


@dataclass(frozen=True)
class _Setup:
    """What every batch needs from the fixed tables."""

    cal: Calendar
    branch_rows: dict[str, np.ndarray]
    branch_rates: dict[int, tuple[float, float]]
    campaign_ids: dict[str, int]


@dataclass
class _Tally:
    """Rows written so far (the next ids follow them) and the planted facts counted on the way."""

    low_burn_branches: tuple[str, ...]
    transactions: int = 0
    events: int = 0
    assignments: int = 0
    surveys: int = 0
    funnel: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EVENTS, 0))
    groups: dict[str, int] = field(default_factory=lambda: {g.name: 0 for g in GROUPS})
    assigned: dict[str, int] = field(default_factory=lambda: {"control": 0, "treatment": 0})
    top_buyers: list[tuple[int, str, str]] = field(default_factory=list)  # (rank, external id, name)

    def count(self, batch: Batch, customers: dict[str, np.ndarray], events: dict[str, np.ndarray],
              ab_variants: np.ndarray) -> None:
        """Add a written batch's groups, coupon events, A/B test variants and top buyers."""
        for g, n in zip(*np.unique(batch.group, return_counts=True)):
            self.groups[GROUPS[g].name] += int(n)
        for event, n in zip(*np.unique(events["event"], return_counts=True)):
            self.funnel[str(event)] += int(n)
        for variant in self.assigned:
            self.assigned[variant] += int((ab_variants == variant).sum())
        for row in np.flatnonzero(batch.top >= 0):
            self.top_buyers.append((int(batch.top[row]), str(customers["external_id"][row]),
                                    str(customers["name"][row])))


def generate_demo_data(engine: Engine, config: DemoConfig, progress: Progress | None = None) -> PlantedTruths:
    """Write the demo data set into an empty database in one transaction; returns what was planted."""
    config.check()
    report = progress or (lambda _message: None)
    cal = build_calendar()
    setup_seed, batches_seed = np.random.SeedSequence(config.seed).spawn(2)
    with engine.begin() as connection:
        _check_empty(connection)
        with sqlite_bulk_cache(connection):
            report("Writing branches, campaigns and coupons")
            setup, tally = _write_fixed_tables(connection, cal, np.random.default_rng(setup_seed))
            batch_seeds = batches_seed.spawn((config.customers + config.batch_size - 1) // config.batch_size)
            for index, seed in enumerate(batch_seeds):
                first = index * config.batch_size + 1
                size = min(config.batch_size, config.customers - first + 1)
                _write_batch(connection, np.random.default_rng(seed), setup, tally, first, size)
                report(f"Customers {first:,}-{first + size - 1:,} of {config.customers:,} written "
                       f"({tally.transactions:,} transactions so far)")
        advance_sequences(connection, [m.__table__ for m in _TABLES])
    report("Demo data complete")
    return _truths(config, tally)


def planted_groups(engine: Engine) -> dict[str, list[str]]:
    """Behavioural group -> customer external ids, read back from `customers.attributes`."""
    c = models.Customer.__table__.c
    out: dict[str, list[str]] = {}
    with engine.connect() as connection:
        for external_id, attributes in connection.execute(select(c.external_id, c.attributes).order_by(c.id)):
            if attributes and plan.GROUP_ATTRIBUTE in attributes:
                out.setdefault(attributes[plan.GROUP_ATTRIBUTE], []).append(external_id)
    return out


def _check_empty(connection: Connection) -> None:
    filled = [m.__tablename__ for m in _TABLES
              if connection.execute(select(m.__table__.c.id).limit(1)).first() is not None]
    if filled:
        raise ValueError(
            "Demo data can only be generated into an empty database; these tables already hold rows: "
            + ", ".join(filled) + "."
        )


def _write_fixed_tables(connection: Connection, cal: Calendar, rng: np.random.Generator) -> tuple[_Setup, _Tally]:
    branch_rows = write_branches(connection)
    rates, low_burn = branch_rates(rng)
    campaign_ids = write_campaigns(connection)
    write_coupons(connection, cal, campaign_ids)
    return _Setup(cal, branch_rows, rates, campaign_ids), _Tally(low_burn_branches=low_burn)


def _write_batch(connection: Connection, rng: np.random.Generator, setup: _Setup, tally: _Tally,
                 first: int, size: int) -> None:
    """Draw and write the customers `first`.. (`size` of them) and everything they did."""
    cal, campaign_ids = setup.cal, setup.campaign_ids
    batch, customers = draw_customers(rng, cal, first, size, first == 1, setup.branch_rows)
    assign_variants(rng, batch)
    orders = order_rows(rng, cal, batch, tally.transactions + 1, campaign_ids, setup.branch_rows)
    events = coupon_event_rows(rng, cal, batch, orders, setup.branch_rates)
    events["id"] = np.arange(tally.events + 1, tally.events + 1 + len(events["event"]))
    assignments = assignment_rows(rng, batch, campaign_ids)
    assignments["id"] = np.arange(tally.assignments + 1, tally.assignments + 1 + len(assignments["variant"]))
    surveys = survey_rows(rng, cal, batch, orders)
    surveys["id"] = np.arange(tally.surveys + 1, tally.surveys + 1 + len(surveys["nps_score"]))

    _write(connection, models.Customer.__table__, customers)
    tally.transactions += _write(connection, models.Transaction.__table__, orders)
    tally.events += _write(connection, models.CouponEvent.__table__, events)
    tally.assignments += _write(connection, models.CampaignAssignment.__table__, assignments)
    tally.surveys += _write(connection, models.SurveyResponse.__table__, surveys)
    in_ab_test = assignments["campaign_id"] == campaign_ids[plan.AB_TEST]
    tally.count(batch, customers, events, assignments["variant"][in_ab_test])


def _write(connection: Connection, table: Table, columns: dict[str, np.ndarray]) -> int:
    """Insert the columns of the table; helper columns (named `_...`) stay behind."""
    return insert_rows(connection, table, {k: v for k, v in columns.items() if not k.startswith("_")})


def _truths(config: DemoConfig, tally: _Tally) -> PlantedTruths:
    return PlantedTruths(
        seed=config.seed,
        customers=config.customers,
        transactions=tally.transactions,
        period_start=plan.PERIOD_START,
        period_end=plan.PERIOD_END,
        ab_test_campaign=plan.AB_TEST,
        ab_test_window=plan.AB_WINDOW,
        ab_test_discount_pct=plan.AB_DISCOUNT_PCT,
        ab_test_planned_purchase_lift=plan.AB_LIFT,
        ab_test_assigned=tally.assigned,
        other_campaigns=(plan.EMAIL, plan.LOYALTY),
        group_attribute=plan.GROUP_ATTRIBUTE,
        groups=tally.groups,
        group_descriptions={g.name: g.description for g in GROUPS},
        top_buyers=tuple((ext, name) for _, ext, name in sorted(tally.top_buyers)),
        low_burn_branches=tally.low_burn_branches,
        planned_claim_rate=plan.CLAIM_RATE,
        planned_burn_rate=plan.BURN_RATE,
        coupon_funnel=tally.funnel,
        survey_responses=tally.surveys,
    )
