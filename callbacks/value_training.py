"""Retraining the value and churn models from the page: a background job with progress that refreshes the
derived data with the chosen settings and builds the new snapshot, so the next view is quick."""
from __future__ import annotations

from dash import Output, Input, State

from dashapp.background import JobEnvironment, requester
from layouts import value as ids
from services import audit
from services.analytics.snapshot import ensure_snapshot
from services.db import make_engine, session_scope
from services.models import ANALYST_ROLES
from services.refresh import refresh
from services.value.training import ValueSettings

NOT_ALLOWED = "Analysts and administrators retrain the models."


def settings_of(horizon, discount_percent) -> ValueSettings:
    """The page's settings, checked (ValueError with a message for the page)."""
    try:
        horizon_days, discount = float(horizon), float(discount_percent) / 100
    except (TypeError, ValueError):
        raise ValueError("Give the churn horizon in days and the monthly discount rate in percent.") from None
    if not horizon_days.is_integer():
        raise ValueError("The churn horizon is a whole number of days.")
    return ValueSettings(horizon=int(horizon_days), monthly_discount=discount).checked()


def running() -> list:
    return [(Output(ids.TRAIN, "disabled"), True, False), (Output(ids.CANCEL, "disabled"), False, True)]


def register(app, jobs: JobEnvironment) -> None:
    @app.callback(
        Output(ids.STATUS, "children"), Output(ids.TRAINED, "data"),
        Input(ids.TRAIN, "n_clicks"), State(ids.HORIZON, "value"), State(ids.DISCOUNT, "value"),
        background=True, running=running(), cancel=[Input(ids.CANCEL, "n_clicks")],
        progress=[Output(ids.PROGRESS, "value"), Output(ids.STATUS, "children")], prevent_initial_call=True,
    )
    def train(set_progress, _clicks, horizon, discount):
        who = requester()
        if who is None or who.role not in ANALYST_ROLES:
            return NOT_ALLOWED, None
        try:
            settings = settings_of(horizon, discount)
        except ValueError as error:
            return str(error), None
        set_progress((1, "Starting…"))
        engine = make_engine(jobs.database_url)
        try:
            version = refresh(engine, settings, lambda done, text: set_progress((round(90 * done), text)),
                              trained_by=who.username)
            set_progress((92, "Building the analytics snapshot…"))
            ensure_snapshot(engine, jobs.analytics_dir)
            with session_scope(engine) as session:
                audit.record(session, "train models", who.username, horizon=settings.horizon,
                             monthly_discount=settings.monthly_discount, data_version=version)
        finally:
            engine.dispose()
        set_progress((100, "Done."))
        return f"Retrained: the scores are data version {version}. Other tabs show them on their next update.", \
            version
