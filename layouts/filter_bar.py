"""The global filter bar: date range, countries, genders, age brackets, saved segment."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from services.filters import FilterOptions
from services.rules import AGE_RULE

DATE_RANGE = "filters-date-range"
COUNTRIES = "filters-countries"
GENDERS = "filters-genders"
AGE_BRACKETS = "filters-age-brackets"
SEGMENT = "filters-segment"
RESET = "filters-reset"
STORE = "filters-store"
SCOPE_NOTE = "filters-scope-note"


def _labelled(label: str, control, width: dict, tooltip: str | None = None) -> dbc.Col:
    label_id = f"{control.id}-label"
    children = [html.Label(label, htmlFor=control.id, id=label_id, className="form-label small mb-1"), control]
    if tooltip:
        children.append(dbc.Tooltip(tooltip, target=label_id, placement="bottom"))
    return dbc.Col(children, **width)


def segment_options(options: FilterOptions) -> list[dict]:
    return [{"label": name, "value": segment_id} for segment_id, name in options.segments]


def filter_bar(options: FilterOptions, scope: tuple[str, ...] | None) -> html.Div:
    first = options.first_date.isoformat() if options.first_date else None
    last = options.last_date.isoformat() if options.last_date else None
    row = dbc.Row(
        [
            _labelled("Order dates", dcc.DatePickerRange(
                id=DATE_RANGE, min_date_allowed=first, max_date_allowed=last,
                initial_visible_month=last, display_format="YYYY-MM-DD", clearable=True,
                start_date_placeholder_text="From", end_date_placeholder_text="To",
            ), {"xs": 12, "lg": 3}),
            _labelled("Countries", dcc.Dropdown(
                id=COUNTRIES, options=list(options.countries), multi=True, placeholder="All countries", maxHeight=320,
            ), {"xs": 12, "md": 4, "lg": 2}),
            _labelled("Genders", dcc.Dropdown(
                id=GENDERS, options=list(options.genders), multi=True, placeholder="All genders",
            ), {"xs": 12, "md": 4, "lg": 2}),
            _labelled("Age brackets", dcc.Dropdown(
                id=AGE_BRACKETS, options=list(options.age_brackets), multi=True, placeholder="All ages",
            ), {"xs": 12, "md": 4, "lg": 2}, tooltip=AGE_RULE),
            _labelled("Saved segment", dcc.Dropdown(
                id=SEGMENT, options=segment_options(options), placeholder="All customers", clearable=True,
            ), {"xs": 12, "md": 4, "lg": 2}),
            dbc.Col(dbc.Button([html.I(className="bi bi-arrow-counterclockwise me-1"), "Reset"],
                               id=RESET, color="secondary", outline=True, size="sm", className="w-100"),
                    xs=12, lg=1, className="d-flex align-items-end"),
        ],
        className="g-2 align-items-end",
    )
    note = (html.Div([html.I(className="bi bi-shield-lock me-1"),
                      f"Your data scope: {', '.join(scope)}"], id=SCOPE_NOTE, className="small text-body-secondary mt-2")
            if scope else None)
    return html.Div([row, note, dcc.Store(id=STORE)], className="filter-bar card card-body shadow-sm mb-3")
