"""What the Segmentation tab's callbacks share: inputs, role rule, messages, and saving a set of customers."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import dash_bootstrap_components as dbc
from dash import html, no_update
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from callbacks.inputs import FILTERS, THEME, filters_of
from layouts.segmentation import ANALYST_ROLES
from services.filters import Filters
from services.segmentation import saved

__all__ = ["ANALYST_ROLES", "FILTERS", "THEME", "filters_of", "message", "save_members", "write_saved"]

Result = TypeVar("Result")


def message(text: str, ok: bool = True) -> dbc.Alert:
    icon = "bi-check-circle" if ok else "bi-exclamation-triangle"
    return dbc.Alert([html.I(className=f"bi {icon} me-2"), text], color="success" if ok else "danger",
                     className="py-2 px-3 mb-0 small", dismissable=True)


def write_saved(context, write: Callable[[Connection], Result]) -> tuple[Result | None, dbc.Alert | None]:
    """`write(connection)` in one transaction: (its result, None), or (None, why not) for a mistake the user can
    correct (a blank or taken name, no customers); anything else is raised."""
    try:
        with context.engine().begin() as connection:
            return write(connection), None
    except saved.SegmentError as error:
        return None, message(str(error), ok=False)
    except IntegrityError as error:
        if not saved.is_name_clash(error):
            raise
        return None, message("That name was just taken: choose another.", ok=False)


def save_members(context, name: str | None, kind: str, members: Sequence[int], filters: Filters, counter,
                 *, definition: dict, description: str | None = None):
    """Save these customers as a segment; (message, new counter of the segment list)."""
    definition = {**definition, "filters": filters.to_search()}
    segment_id, problem = write_saved(context, lambda connection: saved.save_segment(
        connection, name, kind, members, description=description, definition=definition,
        owner_id=context.user_id(), data_version=context.data_version()))
    if problem:
        return problem, no_update
    customers = len(set(members))
    context.audit("save segment", segment_id=segment_id, kind=kind, customers=customers)
    return message(f"Saved “{saved.clean_name(name)}” with {customers:,} customers. It is now in the "
                   "filter bar's Saved segment list."), (counter or 0) + 1
