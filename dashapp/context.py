"""What callbacks need from the web layer, handed to them as one plain object.

Callbacks stay free of Flask: they ask this object for the engine, the user's scope,
the filters, and for cached service results, and pass those to services.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from flask import abort, current_app, g, request
from flask_caching import Cache
from flask_login import current_user
from sqlalchemy import Connection, Engine

from dashapp.analytics import get_warehouse
from dashapp.background import JobEnvironment
from dashapp.cache import code_fingerprint, get_cache
from dashapp.database import get_engine, get_session
from layouts.shell import ShellUser
from services import audit
from services.analytics.warehouse import Warehouse
from services.filters import FilterOptions, Filters, filter_options, parse_search, scope_key
from services.refresh import current_version
from services.segmentation.saved import with_segments

Result = TypeVar("Result")


class RequestContext:
    """Accessors valid inside a request of a logged-in user."""

    def engine(self) -> Engine:
        return get_engine()

    def cache(self) -> Cache:
        return get_cache()

    def user(self) -> ShellUser:
        return ShellUser(current_user.username, current_user.role, current_user.country_scope)

    def user_id(self) -> int:
        return current_user.id

    def require_role(self, roles: frozenset[str]) -> None:
        """Refuse the request (403) unless the server-side user record has one of these roles."""
        if current_user.role not in roles:
            abort(403)

    def runs_dir(self) -> Path:
        """Where clustering runs wait to be saved (shared by the workers of this host)."""
        return JobEnvironment.from_settings(current_app.extensions["settings"]).runs_dir

    def scope(self) -> tuple[str, ...] | None:
        """The countries this user may see (None: all), from the server-side user record."""
        return current_user.country_scope

    def audit(self, action: str, **detail) -> None:
        """Record what the current user did (exports, saves) in the audit log."""
        session = get_session()
        audit.record(session, action, current_user.username, ip=request.remote_addr, **detail)
        session.commit()

    def data_version(self) -> int:
        """The current data version, read once per request."""
        if "data_version" not in g:
            with self.engine().connect() as connection:
                g.data_version = current_version(connection)
        return g.data_version

    def filter_options(self) -> FilterOptions:
        """The data's options (cached per data version) with the saved segments as they are now."""
        if "filter_options" not in g:
            scope = self.scope()
            options = self.cached(f"filter-options|{scope_key(scope)}",
                                  lambda connection: filter_options(connection, scope))
            with self.engine().connect() as connection:
                g.filter_options = with_segments(connection, options)
        return g.filter_options

    def filters(self, search: str | None) -> Filters:
        """The filters of a query string, checked against the options, with the user's scope applied."""
        return parse_search(search, self.filter_options()).with_scope(self.scope())

    def cached(self, key: str, compute: Callable[[Connection], Result]) -> Result:
        """`compute(connection)` on the SQL database, through the shared cache."""
        def produce() -> Result:
            with self.engine().connect() as connection:
                return compute(connection)
        return self.remember(key, produce)

    def analysed(self, key: str, compute: Callable[[Warehouse], Result]) -> Result:
        """`compute(warehouse)` on the analytics snapshot, through the shared cache."""
        return self.remember(key, lambda: compute(get_warehouse(self.data_version())))

    def remember(self, key: str, produce: Callable[[], Result]) -> Result:
        """The cached value, or `produce()`'s stored; the key gains the data version and the code's fingerprint.

        The caller's key must name everything the result depends on, the scope included
        (`Filters.cache_key()` carries it).
        """
        full_key = f"{key}|v{self.data_version()}|{code_fingerprint()}"
        value = self.cache().get(full_key)
        if value is None:
            value = produce()
            self.cache().set(full_key, value)
        return value
