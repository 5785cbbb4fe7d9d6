"""Did the campaign pay? Incremental revenue and profit over the treated customers, ROI and the break-even lift.

Revenue is net of the discount, so the incremental profit is after the discount; the campaign's
cost comes on top. Intervals scale the per-customer lift's interval by the treated customers
(the cost is fixed, so ROI's interval follows from the profit's).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from services.campaigns.readout import Readout


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float

    def scaled(self, factor: float, shift: float = 0.0) -> "Interval":
        ends = sorted((self.low * factor + shift, self.high * factor + shift))
        return Interval(self.value * factor + shift, ends[0], ends[1])


@dataclass(frozen=True)
class Profit:
    treated: int
    revenue: Interval  # incremental revenue
    profit: Interval  # incremental profit after the discount, before the campaign's cost
    cost: float
    net: Interval  # incremental profit minus the cost
    roi: Interval | None  # net / cost; None without a cost
    orders_lift: float  # relative
    profit_per_sale_lift: float  # relative
    break_even_orders_lift: float | None  # the orders lift at which net profit is zero; None: unreachable

    @property
    def paid(self) -> bool | None:
        """True when even the low end of net profit is positive, False when even the high end is negative."""
        return True if self.net.low > 0 else False if self.net.high < 0 else None


def profit_of(result: Readout) -> Profit:
    treated = result.customers(result.treatment)
    revenue = _total(result, "revenue", treated)
    profit = _total(result, "profit", treated)
    cost = result.campaign.cost
    net = profit.scaled(1.0, -cost)
    roi = net.scaled(1.0 / cost) if cost > 0 else None
    return Profit(treated, revenue, profit, cost, net, roi, result.result("orders").effect.relative,
                  result.result("profit_per_sale").effect.relative, _break_even(result, treated, cost))


def _total(result: Readout, key: str, treated: int) -> Interval:
    effect = result.result(key).effect
    return Interval(effect.absolute, effect.absolute_low, effect.absolute_high).scaled(treated)


def _break_even(result: Readout, treated: int, cost: float) -> float | None:
    """Orders per customer must rise by L so that treated orders at the treatment's profit per sale pay back
    the control's profit and the cost: o_C (1 + L) pps_T n_T = (o_C pps_C) n_T + cost."""
    orders = result.result("orders").effect.control
    per_sale = result.result("profit_per_sale").effect
    if treated == 0 or not orders > 0 or not per_sale.treatment > 0 or math.isnan(per_sale.control):
        return None
    return (cost / treated + orders * per_sale.control) / (orders * per_sale.treatment) - 1.0
