"""The Coupons tab: funnel and KPIs, activity over time, cities and branches, coupon users, usage, retention,
and the coupon table."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import data_grid, export_button, graph, kpi_card, section, segmented
from services import formatting as fmt
from services.coupons.activity import GRAINS, HABITUAL_BURNS
from services.coupons.branches import LOW_BURN_RATIO, MIN_CLAIMS
from services.coupons.funnel import Funnel
from services.coupons.retention import REPEAT_DAYS

CONTENT = "coupons-content"
FOCUS = "coupons-focus"  # the city or branch a click narrowed the tab to
FOCUS_BADGE = "coupons-focus-badge"
FOCUS_CLEAR = "coupons-focus-clear"
PERIOD_NOTE = "coupons-period-note"
QUALITY = "coupons-quality"
EMPTY_STATE = "coupons-empty-state"
KPI_GRID = "coupons-kpis"
FUNNEL_GRAPH = "coupons-funnel-graph"
GRAIN = "coupons-grain"
TIMELINE_GRAPH = "coupons-timeline-graph"
CITIES_GRAPH = "coupons-cities-graph"
BRANCHES_GRAPH = "coupons-branches-graph"
BRANCH_GRID = "coupons-branch-grid"
BRANCH_EXPORT, BRANCH_DOWNLOAD = "coupons-branch-export", "coupons-branch-download"
GENDER_GRAPH = "coupons-gender-graph"
USER_CITIES_GRAPH = "coupons-user-cities-graph"
AGE_GRAPH = "coupons-age-graph"
SEGMENT_KIND = "coupons-segment-kind"
SEGMENT_GRAPH = "coupons-segment-graph"
FREQUENCY_GRAPH = "coupons-frequency-graph"
FREQUENCY_FACTS = "coupons-frequency-facts"
RETENTION_GRAPH = "coupons-retention-graph"
RETENTION_FACTS = "coupons-retention-facts"
COHORT_GRAPH = "coupons-cohort-graph"
TABLE_KIND = "coupons-table-kind"
COUPON_GRID = "coupons-coupon-grid"
COUPON_EXPORT, COUPON_DOWNLOAD = "coupons-coupon-export", "coupons-coupon-download"
SEGMENT_SHORTCUT = "coupons-segment-shortcut"

PAGE_SIZE = 12
DEFAULT_GRAIN = "week"
SEGMENT_KINDS = (("profile", "Profile"), ("rfm_segment", "RFM segment"))
PER_COUPON, PER_CAMPAIGN = "coupon", "campaign"
TABLE_KINDS = ((PER_COUPON, "Per coupon"), (PER_CAMPAIGN, "Per campaign"))
OBSERVATIONAL = ("Observational, not causal: customers who choose to use coupons differ from those who do not in "
                 "ways the data does not show, so this gap is not the effect of giving someone a coupon. "
                 "A randomised campaign (Campaigns tab) measures that.")

MONEY = {"type": "numericColumn", "valueFormatter": {"function": "d3.format('$,.0f')(params.value)"}}
COUNT = {"type": "numericColumn", "valueFormatter": {"function": "d3.format(',')(params.value)"}}
RATE = {"type": "numericColumn",
        "valueFormatter": {"function": "params.value == null ? '–' : d3.format('.1%')(params.value)"}}
LOW_BURN_STYLE = {"styleConditions": [{"condition": "params.data.low_burn", "style": {"color": "#dc2626",
                                                                                       "fontWeight": "600"}}]}


def layout() -> html.Div:
    return html.Div(
        [
            dcc.Store(id=FOCUS, data={}),
            _toolbar(),
            dbc.Alert(id=QUALITY, is_open=False, color="warning", className="d-flex align-items-start"),
            dbc.Alert(id=EMPTY_STATE, is_open=False, color="info", className="d-flex align-items-center"),
            html.Div(id=KPI_GRID, className="kpi-grid mb-3"),
            dbc.Row([
                dbc.Col(section("Coupon funnel", graph(FUNNEL_GRAPH, height=300), icon="bi-funnel",
                                info="Coupons issued, claimed and burned (used on an order) in the period; each "
                                     "stage shows its share of the stage before. Burn rate = burned / claimed."),
                        lg=5),
                dbc.Col(section("Coupon transactions over time", graph(TIMELINE_GRAPH, height=300),
                                icon="bi-graph-up", actions=_grain_switch(),
                                info="Coupons claimed, burned and expired per day, week (from Monday) or month."),
                        lg=7),
            ], className="g-3"),
            dbc.Row([
                dbc.Col(section("Top cities by burns", graph(CITIES_GRAPH, height=360), icon="bi-buildings",
                                info=_low_burn_rule() + " Click a city to focus the tab on its branches."), lg=6),
                dbc.Col(section("Top branches by burns", graph(BRANCHES_GRAPH, height=360), icon="bi-shop",
                                info=_low_burn_rule() + " Click a branch to focus the tab on it."), lg=6),
            ], className="g-3"),
            section("All branches", data_grid(BRANCH_GRID, _branch_columns(), "No coupon activity for these "
                                              "filters.", row_id="'' + params.data.branch_id"),
                    icon="bi-table", actions=export_button(BRANCH_EXPORT, BRANCH_DOWNLOAD),
                    info="Every branch with coupon activity in the period; low burners in red."),
            _users(),
            dbc.Row([
                dbc.Col(section("Usage frequency", [graph(FREQUENCY_GRAPH, height=300),
                                                    html.Div(id=FREQUENCY_FACTS, className="small")],
                                icon="bi-repeat",
                                info=f"Coupon users by the number of coupons they burned in the period; "
                                     f"{HABITUAL_BURNS} or more make a habitual user (purple)."), lg=5),
                dbc.Col(section("Do coupon users come back?", [graph(RETENTION_GRAPH, height=300),
                                                               html.Div(id=RETENTION_FACTS, className="small")],
                                icon="bi-arrow-repeat", info=_retention_rule()), lg=7),
            ], className="g-3"),
            section("Coupon-user cohorts", graph(COHORT_GRAPH, height=440), icon="bi-grid-3x3",
                    info="Customers grouped by the month of their first coupon burn (rows); each cell is the "
                         "share of the cohort that ordered n months later (columns)."),
            _coupon_table(),
        ],
        id=CONTENT,
    )


def _toolbar() -> html.Div:
    focus = html.Div([
        html.Span(id=FOCUS_BADGE, className="me-1"),
        dbc.Button([html.I(className="bi bi-x-lg me-1"), "All branches"], id=FOCUS_CLEAR, size="sm",
                   color="secondary", outline=True, style={"display": "none"}),
    ], className="d-flex align-items-center")
    shortcut = dbc.Button([html.I(className="bi bi-diagram-3 me-1"), "Segment coupon behaviour"],
                          id=SEGMENT_SHORTCUT, size="sm", color="primary", outline=True,
                          title="Open the clustering lab with order frequency, coupon usage, burn rate, gender and "
                                "the leading coupon cities as features.")
    return html.Div(
        [html.Div(id=PERIOD_NOTE, className="small text-body-secondary"),
         html.Div([focus, shortcut], className="d-flex gap-2 align-items-center")],
        className="d-flex flex-wrap justify-content-between align-items-center gap-2 mb-2",
    )


def _grain_switch() -> dbc.RadioItems:
    return segmented(GRAIN, [(grain, grain.title()) for grain in GRAINS], DEFAULT_GRAIN)


def _low_burn_rule() -> str:
    return (f"Bars in red: branches (or cities) with at least {MIN_CLAIMS} claims that burn under "
            f"{LOW_BURN_RATIO:.0%} of the network's burn rate.")


def _retention_rule() -> str:
    return (f"Share of customers who ordered again within {REPEAT_DAYS} days: coupon users after their first "
            f"coupon burn, other buyers (who never burned one) after their first order in the same window. "
            f"Comparable buyers have the same buying history (orders on earlier days) as the coupon users: other "
            f"buyers from the first day they had each history, weighted by the coupon users' mix. "
            + OBSERVATIONAL)


def _branch_columns() -> list[dict]:
    return [
        {"field": "branch", "headerName": "Branch", "minWidth": 230, "pinned": "left", "cellClass": "link-primary",
         "cellStyle": LOW_BURN_STYLE},
        {"field": "city", "minWidth": 110},
        {"field": "country", "minWidth": 140},
        {"field": "issued", **COUNT}, {"field": "claimed", **COUNT}, {"field": "burned", "sort": "desc", **COUNT},
        {"field": "expired", **COUNT},
        {"field": "claim_rate", "headerName": "Claim rate", **RATE},
        {"field": "burn_rate", "headerName": "Burn rate", **RATE, "cellStyle": LOW_BURN_STYLE},
        {"field": "revenue", "headerName": "Coupon revenue", **MONEY},
        {"field": "discount", "headerName": "Discount cost", **MONEY},
    ]


def _users() -> dbc.Card:
    kind = dbc.Select(id=SEGMENT_KIND, options=[{"label": label, "value": value} for value, label in SEGMENT_KINDS],
                      value=SEGMENT_KINDS[0][0], size="sm", className="w-auto")
    return section("Who uses coupons", [
        dbc.Row([
            dbc.Col([html.Div("Gender of coupon users", className="small fw-semibold"),
                     graph(GENDER_GRAPH, height=260)], lg=3),
            dbc.Col([html.Div("Where coupon users live (top 10 cities)", className="small fw-semibold"),
                     graph(USER_CITIES_GRAPH, height=260)], lg=4),
            dbc.Col([html.Div("Age brackets", className="small fw-semibold"), graph(AGE_GRAPH, height=260)], lg=5),
        ], className="g-3"),
        html.Div([html.Span("Coupon users against other buyers by ", className="small fw-semibold me-2"), kind],
                 className="d-flex align-items-center mt-2"),
        graph(SEGMENT_GRAPH, height=280),
    ], icon="bi-person-check",
        info="Coupon users burned at least one coupon in the period; other buyers ordered in it and burned none. "
             "Shares are within each group.")


def coupon_columns(per_campaign: bool) -> list[dict]:
    """The coupon table's columns; summed per campaign, the coupon's own columns give way to a count."""
    hidden = {"code", "offer", "valid_from", "valid_to"} if per_campaign else {"coupons"}
    columns = [
        {"field": "code", "headerName": "Coupon", "minWidth": 150, "pinned": "left"},
        {"field": "campaign", "minWidth": 170},
        {"field": "coupons", "headerName": "Coupons", **COUNT},
        {"field": "offer", "minWidth": 90},
        {"field": "valid_from", "headerName": "Valid from", "minWidth": 110},
        {"field": "valid_to", "headerName": "Valid to", "minWidth": 110},
        {"field": "claimed", **COUNT}, {"field": "burned", "sort": "desc", **COUNT},
        {"field": "burn_rate", "headerName": "Burn rate", **RATE},
        {"field": "revenue", "headerName": "Revenue", **MONEY},
        {"field": "discount", "headerName": "Discount cost", **MONEY},
        {"field": "margin", "headerName": "Margin after discount", **MONEY},
        {"field": "margin_rate", "headerName": "Margin %", **RATE},
    ]
    return [{**column, "hide": column["field"] in hidden} for column in columns]


def _coupon_table() -> dbc.Card:
    kind = segmented(TABLE_KIND, list(TABLE_KINDS), PER_COUPON)
    grid = data_grid(COUPON_GRID, coupon_columns(per_campaign=False), "No coupons used for these filters.",
                     pagination=True, paginationPageSize=PAGE_SIZE, paginationPageSizeSelector=False)
    return section("Coupons and campaigns", grid, icon="bi-ticket-perforated",
                   actions=html.Div([kind, export_button(COUPON_EXPORT, COUPON_DOWNLOAD)], className="d-flex gap-2"),
                   info="Revenue is net of the discount; margin after discount = revenue - cost of the coupon orders.")


def kpi_cards(result: Funnel | None) -> list[dbc.Card]:
    """The headline numbers of the funnel, each with the ratio that explains it."""
    f = result
    days = f.median_days_to_burn if f else None
    cards = [
        ("coupons-kpi-issued", "Issued", "bi-send", fmt.compact(f and f.issued), "coupons issued"),
        ("coupons-kpi-claimed", "Claimed", "bi-hand-index", fmt.compact(f and f.claimed),
         f"{fmt.percent(f and f.claim_rate)} of issued"),
        ("coupons-kpi-burned", "Burned", "bi-check2-circle", fmt.compact(f and f.burned),
         f"{fmt.percent(f and f.burn_rate)} of claimed"),
        ("coupons-kpi-expired", "Expired", "bi-hourglass-bottom", fmt.compact(f and f.expired),
         f"{fmt.percent(f and f.expiry_rate)} of claims"),
        ("coupons-kpi-days", "Claim to burn", "bi-stopwatch", fmt.MISSING if days is None else f"{days:.1f} days",
         "median"),
        ("coupons-kpi-revenue", "Coupon sales", "bi-cash-stack", fmt.money(f and f.revenue),
         f"{fmt.compact(f and f.coupon_orders)} orders"),
        ("coupons-kpi-discount", "Discount cost", "bi-tag", fmt.money(f and f.discount), "given away"),
        ("coupons-kpi-return", "Per $ off", "bi-graph-up-arrow",
         fmt.MISSING if not f or f.revenue_per_discount_dollar is None else f"${f.revenue_per_discount_dollar:.2f}",
         "sales per $ off"),
        ("coupons-kpi-margin", "Margin", "bi-piggy-bank", fmt.money(f and f.margin), "after discount"),
    ]
    return [kpi_card(*card) for card in cards]
