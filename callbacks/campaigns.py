"""Campaigns tab callbacks: the chosen campaign, filters and settings in; the readout services through the cache;
figures, tables and words out."""
from __future__ import annotations

import re
from dataclasses import replace

from dash import Input, Output, State, html

from callbacks.inputs import FILTERS, THEME, choice, filters_of
from layouts import campaigns as ids
from layouts import campaigns_charts as charts
from layouts import filter_bar as fb
from layouts.figures import empty_figure, themed
from services import formatting as fmt
from services.campaigns import catalog
from services.campaigns.facts import Design, variants
from services.campaigns.metrics import BY_KEY, PER_CUSTOMER
from services.campaigns.planning import plan
from services.campaigns.profit import profit_of
from services.campaigns.readout import CAPS, Settings, control_and_treatment, readout, readout_table
from services.campaigns.segments import DIMENSIONS, SEGMENT_PREFIX, breakdown, saved_segment_dimension
from services.campaigns.timeline import cumulative_lift
from services.campaigns.verdict import p_text, verdict
from services.campaigns.window import window_of
from services.csv_export import to_csv
from services.experiments.multiple import METHODS
from services.models import ANALYST_ROLES

CAMPAIGN = Input(ids.CAMPAIGN, "value")
SETTINGS = [Input(ids.CUPED, "value"), Input(ids.CAP, "value"), Input(ids.CORRECTION, "value"),
            Input(ids.SEQUENTIAL, "value")]
PER_CUSTOMER_KEYS = tuple(metric.key for metric in PER_CUSTOMER)
HIDDEN = {"display": "none"}


def settings_of(cuped, cap, correction, sequential) -> Settings:
    """The analyst's settings from the browser: anything unexpected falls back to the default."""
    caps = {f"{value:g}": value for value in CAPS}
    return Settings(cuped=cuped is True, cap=caps.get(cap) if isinstance(cap, str) else None,
                    correction=choice(correction, tuple(METHODS)), sequential=sequential is True)


def compared(warehouse, design, compute):
    """`compute(control, treatment)` for the design's variants; None below two."""
    pair = control_and_treatment(variants(warehouse, design))
    return None if pair is None else compute(pair[0], pair[1])


