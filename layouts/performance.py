"""The Customer performance tab: KPIs, insights, demographics, geography, trends, cohorts, top customers."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import value
from layouts.components import graph, section
from layouts.performance_kpis import KPIS, kpi_card
from services.performance.customers import TOP_SIZES
from services.performance.kpis import CHURN_DAYS_RANGE, DEFAULT_CHURN_DAYS
from services.rules import PROFILE_RULES

CONTENT = "performance-content"
CHURN_DAYS = "performance-churn-days"
COMPARISON_NOTE = "performance-comparison-note"
EMPTY_STATE = "performance-empty-state"
INSIGHTS = "performance-insights"
FAMILY_GRAPH = "performance-family-graph"
FAMILY_COUNTRIES = "performance-family-countries"
AGE_GRAPH = "performance-age-graph"
PROFILE_GRAPH = "performance-profile-graph"
GENDER_GRAPH = "performance-gender-graph"
MAP_GRAPH = "performance-map-graph"
CITIES_GRAPH = "performance-cities-graph"
MONTHLY_GRAPH = "performance-monthly-graph"
SEASONALITY_GRAPH = "performance-seasonality-graph"
YOY_GRAPH = "performance-yoy-graph"
COHORT_GRAPH = "performance-cohort-graph"
TOP_SIZE = "performance-top-size"
TOP_GRID = "performance-top-grid"
TOP_EXPORT = "performance-top-export"
TOP_DOWNLOAD = "performance-top-download"
DETAIL = "performance-detail"
DETAIL_BODY = "performance-detail-body"

PROFILE_RULES_TEXT = [html.Div([html.Strong(f"{name}: "), rule]) for name, rule in PROFILE_RULES]


def layout() -> html.Div:
    return html.Div(
        [
            _toolbar(),
            dbc.Alert(id=EMPTY_STATE, is_open=False, color="info", className="d-flex align-items-center"),
            html.Div([kpi_card(spec) for spec in KPIS], className="kpi-grid mb-3"),
            section("Key insights", dcc.Loading(html.Ul(id=INSIGHTS, className="insights mb-0"), delay_show=300),
                    icon="bi-lightbulb", info="Generated from the filtered data; change a filter and they change."),
            dbc.Row([
                dbc.Col(section("Family status", [graph(FAMILY_GRAPH, height=240),
                                                  html.Div(id=FAMILY_COUNTRIES, className="small")],
                                icon="bi-house-heart",
                                info="Customers with at least one child against those without, and the leading "
                                     "countries by revenue within each group."), lg=6),
                dbc.Col(section("Revenue by age bracket", graph(AGE_GRAPH), icon="bi-bar-chart",
                                info="Revenue per decade bracket; the dashed line is the average bracket."), lg=6),
            ], className="g-3"),
            dbc.Row([
                dbc.Col(section("Customer profiles", graph(PROFILE_GRAPH), icon="bi-person-vcard",
                                info=PROFILE_RULES_TEXT), lg=7),
                dbc.Col(section("Gender-based earnings", graph(GENDER_GRAPH), icon="bi-gender-ambiguous",
                                info="Revenue and share of revenue by gender."), lg=5),
            ], className="g-3"),
            dbc.Row([
                dbc.Col(section("Revenue by country", graph(MAP_GRAPH, height=380), icon="bi-globe-americas",
                                info="Click a country to filter the whole dashboard to it."), lg=8),
                dbc.Col(section("Top cities", graph(CITIES_GRAPH, height=380), icon="bi-buildings"), lg=4),
            ], className="g-3"),
            section("Monthly trends", graph(MONTHLY_GRAPH, height=420), icon="bi-graph-up",
                    info="Revenue, orders and active customers (with at least one order) per month."),
            dbc.Row([
                dbc.Col(section("Seasonality", graph(SEASONALITY_GRAPH), icon="bi-calendar3",
                                info="Revenue by month of year (columns) and year (rows)."), lg=6),
                dbc.Col(section("Year-over-year change", graph(YOY_GRAPH), icon="bi-arrow-left-right",
                                info="Revenue of each month against the same month a year earlier."), lg=6),
            ], className="g-3"),
            section("Cohort retention", graph(COHORT_GRAPH, height=460), icon="bi-grid-3x3",
                    info="Customers grouped by the month of their first purchase (rows); each cell is the "
                         "share of the cohort that bought again n months later (columns)."),
            _top_customers(),
            value.layout(),
            dbc.Offcanvas(html.Div(id=DETAIL_BODY), id=DETAIL, title="Customer", placement="end",
                          is_open=False, scrollable=True, className="customer-detail"),
        ],
        id=CONTENT,
    )


def _toolbar() -> html.Div:
    low, high = CHURN_DAYS_RANGE
    churn = dbc.InputGroup(
        [dbc.InputGroupText("Churn window"),
         dbc.Input(id=CHURN_DAYS, type="number", min=low, max=high, step=1, value=DEFAULT_CHURN_DAYS,
                   debounce=True, style={"maxWidth": "6rem"}),
         dbc.InputGroupText("days")],
        size="sm", className="w-auto",
    )
    return html.Div(
        [html.Div(id=COMPARISON_NOTE, className="small text-body-secondary"), churn],
        className="d-flex flex-wrap justify-content-between align-items-center gap-2 mb-2",
    )


def _top_customers() -> html.Div:
    columns = [
        {"field": "name", "headerName": "Customer", "minWidth": 170, "cellClass": "link-primary"},
        {"field": "external_id", "headerName": "ID", "maxWidth": 120},
        {"field": "country"},
        {"field": "city"},
        {"field": "profile", "maxWidth": 130},
        {"field": "rfm_segment", "headerName": "RFM segment"},
        {"field": "orders", "type": "numericColumn", "maxWidth": 110},
        {"field": "revenue", "type": "numericColumn", "sort": "desc",
         "valueFormatter": {"function": "d3.format('$,.2f')(params.value)"}},
        {"field": "last_order", "headerName": "Last order", "maxWidth": 140},
    ]
    controls = html.Div(
        [
            dbc.Select(id=TOP_SIZE, options=[{"label": f"Top {n}", "value": n} for n in TOP_SIZES],
                       value=TOP_SIZES[0], size="sm", className="w-auto"),
            dbc.Button([html.I(className="bi bi-download me-1"), "Export CSV"], id=TOP_EXPORT, size="sm",
                       color="secondary", outline=True),
            dcc.Download(id=TOP_DOWNLOAD),
        ],
        className="d-flex gap-2",
    )
    # getRowId is evaluated by dash-ag-grid without JS globals (String(...) gives undefined): concatenate instead.
    grid = dag.AgGrid(
        id=TOP_GRID, columnDefs=columns, rowData=[], columnSize="responsiveSizeToFit",
        defaultColDef={"sortable": True, "resizable": True, "filter": False},
        getRowId="'' + params.data.customer_id", className="ag-theme-quartz",
        dashGridOptions={"domLayout": "autoHeight", "animateRows": False,
                         "localeText": {"noRowsToShow": "No customers match these filters."}},
        style={"width": "100%"},
    )
    return section("Top customers", [grid, html.Div("Click a customer to see their history.",
                                                    className="small text-body-secondary mt-2")],
                   icon="bi-trophy", info="The customers with the most revenue in the selected period.",
                   actions=controls)
