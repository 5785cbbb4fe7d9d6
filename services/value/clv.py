"""Customer lifetime value: expected purchases (BG/NBD family) times expected spend (Gamma-Gamma), discounted.

Histories come in days (`history.purchase_histories`); the models work in weeks. A month is
365.25 / 12 days. The 12-month CLV sums, month by month, the purchases expected in that month
times the expected spend per purchase, divided by (1 + monthly discount rate) ** month.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.value import bgnbd, gamma_gamma

DAYS_PER_WEEK = 7.0
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class ValueModel:
    purchases: bgnbd.Params
    spend: gamma_gamma.SpendParams

    @property
    def population_spend(self) -> float:
        """The mean spend per purchase across customers (for those without a repeat purchase)."""
        s = self.spend
        return s.p * s.gamma / (s.q - 1) if s.q > 1 else float("nan")


def _weeks(histories: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (histories["x"].to_numpy(float), histories["t_x"].to_numpy(float) / DAYS_PER_WEEK,
            histories["T"].to_numpy(float) / DAYS_PER_WEEK)


def fit_value_model(histories: pd.DataFrame, model: str = "mbgnbd") -> ValueModel:
    x, t_x, T = _weeks(histories)
    spend = histories["spend"].to_numpy(float)
    repeat = x > 0
    return ValueModel(bgnbd.fit(x, t_x, T, model=model), gamma_gamma.fit(x[repeat], spend[repeat]))


def customer_value(model: ValueModel, histories: pd.DataFrame, months: int = 12,
                   monthly_discount: float = 0.01) -> pd.DataFrame:
    """customer_id, p_alive, purchases (expected over the months), spend (expected per purchase), clv."""
    x, t_x, T = _weeks(histories)
    own = histories["spend"].to_numpy(float)
    spend = np.where(x > 0, gamma_gamma.expected_spend(model.spend, np.maximum(x, 1), np.nan_to_num(own)),
                     model.population_spend)
    horizons = np.arange(months + 1) * DAYS_PER_MONTH / DAYS_PER_WEEK
    cumulative = np.stack([bgnbd.expected_purchases(model.purchases, h, x, t_x, T) for h in horizons])
    per_month = np.diff(cumulative, axis=0)
    discount = (1.0 + monthly_discount) ** -np.arange(1, months + 1)
    return pd.DataFrame({
        "customer_id": histories["customer_id"].to_numpy(),
        "p_alive": bgnbd.probability_alive(model.purchases, x, t_x, T),
        "purchases": cumulative[-1],
        "spend": spend,
        "clv": spend * (discount[:, None] * per_month).sum(axis=0),
    })


def calibration(model: ValueModel, histories: pd.DataFrame, holdout_days: float, top: int = 7) -> pd.DataFrame:
    """Predicted against actual purchases in the holdout, by repeat purchases in the calibration period
    (the last row gathers `top` and more): x, customers, predicted, actual (means per customer)."""
    x, t_x, T = _weeks(histories)
    predicted = bgnbd.expected_purchases(model.purchases, holdout_days / DAYS_PER_WEEK, x, t_x, T)
    frame = pd.DataFrame({"x": np.minimum(x, top).astype(int), "predicted": predicted,
                          "actual": histories["holdout"].to_numpy(float)})
    return (frame.groupby("x").agg(customers=("actual", "size"), predicted=("predicted", "mean"),
                                   actual=("actual", "mean")).reset_index())
