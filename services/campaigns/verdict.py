"""The readout in one plain-language paragraph, written from its numbers (every figure comes from them)."""
from __future__ import annotations

import math

from services.campaigns.profit import Profit
from services.campaigns.readout import Readout, Result
from services.experiments.multiple import METHODS
from services.formatting import change, money, percent

PRIMARY = "orders"  # the metric the verdict leads with
SECONDARY = ("revenue", "profit_per_sale", "conversion", "profit")


def p_text(p: float) -> str:
    return "p not available" if math.isnan(p) else "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def verdict(result: Readout, profit: Profit) -> str:
    parts = [_scope(result), _health(result), _effect(result.result(PRIMARY), result), _others(result),
             _profit(profit), _settings(result)]
    return " ".join(part for part in parts if part)


def _scope(result: Readout) -> str:
    interim = " (still running: an interim readout)" if result.window.running else ""
    return (f"{result.campaign.name} ran {result.window.label()}{interim} and compares "
            f"{result.customers(result.treatment):,} {result.treatment} with {result.customers(result.control):,} "
            f"{result.control} customers.")


def _health(result: Readout) -> str:
    health = result.health
    if health.srm.warn:
        return (f"Warning: the split is not the planned one ({percent(health.counts['share'].iloc[1])} "
                f"{result.treatment} against {percent(health.counts['planned_share'].iloc[1])} planned, sample ratio "
                f"mismatch {p_text(health.srm.p_value)}), so assignment may be broken and every number below biased.")
    if health.too_small:
        return "The groups are too small for a reliable readout."
    return ""


def _effect(item: Result, result: Readout) -> str:
    e, label = item.effect, item.metric.label
    interval = f"95% CI {change(e.relative_low)} to {change(e.relative_high)}"
    method = METHODS[result.settings.correction]
    adjusted = "" if result.settings.correction == "none" else f", {method}-adjusted {p_text(item.p_adjusted)}"
    if item.significant(result.settings.alpha):
        direction = "rose" if e.relative > 0 else "fell"
        return f"{label} {direction} by {percent(abs(e.relative))} ({interval}, {p_text(e.p_value)}{adjusted})."
    return (f"{label} did not change detectably ({change(e.relative)}, {interval}, {p_text(e.p_value)}{adjusted}); "
            f"chance that {result.treatment} beats {result.control}: {percent(e.chance_to_win, 0)}.")


def _others(result: Readout) -> str:
    moved = [result.result(key) for key in SECONDARY if result.result(key).significant(result.settings.alpha)]
    if not moved:
        return "No other metric moved detectably."
    changes = [f"{item.metric.label.lower()} {change(item.effect.relative)}" for item in moved]
    return f"Also significant: {', '.join(changes)}."


def _profit(profit: Profit) -> str:
    net = (f"incremental profit after the discount was {money(profit.profit.value)}; after the campaign's cost of "
           f"{money(profit.cost)} that leaves {money(profit.net.value)} (95% CI {money(profit.net.low)} to "
           f"{money(profit.net.high)})")
    roi = f", an ROI of {percent(profit.roi.value, 0)}" if profit.roi is not None else ""
    outcome = {True: "The campaign paid.", False: "The campaign did not pay.",
               None: "Whether it paid is not clear from this sample."}[profit.paid]
    text = f"Over the {profit.treated:,} treated customers the {net}{roi}. {outcome}"
    if profit.break_even_orders_lift is not None:
        text += (f" To break even at the treatment's profit per sale, orders per customer had to rise "
                 f"{change(profit.break_even_orders_lift)}; they changed {change(profit.orders_lift)}.")
    return text[0].upper() + text[1:]


def _settings(result: Readout) -> str:
    s = result.settings
    notes = []
    if s.cuped and result.variance_reduction:
        reduction = result.variance_reduction.get(PRIMARY)
        notes.append("CUPED is on" + (f" (it removed {percent(reduction, 0)} of the variance of orders per customer)"
                                      if reduction is not None else ""))
    if s.cap is not None:
        notes.append(f"values above the {s.cap * 100:g}th percentile are capped")
    if s.sequential:
        notes.append("intervals are sequential (valid at any look)")
    text = "; ".join(notes)
    return f"{text[0].upper()}{text[1:]}." if notes else ""