def number_of(value, low: float, high: float, default: float) -> float:
    """A number from the browser inside [low, high], else the default."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        return default
    return float(value)


def register(app, context) -> None:
    def campaign_list() -> list[catalog.CampaignInfo]:
        return context.analysed("campaigns-list", catalog.campaigns)

    def campaign_of(value) -> catalog.CampaignInfo | None:
        """The campaign the browser names when it exists, else the latest randomised one."""
        known = campaign_list()
        chosen = next((c for c in known if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value)
                       and c.campaign_id == int(value)), None)
        return chosen or next((c for c in known if c.randomised), known[0] if known else None)

    def fetch(name, info, filters, settings, *extra, compute):
        """A result for one campaign, filters and settings through the shared cache; None when unmeasurable."""
        key = "|".join([f"campaigns-{name}", str(info.campaign_id), filters.cache_key(), settings.key(),
                        *map(str, extra)])

        def run(warehouse):
            window = window_of(info, context.filter_options().last_date)
            if window is None or not info.randomised:
                return None
            design = Design(info.campaign_id, window, warehouse.selection(filters).where(), settings.cap)
            return compute(warehouse, design)
        return context.analysed(key, run)

    def readout_of(info, filters, settings):
        return fetch("readout", info, filters, settings, compute=lambda w, d: readout(
            w, info, d.window, d.customers, settings))

    def dimension_of(warehouse, key):
        segments = dict(context.filter_options().segments)
        if key.startswith(SEGMENT_PREFIX):
            return saved_segment_dimension(warehouse, int(key.removeprefix(SEGMENT_PREFIX)),
                                           segments[int(key.removeprefix(SEGMENT_PREFIX))])
        return next(d for d in DIMENSIONS if d.key == key)

    def dimension_keys() -> tuple[str, ...]:
        return (*(d.key for d in DIMENSIONS),
                *(f"{SEGMENT_PREFIX}{segment_id}" for segment_id, _ in context.filter_options().segments))

    @app.callback(Output(ids.CAMPAIGN, "options"), Output(ids.CAMPAIGN, "value"),
                  Output(ids.DIMENSION, "options"), Input(ids.CONTENT, "id"))
    def fill_choices(_content):
        context.require_role(ANALYST_ROLES)
        known, default = campaign_list(), campaign_of(None)
        options = [{"label": f"{c.name} ({c.starts_on:%b %Y})", "value": str(c.campaign_id)} for c in known]
        segments = [{"label": f"Saved segment: {name}", "value": f"{SEGMENT_PREFIX}{segment_id}"}
                    for segment_id, name in context.filter_options().segments]
        return options, str(default.campaign_id) if default else None, ids.DIMENSION_OPTIONS + segments

    @app.callback(
        Output(ids.DESCRIPTION, "children"), Output(ids.NOT_RANDOMISED, "children"),
        Output(ids.NOT_RANDOMISED, "is_open"), Output(ids.READOUT, "style"),
        Output(ids.HEALTH, "children"), Output(ids.VERDICT, "children"), Output(ids.KPI_GRID, "children"),
        Output(ids.LIFT_GRAPH, "figure"), Output(ids.READOUT_GRID, "rowData"),
        Output(ids.PROFIT_GRAPH, "figure"), Output(ids.PROFIT_FACTS, "children"),
        CAMPAIGN, FILTERS, *SETTINGS, THEME,
    )
    def update_readout(value, search, cuped, cap, correction, sequential, theme):
        context.require_role(ANALYST_ROLES)
        filters, info = filters_of(context, search), campaign_of(value)
        if info is None:
            return ("No campaigns in the data yet.", None, False, HIDDEN, None, None, None, {}, [], {}, None)
        settings = settings_of(cuped, cap, correction, sequential)
        result = readout_of(info, filters, settings)
        if result is None:
            started = window_of(info, context.filter_options().last_date) is not None
            return (_description(info), _not_measurable(info, started), True, HIDDEN, None, None, None, {}, [], {},
                    None)
        # money is never capped: capping steadies the tests, but a capped revenue is not revenue
        money = result if settings.cap is None else readout_of(info, filters, replace(settings, cap=None))
        profit, table = profit_of(money), readout_table(result)
        return (_description(info), None, False, {}, ids.health_badges(_health(result)), verdict(result, profit),
                ids.kpi_cards(_kpis(result, profit)), themed(charts.lift_bars(table), theme),
                _rows(table, result), themed(charts.profit_waterfall(profit), theme), _profit_facts(profit))

    @app.callback(Output(ids.SEGMENT_GRAPH, "figure"), Output(ids.SEGMENT_GRID, "rowData"),
                  Output(ids.INTERACTION, "children"), CAMPAIGN, FILTERS, *SETTINGS,
                  Input(ids.DIMENSION, "value"), Input(ids.SEGMENT_METRIC, "value"), THEME)
    def update_segments(value, search, cuped, cap, correction, sequential, dimension, metric, theme):
        context.require_role(ANALYST_ROLES)
        filters, info = filters_of(context, search), campaign_of(value)
        settings = settings_of(cuped, cap, correction, sequential)
        dimension, metric = choice(dimension, dimension_keys()), BY_KEY[choice(metric, tuple(BY_KEY), "orders")]
        found = info and fetch("segments", info, filters, settings, dimension, metric.key, compute=lambda w, d: compared(
            w, d, lambda control, treatment: breakdown(w, d, dimension_of(w, dimension), metric, control, treatment,
                                                       settings)))
        if found is None:
            return empty_figure("No readout"), [], None
        return (themed(charts.segment_lifts(found.table), theme), found.table.round(6).to_dict(
            "records"), _interaction_text(found))

    @app.callback(Output(ids.TIMELINE_GRAPH, "figure"), CAMPAIGN, FILTERS, *SETTINGS,
                  Input(ids.TIMELINE_METRIC, "value"), THEME)
    def update_timeline(value, search, cuped, cap, correction, sequential, metric, theme):
        context.require_role(ANALYST_ROLES)
        filters, info = filters_of(context, search), campaign_of(value)
        settings = settings_of(cuped, cap, correction, sequential)
        metric = BY_KEY[choice(metric, PER_CUSTOMER_KEYS, "orders")]
        frame = info and fetch("timeline", info, filters, settings, metric.key, compute=lambda w, d: compared(
            w, d, lambda control, treatment: cumulative_lift(w, d, metric, control, treatment, settings)))
        if frame is None:
            return empty_figure("No readout")
        return themed(charts.cumulative_lift(frame, settings.sequential), theme)

    @app.callback(Output(ids.PLAN_RESULT, "children"), CAMPAIGN, FILTERS, Input(ids.PLAN_METRIC, "value"),
                  Input(ids.PLAN_MDE, "value"), Input(ids.PLAN_POWER, "value"))
    def update_plan(value, search, metric, mde, power):
        context.require_role(ANALYST_ROLES)
        filters, info = filters_of(context, search), campaign_of(value)
        metric = BY_KEY[choice(metric, PER_CUSTOMER_KEYS, "orders")]
        mde = number_of(mde, 0.1, 100.0, ids.DEFAULT_MDE) / 100.0
        power = float(choice(power, ids.POWERS))
        result = info and readout_of(info, filters, Settings())
        if result is None:
            return "Planning needs a randomised campaign's control group."
        control, _ = result.stats[metric.key]
        share = result.health.counts["planned_share"].iloc[1]
        found = plan(control, int(result.health.counts["customers"].sum()), kind=metric.kind, mde=mde,
                     treatment_share=share, power_wanted=power)
        return _plan_text(found, metric)

    @app.callback(Output(ids.DOWNLOAD, "data"), Input(ids.EXPORT, "n_clicks"), State(ids.CAMPAIGN, "value"),
                  State(fb.STORE, "data"), State(ids.CUPED, "value"), State(ids.CAP, "value"),
                  State(ids.CORRECTION, "value"), State(ids.SEQUENTIAL, "value"), prevent_initial_call=True)
    def export_readout(_clicks, value, search, cuped, cap, correction, sequential):
        context.require_role(ANALYST_ROLES)
        filters, info = filters_of(context, search), campaign_of(value)
        settings = settings_of(cuped, cap, correction, sequential)
        result = info and readout_of(info, filters, settings)
        table = readout_table(result)
        context.audit("export", what="campaign readout", campaign=info.name if info else None, rows=len(table),
                      filters=filters.to_search(), settings=settings.key())
        slug = re.sub(r"[^a-z0-9]+", "-", info.name.lower()).strip("-") if info else "campaign"
        return {"content": to_csv(table), "filename": f"readout-{slug}.csv", "type": "text/csv"}


def _description(info: catalog.CampaignInfo) -> list:
    share = (f"planned split {1 - info.planned_treatment_share:.0%} / {info.planned_treatment_share:.0%}"
             if info.planned_treatment_share is not None else "")
    return ids.description(info.description, f"{info.starts_on:%d %b %Y} – {info.ends_on:%d %b %Y}",
                           info.kind.replace("_", " "), info.cost, share)


def _not_measurable(info: catalog.CampaignInfo, started: bool) -> list:
    if not info.randomised:
        reason = ("has no assignment to variants, so there is no control group to compare with: its effect cannot be "
                  "measured. Its window is shaded on the revenue timeline below.")
    elif not started:
        reason = "starts after the last order in the data: there is nothing to measure yet."
    else:
        reason = ("has no customers in at least two variants among those the filters select. Remove a filter or "
                  "choose another saved segment to see its readout.")
    return [html.I(className="bi bi-info-circle me-2"), html.Div(f"{info.name} {reason}")]


def _health(result) -> list[tuple[str, str, str]]:
    h, rules = result.health, ids.health_rules()
    split = " / ".join(f"{share:.1%}" for share in h.counts["share"])
    planned = " / ".join(f"{share:.0%}" for share in h.counts["planned_share"])
    items = [(f"Sample ratio mismatch: {split} against {planned} planned, {p_text(h.srm.p_value)}", "danger", rules)
             if h.srm.warn else (f"Split {split} (planned {planned}), SRM {p_text(h.srm.p_value)}", "success", rules)]
    if h.several_variants:
        items.append((f"{h.several_variants:,} customers in several variants: excluded", "warning", rules))
    if h.duplicated:
        items.append((f"{h.duplicated:,} customers assigned twice to one variant: counted once", "warning", rules))
    if h.too_small:
        items.append(("Too few customers for a reliable readout", "danger", rules))
    if h.other_variants:
        items.append((f"Also assigned, not compared: {', '.join(h.other_variants)}", "secondary", rules))
    if result.window.running:
        items.append(("Still running: interim readout", "info", rules))
    s = result.settings
    items += [(label, "primary", rules) for on, label in (
        (s.cuped, "CUPED on"), (s.cap is not None, f"Capped at the {(s.cap or 0) * 100:g}th percentile"),
        (s.sequential, "Sequential intervals"), (True, f"Correction: {METHODS[s.correction]}")) if on]
    return items


def _tone(item, alpha: float) -> str:
    return "neutral" if not item.significant(alpha) else "good" if item.effect.relative > 0 else "bad"


def _kpis(result, profit) -> list[tuple]:
    def lift(key, card_id, title, icon):
        item = result.result(key)
        e = item.effect
        return (card_id, title, icon, fmt.change(e.relative), f"95% CI {fmt.change(e.relative_low)} to "
                f"{fmt.change(e.relative_high)}", _tone(item, result.settings.alpha))
    paid = {True: "good", False: "bad", None: "neutral"}[profit.paid]
    roi = profit.roi
    return [
        ("campaigns-kpi-customers", "Customers", "bi-people", f"{int(result.health.counts['customers'].sum()):,}",
         " · ".join(f"{n:,} {v}" for v, n in zip(result.health.counts["variant"], result.health.counts["customers"])),
         "neutral"),
        lift("orders", "campaigns-kpi-orders", "Orders per customer", "bi-bag"),
        lift("revenue", "campaigns-kpi-revenue", "Revenue per customer", "bi-cash-stack"),
        lift("profit_per_sale", "campaigns-kpi-profit-per-sale", "Profit per sale", "bi-receipt"),
        ("campaigns-kpi-net", "Net profit", "bi-piggy-bank", fmt.money(profit.net.value),
         f"95% CI {fmt.money(profit.net.low)} to {fmt.money(profit.net.high)}", paid),
        ("campaigns-kpi-roi", "ROI", "bi-graph-up-arrow", fmt.percent(roi.value, 0) if roi else fmt.MISSING,
         f"95% CI {fmt.percent(roi.low, 0)} to {fmt.percent(roi.high, 0)}" if roi else "no cost recorded", paid),
    ]


def _rows(table, result) -> list[dict]:
    percent = {item.metric.label: item.metric.percent for item in result.results}
    return table.assign(percent=table["metric"].map(percent)).round(6).to_dict("records")


def _profit_facts(profit) -> list:
    facts = [html.Div(f"Over {profit.treated:,} treated customers: incremental revenue {fmt.money(profit.revenue.value)} "
                      f"(95% CI {fmt.money(profit.revenue.low)} to {fmt.money(profit.revenue.high)}), incremental "
                      f"profit after the discount {fmt.money(profit.profit.value)} (95% CI "
                      f"{fmt.money(profit.profit.low)} to {fmt.money(profit.profit.high)}).")]
    if profit.break_even_orders_lift is not None:
        facts.append(html.Div(f"Break-even lift in orders per customer: {fmt.change(profit.break_even_orders_lift)}; "
                              f"measured {fmt.change(profit.orders_lift)}, with profit per sale "
                              f"{fmt.change(profit.profit_per_sale_lift)}.", id="campaigns-break-even"))
    return facts


def _interaction_text(found) -> list:
    """Whether the lift differs between segments: the relative scale decides, the absolute one is shown too."""
    relative, absolute = found.relative_test, found.interaction
    if not relative.segments >= 2:
        return ["Comparing segments needs at least two with customers in both variants."]
    differs = relative.p_value < 0.05
    lines = [html.Div([html.Strong("Does the relative lift differ between segments? "),
                       f"Cochran's Q = {relative.q:.2f} on {relative.df} df, {p_text(relative.p_value)}: " + (
                           "yes, some segments respond more than others." if differs else
                           "no evidence; a segment's larger or smaller lift may be noise.")],
                      id="campaigns-interaction-relative")]
    if absolute is not None and absolute.p_value == absolute.p_value:
        lines.append(html.Div(
            f"On the absolute scale (OLS F-test of treatment × {found.dimension.label.lower()}): "
            f"F({absolute.df1:.0f}, {absolute.df2:.0f}) = {absolute.f:.2f}, {p_text(absolute.p_value)}. Segments "
            "that buy more gain more from the same relative lift, so this test can differ from the one above.",
            className="text-body-secondary"))
    if found.dimension.after_campaign:
        lines.append(html.Div([html.I(className="bi bi-exclamation-triangle me-1"),
                               f"{found.dimension.label} is judged on the data's last day, after the campaign: the "
                               "treatment itself can move customers between segments, so differences here may be its "
                               "effect rather than who responded. Gender, age and country are safer."],
                              className="text-warning-emphasis", id="campaigns-after-campaign"))
    return lines


def _plan_text(found, metric) -> list | str:
    if found is None:
        return "The control group has no baseline for this metric."
    per = "customers in total"
    return [
        html.Div([html.Strong(f"{found.customers_needed:,} {per}"),
                  f" to detect a {found.mde:.1%} change in {metric.label.lower()} (baseline "
                  f"{fmt.percent(found.baseline) if metric.percent else f'{found.baseline:,.2f}'}) with "
                  f"{found.power:.0%} power at α = {found.alpha:g}, split "
                  f"{1 - found.treatment_share:.0%} / {found.treatment_share:.0%}."], id="campaigns-plan-needed"),
        html.Div(f"This campaign's {found.customers:,} customers can detect a change of ±{found.detectable:.1%}.",
                 id="campaigns-plan-detectable"),
    ]
