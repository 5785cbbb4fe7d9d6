"""Small building blocks shared by the tabs: section cards, graphs with loading states, info tips."""
from __future__ import annotations

import re

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

GRAPH_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
    "topojsonURL": "/static/vendor/topojson/",  # served locally: no CDN needed for maps
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def info_icon(target: str, text) -> html.Span:
    """An (i) icon whose tooltip explains the rule behind a figure."""
    return html.Span([
        html.I(className="bi bi-info-circle text-body-secondary", id=target, tabIndex=0,
               **{"aria-label": "About this figure"}),
        dbc.Tooltip(text, target=target, placement="bottom", className="section-info"),
    ], className="ms-2")


def section(title: str, body, icon: str | None = None, info=None, actions=None) -> dbc.Card:
    """A titled card; `info` becomes a tooltip on an icon, `actions` sit on the right of the header."""
    heading = html.Div(
        [html.I(className=f"bi {icon} me-2 text-primary") if icon else None, html.Span(title),
         info_icon(f"info-{_slug(title)}", info) if info else None],
        className="d-flex align-items-center fw-semibold",
    )
    header = html.Div([heading, actions], className="d-flex justify-content-between align-items-center gap-2 mb-2")
    body = body if isinstance(body, list) else [body]
    return dbc.Card(dbc.CardBody([header, *body]), className="section shadow-sm mb-3")


def graph(graph_id: str, height: int = 320) -> dcc.Loading:
    """A graph that shows a spinner while its data comes."""
    return dcc.Loading(
        dcc.Graph(id=graph_id, config=GRAPH_CONFIG, style={"height": f"{height}px"}),
        delay_show=300, type="circle",
    )


def data_grid(grid_id: str, columns: list[dict], empty: str, row_id: str | None = None,
              column_size: str | None = "responsiveSizeToFit", **options) -> dag.AgGrid:
    """An AG Grid table in the product's look: sortable, resizable, as tall as its rows.

    `column_size=None` keeps the columns' own widths (a wide table scrolls sideways).
    """
    return dag.AgGrid(
        id=grid_id, columnDefs=columns, rowData=[], columnSize=column_size,
        defaultColDef={"sortable": True, "resizable": True, "filter": False, "wrapText": True, "autoHeight": True},
        getRowId=row_id, className="ag-theme-quartz",
        dashGridOptions={"domLayout": "autoHeight", "animateRows": False, "localeText": {"noRowsToShow": empty},
                         **options},
        style={"width": "100%"},
    )


def kpi_card(card_id: str, title: str, icon: str, value: str, note, tone: str | None = None) -> dbc.Card:
    """A headline number with its title and a note; `tone` (good, bad, neutral) colours the value."""
    return dbc.Card(dbc.CardBody([
        html.Div([html.I(className=f"bi {icon} me-1"), title], className="kpi-title small text-body-secondary"),
        html.Div(value, className=f"kpi-value tone-{tone}" if tone else "kpi-value", id=card_id),
        html.Div(note, className="kpi-note small text-body-secondary"),
    ], className="kpi"), className="shadow-sm")


def segmented(control_id: str, options: list[tuple[str, str]], value: str) -> dbc.RadioItems:
    """A small row of joined toggle buttons, one per (value, label), for switching a view."""
    return dbc.RadioItems(
        id=control_id, options=[{"label": label, "value": option} for option, label in options], value=value,
        inline=True, className="btn-group segmented", inputClassName="btn-check",
        labelClassName="btn btn-sm btn-outline-secondary", labelCheckedClassName="active",
    )


def export_button(button_id: str, download_id: str, label: str = "Export CSV") -> html.Span:
    """A small "Export CSV" button with the download it fills."""
    return html.Span([
        dbc.Button([html.I(className="bi bi-download me-1"), label], id=button_id, size="sm", color="secondary",
                   outline=True),
        dcc.Download(id=download_id),
    ])


def analyst_note(can_edit: bool, what: str) -> html.Div | None:
    """Why a viewer sees a control disabled."""
    if can_edit:
        return None
    return html.Div([html.I(className="bi bi-lock me-1"), f"Analysts and administrators {what}."],
                    className="small text-body-secondary")


def feedback(feedback_id: str) -> html.Div:
    """Where a form's result or error appears."""
    return html.Div(id=feedback_id, className="small mt-2", role="status")
