"""What callbacks need from the web layer, handed to them as one plain object.

Callbacks stay free of Flask: they ask this object for the engine, the user's scope,
the cache and the filter options, and pass those to services.
"""
from __future__ import annotations

from flask_caching import Cache
from flask_login import current_user
from sqlalchemy import Engine

from dashapp.cache import get_cache
from dashapp.database import get_engine
from layouts.shell import ShellUser
from services.filters import FilterOptions, filter_options, scope_key
from services.refresh import current_version


class RequestContext:
    """Accessors valid inside a request of a logged-in user."""

    def engine(self) -> Engine:
        return get_engine()

    def cache(self) -> Cache:
        return get_cache()

    def user(self) -> ShellUser:
        return ShellUser(current_user.username, current_user.role, current_user.country_scope)

    def scope(self) -> tuple[str, ...] | None:
        """The countries this user may see (None: all), from the server-side user record."""
        return current_user.country_scope

    def data_version(self) -> int:
        with self.engine().connect() as connection:
            return current_version(connection)

    def filter_options(self) -> FilterOptions:
        scope = self.scope()
        key = f"filter-options|v{self.data_version()}|{scope_key(scope)}"
        options = self.cache().get(key)
        if options is None:
            with self.engine().connect() as connection:
                options = filter_options(connection, scope)
            self.cache().set(key, options)
        return options
