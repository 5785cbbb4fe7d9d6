"""SQLAlchemy 2.0 typed models: business data, derived data and application data.

Money is stored as double precision: the product aggregates millions of rows and the
analytics work in floats; amounts are rounded to cents on the way in.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

COUPON_EVENTS = ("issued", "claimed", "burned", "expired")
ROLES = ("admin", "analyst", "viewer")
ANALYST_ROLES = frozenset({"analyst", "admin"})  # run segmentations, read campaign experiments
GENDERS = ("Female", "Male", "Other", "Unknown")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# ---------------------------------------------------------------- business data
class Branch(Base):
    __tablename__ = "branches"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    city: Mapped[str] = mapped_column(String(80))
    country: Mapped[str] = mapped_column(String(80))


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    discount_pct: Mapped[float | None] = mapped_column(Float)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    planned_treatment_share: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str | None] = mapped_column(Text)


class Coupon(Base):
    __tablename__ = "coupons"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    discount_pct: Mapped[float | None] = mapped_column(Float)
    discount_amount: Mapped[float | None] = mapped_column(Float)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date] = mapped_column(Date)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(120))
    gender: Mapped[str] = mapped_column(String(16), default="Unknown")
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    age: Mapped[int | None] = mapped_column(Integer)  # when only an age is known
    country: Mapped[str | None] = mapped_column(String(80))
    city: Mapped[str | None] = mapped_column(String(80))
    income: Mapped[float | None] = mapped_column(Float)
    children: Mapped[int | None] = mapped_column(Integer)
    marital_status: Mapped[str | None] = mapped_column(String(24))
    signup_date: Mapped[dt.date | None] = mapped_column(Date)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_customer_ordered", "customer_id", "ordered_at"),
        Index("ix_transactions_ordered_at", "ordered_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    ordered_at: Mapped[dt.datetime] = mapped_column(DateTime)
    amount: Mapped[float] = mapped_column(Float)  # net revenue, after discount
    discount: Mapped[float] = mapped_column(Float, default=0.0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    category: Mapped[str | None] = mapped_column(String(60))
    channel: Mapped[str | None] = mapped_column(String(30))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))


class CouponEvent(Base):
    __tablename__ = "coupon_events"
    __table_args__ = (
        CheckConstraint(f"event IN {COUPON_EVENTS}", name="event"),
        Index("ix_coupon_events_coupon_event", "coupon_id", "event"),
        Index("ix_coupon_events_customer", "customer_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    event: Mapped[str] = mapped_column(String(10))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))


class CampaignAssignment(Base):
    """One row per assignment; a customer assigned twice shows up as two rows (a health check)."""

    __tablename__ = "campaign_assignments"
    __table_args__ = (Index("ix_campaign_assignments_campaign_customer", "campaign_id", "customer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    variant: Mapped[str] = mapped_column(String(30))
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (
        CheckConstraint("nps_score BETWEEN 0 AND 10", name="nps_range"),
        Index("ix_survey_responses_customer", "customer_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    answered_at: Mapped[dt.datetime] = mapped_column(DateTime)
    nps_score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)


# ---------------------------------------------------------------- derived data
class CustomerSummary(Base):
    """One row per customer, rebuilt by `services.refresh`; never edited by hand."""

    __tablename__ = "customer_summary"
    __table_args__ = (
        Index("ix_customer_summary_country", "country"),
        Index("ix_customer_summary_profile", "profile"),
        Index("ix_customer_summary_rfm_segment", "rfm_segment"),
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    gender: Mapped[str] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(80))
    city: Mapped[str | None] = mapped_column(String(80))
    age: Mapped[int | None] = mapped_column(Integer)
    age_bracket: Mapped[str] = mapped_column(String(16))
    income: Mapped[float | None] = mapped_column(Float)
    children: Mapped[int | None] = mapped_column(Integer)
    family_status: Mapped[str] = mapped_column(String(20))
    marital_status: Mapped[str | None] = mapped_column(String(24))
    orders: Mapped[int] = mapped_column(Integer)
    revenue: Mapped[float] = mapped_column(Float)
    profit: Mapped[float] = mapped_column(Float)
    discount: Mapped[float] = mapped_column(Float)
    first_order_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_order_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    recency_days: Mapped[int | None] = mapped_column(Integer)
    tenure_days: Mapped[int | None] = mapped_column(Integer)
    active_years: Mapped[int] = mapped_column(Integer)
    coupon_orders: Mapped[int] = mapped_column(Integer)
    profile: Mapped[str] = mapped_column(String(20))
    r_score: Mapped[int | None] = mapped_column(Integer)
    f_score: Mapped[int | None] = mapped_column(Integer)
    m_score: Mapped[int | None] = mapped_column(Integer)
    rfm_segment: Mapped[str | None] = mapped_column(String(30))
    # Scored by the value and churn models at each refresh (NULL where no model could be fitted).
    clv_12m: Mapped[float | None] = mapped_column(Float)  # discounted value of the next 12 months
    purchases_12m: Mapped[float | None] = mapped_column(Float)  # expected purchase days in the next 12 months
    p_alive: Mapped[float | None] = mapped_column(Float)  # probability of still being a customer
    churn_risk: Mapped[float | None] = mapped_column(Float)  # probability of no order in the churn horizon
    revenue_at_risk: Mapped[float | None] = mapped_column(Float)  # churn risk x the last year's revenue


class DataVersion(Base):
    """One row per refresh; the highest id is the current data version."""

    __tablename__ = "data_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    refreshed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    reference_date: Mapped[dt.date | None] = mapped_column(Date)
    customers: Mapped[int] = mapped_column(Integer)
    transactions: Mapped[int] = mapped_column(Integer)


# ---------------------------------------------------------------- application data
class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES}", name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    active: Mapped[bool] = mapped_column(default=True)
    country_scope: Mapped[list[str] | None] = mapped_column(JSON)  # None: all countries
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_occurred_at", "occurred_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))


SEGMENT_KINDS = ("rfm", "cluster", "filters", "churn")


class ValueModelRecord(Base):
    """One training of the value or the churn model: on which data, with which settings, how well it did."""

    __tablename__ = "value_models"
    __table_args__ = (Index("ix_value_models_kind_trained_at", "kind", "trained_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # value | churn
    data_version: Mapped[int] = mapped_column(Integer)
    trained_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    trained_by: Mapped[str | None] = mapped_column(String(64))  # None: the refresh
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)  # parameters, metrics, curves, or why none was fitted
    model: Mapped[bytes | None] = mapped_column(LargeBinary)  # the fitted scikit-learn Pipeline (joblib)
    seconds: Mapped[float] = mapped_column(Float)


class SavedClustering(Base):
    """A clustering run kept for later: its settings, cluster names and the fitted pipeline."""

    __tablename__ = "saved_clusterings"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # features, scaling, algorithm, k, ...
    clusters: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # cluster, name, description, action, customers
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pipeline: Mapped[bytes] = mapped_column(LargeBinary)  # the fitted scikit-learn Pipeline (joblib)
    data_version: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class SavedSegment(Base):
    """A named set of customers, frozen at saving; its id never returns once deleted, so
    cached answers keyed on it cannot be mistaken for another segment's."""

    __tablename__ = "saved_segments"
    __table_args__ = (CheckConstraint(f"kind IN {SEGMENT_KINDS}", name="kind"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # how it was made, for the record
    kind: Mapped[str] = mapped_column(String(10), default="filters")
    customers: Mapped[int] = mapped_column(Integer, default=0)
    clustering_id: Mapped[int | None] = mapped_column(ForeignKey("saved_clusterings.id", ondelete="SET NULL"))
    cluster: Mapped[int | None] = mapped_column(Integer)
    data_version: Mapped[int | None] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class SavedSegmentMember(Base):
    __tablename__ = "saved_segment_members"
    segment_id: Mapped[int] = mapped_column(
        ForeignKey("saved_segments.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)


class ImportJob(Base):
    __tablename__ = "import_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed
    rows: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
