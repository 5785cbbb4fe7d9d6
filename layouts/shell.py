"""The shell of the product: navbar, user menu, theme toggle, filter bar and tabs."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import campaigns, coupons, performance, segmentation
from layouts.filter_bar import filter_bar
from services.filters import FilterOptions

URL = "shell-url"
TABS = "shell-tabs"
TAB_CONTENT = "shell-tab-content"
THEME_STORE = "shell-theme-store"
THEME_SWITCH = "shell-theme-switch"
USER_MENU = "shell-user-menu"
LOGOUT = "shell-logout"
LAB_PRESET = "shell-lab-preset"  # features another tab asks the clustering lab to open with


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    icon: str
    render: Callable[[str, list[str] | None], html.Div]  # the tab's layout for a user's role and a lab preset


TAB_LIST = (
    Tab("performance", "Customer performance", "bi-people", lambda _role, _preset: performance.layout()),
    Tab("segmentation", "Segmentation", "bi-diagram-3", segmentation.layout),
    Tab("coupons", "Coupons", "bi-ticket-perforated", lambda _role, _preset: coupons.layout()),
    Tab("campaigns", "Campaigns", "bi-megaphone", lambda role, _preset: campaigns.layout(role)),
)
TAB_KEYS = tuple(tab.key for tab in TAB_LIST)
DEFAULT_TAB = TAB_KEYS[0]


@dataclass(frozen=True)
class ShellUser:
    username: str
    role: str
    country_scope: tuple[str, ...] | None


def render_tab(key: str | None, role: str, lab_preset: list[str] | None = None) -> html.Div:
    """The tab's layout; `lab_preset`: the features the clustering lab opens with (the lab checks them)."""
    tab = next((tab for tab in TAB_LIST if tab.key == key), TAB_LIST[0])
    return tab.render(role, lab_preset)


def _user_menu(user: ShellUser, csrf_token: str) -> dbc.DropdownMenu:
    logout_form = html.Form(
        [dcc.Input(type="hidden", name="csrf_token", value=csrf_token),
         html.Button([html.I(className="bi bi-box-arrow-right me-2"), "Log out"],
                     type="submit", id=LOGOUT, className="dropdown-item")],
        action="/logout", method="POST",
    )
    return dbc.DropdownMenu(
        [
            dbc.DropdownMenuItem(
                [html.Div(user.username, className="fw-semibold"),
                 html.Div(f"Role: {user.role}", className="small text-body-secondary")],
                header=True,
            ),
            dbc.DropdownMenuItem(divider=True),
            logout_form,
        ],
        label=[html.I(className="bi bi-person-circle me-1"), user.username],
        id=USER_MENU, align_end=True, color="link", toggle_class_name="text-light text-decoration-none",
    )


def _navbar(user: ShellUser, csrf_token: str) -> dbc.Navbar:
    brand = html.A(
        [html.Img(src="/static/favicon.svg", height="28", className="me-2"),
         html.Span("CustomerScope", className="fw-semibold")],
        href="/", className="navbar-brand d-flex align-items-center",
    )
    theme = html.Div(
        [html.I(className="bi bi-sun me-2"),
         dbc.Switch(id=THEME_SWITCH, value=False, className="mb-0", label=None),
         html.I(className="bi bi-moon-stars")],
        className="d-flex align-items-center text-light me-3", title="Dark mode",
    )
    return dbc.Navbar(
        dbc.Container([brand, html.Div([theme, _user_menu(user, csrf_token)], className="d-flex align-items-center")],
                      fluid=True),
        color="primary", dark=True, className="mb-3 shadow-sm",
    )


def layout(user: ShellUser, csrf_token: str, options: FilterOptions) -> html.Div:
    tabs = dbc.Tabs(
        [dbc.Tab(label=tab.label, tab_id=tab.key, label_class_name="fw-medium") for tab in TAB_LIST],
        id=TABS, active_tab=DEFAULT_TAB, className="mb-3",
    )
    return html.Div(
        [
            dcc.Location(id=URL, refresh=False),
            dcc.Store(id=THEME_STORE, storage_type="local"),
            dcc.Store(id=LAB_PRESET),
            _navbar(user, csrf_token),
            dbc.Container(
                [filter_bar(options, user.country_scope), tabs,
                 # Only while a tab renders: the tabs' own callbacks must not blank the whole tab.
                 dcc.Loading(html.Div(id=TAB_CONTENT), type="dot", delay_show=300,
                             target_components={TAB_CONTENT: "children"})],
                fluid=True, className="pb-4",
            ),
        ]
    )
