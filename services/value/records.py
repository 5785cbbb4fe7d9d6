"""Trained models on record and the scores they gave: written with the refresh that trained them.

Each training adds one `value_models` row per model, tied to the data version it scored; the
page shows the latest, and the next refresh trains with the settings chosen last.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Column, Connection, Float, Integer, MetaData, Table, select, update

from services.bulk_load import insert_rows
from services.models import CustomerSummary, ValueModelRecord
from services.value.training import SCORE_COLUMNS, Trained, ValueSettings

S = CustomerSummary.__table__.c
KINDS = ("value", "churn")


@dataclass(frozen=True)
class ModelInfo:
    id: int
    kind: str
    data_version: int
    trained_at: dt.datetime
    trained_by: str | None
    settings: dict
    report: dict
    seconds: float

    @property
    def trained(self) -> bool:
        return self.report.get("status") == "trained"


def record(connection: Connection, trained: Trained, data_version: int, trained_by: str | None) -> None:
    """One row per model, in the caller's transaction."""
    settings = asdict(trained.settings)
    rows = [("value", trained.value_report, None, trained.value_seconds),
            ("churn", trained.churn_report, trained.churn_model, trained.churn_seconds)]
    for kind, report, model, seconds in rows:
        connection.execute(ValueModelRecord.__table__.insert().values(
            kind=kind, data_version=data_version, trained_by=trained_by, settings=settings, report=json_ready(report),
            model=model, seconds=round(seconds, 3)))


def json_ready(value):
    """The report with NaN and infinities as null (JSON has neither; PostgreSQL refuses them)."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def latest(connection: Connection, kind: str) -> ModelInfo | None:
    """The most recent training of one model (its pipeline stays in the database)."""
    m = ValueModelRecord.__table__.c
    row = connection.execute(
        select(m.id, m.kind, m.data_version, m.trained_at, m.trained_by, m.settings, m.report, m.seconds)
        .where(m.kind == kind).order_by(m.id.desc()).limit(1)).first()
    return ModelInfo(*row) if row else None


def stored_settings(connection: Connection) -> ValueSettings:
    """The settings of the latest training (the defaults before the first one, or if those are no longer valid)."""
    last = latest(connection, "churn")
    try:
        return ValueSettings.from_dict(last.settings if last else None).checked()
    except (TypeError, ValueError):
        return ValueSettings()


def write_scores(connection: Connection, scores: pd.DataFrame) -> None:
    """Set the scores of freshly inserted summary rows (whose scores are NULL): through a staging table, one
    UPDATE instead of one per customer."""
    if scores.empty:
        return
    staging = Table("value_score_staging", MetaData(), Column("customer_id", Integer, primary_key=True),
                    *(Column(name, Float) for name in SCORE_COLUMNS[1:]), prefixes=["TEMPORARY"])
    staging.create(connection)
    try:
        insert_rows(connection, staging, {name: scores[name] for name in SCORE_COLUMNS})
        connection.execute(update(CustomerSummary).where(S.customer_id == staging.c.customer_id)
                           .values({name: staging.c[name] for name in SCORE_COLUMNS[1:]}))
    finally:
        staging.drop(connection)
