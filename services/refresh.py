"""Rebuild the derived data (`customer_summary`) in SQL and bump the data version.

The whole rebuild is one database transaction: readers see the old summary until the
new one is complete. The reference date is the latest order in the data, so a historical
data set is judged as of its own end.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Numeric,
    and_,
    case,
    cast,
    delete,
    distinct,
    extract,
    func,
    insert,
    literal,
    select,
    text,
    update,
)

from services.models import Customer, CustomerSummary, DataVersion, Transaction
from services.rules import (
    AGE_BRACKETS,
    FAMILY_WITH_CHILDREN,
    FAMILY_WITHOUT_CHILDREN,
    RFM_SEGMENT_MAP,
    THRESHOLDS,
    UNKNOWN,
)
from services.sql_functions import as_date, days_between, years_between
from services.value.records import record, stored_settings, write_scores
from services.value.training import Progress, ValueSettings, train

S = CustomerSummary.__table__.c


def refresh(engine: Engine, settings: ValueSettings | None = None, progress: Progress | None = None,
            trained_by: str | None = None) -> int:
    """Rebuild `customer_summary` with the value and churn scores; returns the new data version.

    The models learn first, on a reading connection (minutes on millions of customers), so the
    writing transaction stays short. `settings`: the models' (default: those chosen last).
    """
    with engine.connect() as connection:
        reference = reference_date(connection)
        settings = (settings or stored_settings(connection)).checked()
        trained = train(connection, reference, settings, progress) if reference is not None else None
    with engine.begin() as connection:
        connection.execute(delete(CustomerSummary))
        if reference is not None:
            _insert_summary(connection, reference)
            _mark_vips(connection)
            _score_rfm(connection)
        version = _bump_version(connection, reference)
        if trained is not None:
            write_scores(connection, trained.scores)
            record(connection, trained, version, trained_by)
        # Fresh planner statistics: without them SQLite walks the wrong index on big joins.
        connection.execute(text("ANALYZE"))
        return version


def reference_date(connection: Connection) -> dt.date | None:
    return as_date(connection.scalar(select(func.max(Transaction.ordered_at))))


def current_version(connection: Connection) -> int:
    return connection.scalar(select(func.coalesce(func.max(DataVersion.id), 0)))


def _per_customer_orders():
    t = Transaction.__table__.c
    return (
        select(
            t.customer_id,
            func.count().label("orders"),
            func.sum(t.amount).label("revenue"),
            func.sum(t.amount - t.cost).label("profit"),
            func.sum(t.discount).label("discount"),
            func.min(t.ordered_at).label("first_order_at"),
            func.max(t.ordered_at).label("last_order_at"),
            func.count(distinct(extract("year", t.ordered_at))).label("active_years"),
            func.count(t.coupon_id).label("coupon_orders"),
        )
        .group_by(t.customer_id)
        .subquery("orders")
    )


def _age_bracket(age):
    whens = [(and_(age >= low, age <= high), label) for label, low, high in AGE_BRACKETS]
    return case(*whens, else_=UNKNOWN)


def _profile(orders, first_days_ago, last_days_ago, active_years):
    """Every rule but VIP, which needs the revenue percentile (see `_mark_vips`)."""
    tenure_years = case((first_days_ago > 365, first_days_ago / 365.0), else_=1.0)
    return case(
        (orders == 0, "Prospect"),
        (first_days_ago <= THRESHOLDS.new_within_days, "New"),
        (orders == 1, "One-time"),
        (
            and_(orders / tenure_years >= THRESHOLDS.loyal_orders_per_year,
                 last_days_ago <= THRESHOLDS.loyal_active_within_days),
            "Loyal",
        ),
        (active_years >= THRESHOLDS.periodic_min_years, "Periodic"),
        else_="Occasional",
    )


def _insert_summary(connection: Connection, reference: dt.date) -> None:
    c = Customer.__table__.c
    o = _per_customer_orders()
    ref = literal(reference, Date)
    age = func.coalesce(years_between(ref, c.birth_date), c.age)
    orders = func.coalesce(o.c.orders, 0)
    first_days_ago = days_between(ref, o.c.first_order_at)
    last_days_ago = days_between(ref, o.c.last_order_at)
    active_years = func.coalesce(o.c.active_years, 0)
    columns = {
        "customer_id": c.id,
        "gender": func.coalesce(c.gender, UNKNOWN),
        "country": c.country,
        "city": c.city,
        "age": age,
        "age_bracket": _age_bracket(age),
        "income": c.income,
        "children": c.children,
        "family_status": case(
            (c.children > 0, FAMILY_WITH_CHILDREN),
            (c.children == 0, FAMILY_WITHOUT_CHILDREN),
            else_=UNKNOWN,
        ),
        "marital_status": c.marital_status,
        "orders": orders,
        "revenue": func.coalesce(o.c.revenue, 0.0),
        "profit": func.coalesce(o.c.profit, 0.0),
        "discount": func.coalesce(o.c.discount, 0.0),
        "first_order_at": o.c.first_order_at,
        "last_order_at": o.c.last_order_at,
        "recency_days": last_days_ago,
        "tenure_days": first_days_ago,
        "active_years": active_years,
        "coupon_orders": func.coalesce(o.c.coupon_orders, 0),
        "profile": _profile(orders, first_days_ago, last_days_ago, active_years),
    }
    source = select(*(expr.label(name) for name, expr in columns.items())).select_from(
        Customer.__table__.outerjoin(o, o.c.customer_id == c.id)
    )
    connection.execute(insert(CustomerSummary).from_select(list(columns), source))


def _mark_vips(connection: Connection) -> None:
    buyers = connection.scalar(select(func.count()).where(S.orders > 0))
    if not buyers:
        return
    offset = min(int(buyers * THRESHOLDS.vip_revenue_percentile), buyers - 1)
    threshold = connection.scalar(
        select(S.revenue).where(S.orders > 0).order_by(S.revenue, S.customer_id).offset(offset).limit(1)
    )
    connection.execute(
        update(CustomerSummary)
        .where(S.revenue >= threshold, S.orders >= THRESHOLDS.vip_min_orders)
        .values(profile="VIP")
    )


def _rfm_segment(r, f):
    whens = [(and_(r.in_(rs), f.in_(fs)), name) for name, rs, fs in RFM_SEGMENT_MAP]
    return case(*whens, else_=None)


def _quintile(rank, n):
    """`rules.rfm_score` in SQL: ceil(5 (rank - 1) / (n - 1)) in integer arithmetic, at least 1."""
    return case((n == 1, 3), (rank == 1, 1), else_=((rank - 1) * 5 + n - 2) // (n - 1))


def _score_rfm(connection: Connection) -> None:
    """Quintile scores over buyers (see `rules.RFM_SCORE_RULE`)."""
    ranks = (
        select(
            S.customer_id,
            func.count().over().label("n"),
            func.row_number().over(order_by=(S.recency_days.desc(), S.customer_id)).label("r_rank"),
            func.row_number().over(order_by=(S.orders, S.customer_id)).label("f_rank"),
            # Rounded: equal revenues summed in another order differ in the last bits, and ties go by id.
            func.row_number().over(order_by=(func.round(cast(S.revenue, Numeric), 6), S.customer_id)).label("m_rank"),
        )
        .where(S.orders > 0)
        .subquery("ranks")
    )
    scores = select(
        ranks.c.customer_id,
        _quintile(ranks.c.r_rank, ranks.c.n).label("r"),
        _quintile(ranks.c.f_rank, ranks.c.n).label("f"),
        _quintile(ranks.c.m_rank, ranks.c.n).label("m"),
    ).subquery("scores")
    connection.execute(
        update(CustomerSummary)
        .where(S.customer_id == scores.c.customer_id)
        .values(
            r_score=scores.c.r,
            f_score=scores.c.f,
            m_score=scores.c.m,
            rfm_segment=_rfm_segment(scores.c.r, scores.c.f),
        )
    )


def _bump_version(connection: Connection, reference: dt.date | None) -> int:
    customers = connection.scalar(select(func.count()).select_from(Customer))
    transactions = connection.scalar(select(func.count()).select_from(Transaction))
    return connection.scalar(
        insert(DataVersion)
        .values(reference_date=reference, customers=customers, transactions=transactions,
                refreshed_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
        .returning(DataVersion.id)
    )
