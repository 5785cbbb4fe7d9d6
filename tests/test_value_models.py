"""The lifetime-value models reproduce the published CDNOW estimates and recover planted parameters.

CDNOW: the 2,357-customer sample of Fader, Hardie & Lee (2005), from the `lifetimes` wheel
(scripts/fetch_cdnow.py). Published: BG/NBD r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, and a
customer with x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39 weeks (FHL 2005);
Gamma-Gamma p = 6.25, q = 3.74, gamma = 15.44 (Fader & Hardie 2013).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from services.value import bgnbd, gamma_gamma

CDNOW = Path(__file__).with_name("data") / "cdnow_summary.csv"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(CDNOW)


def test_bgnbd_reproduces_the_published_cdnow_estimates(cdnow):
    found = bgnbd.fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert [round(v, 2) for v in (found.r, found.alpha, found.a, found.b)] == [0.24, 4.41, 0.79, 2.43]
    assert found.r == pytest.approx(0.243, abs=5e-4) and found.alpha == pytest.approx(4.414, abs=5e-4)
    assert found.a == pytest.approx(0.793, abs=5e-4) and found.b == pytest.approx(2.426, abs=5e-4)
    assert float(bgnbd.expected_purchases(found, 39, 2, 30.43, 38.86)) == pytest.approx(1.226, abs=5e-4)


def test_gamma_gamma_reproduces_the_published_cdnow_estimates(cdnow):
    found = gamma_gamma.fit(cdnow["x"], cdnow["zbar"])
    assert found.p == pytest.approx(6.25, abs=0.005) and found.q == pytest.approx(3.74, abs=0.005)
    assert found.gamma == pytest.approx(15.44, abs=0.015)


def test_the_modified_model_does_not_call_a_one_time_buyer_certainly_alive(cdnow):
    plain = bgnbd.fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    modified = bgnbd.fit(cdnow["x"], cdnow["t_x"], cdnow["T"], model="mbgnbd")
    assert float(bgnbd.probability_alive(plain, 0, 0, 38.86)) == 1.0
    alive = float(bgnbd.probability_alive(modified, 0, 0, 38.86))
    assert 0.0 < alive < 1.0
    # the modified model fits CDNOW at least as well (it has a share dropping out at once)
    assert (bgnbd.log_likelihood(modified, cdnow["x"], cdnow["t_x"], cdnow["T"]).sum()
            >= bgnbd.log_likelihood(plain, cdnow["x"], cdnow["t_x"], cdnow["T"]).sum() - 1.0)


def _simulate(rng, n: int, T: float, r, alpha, a, b, modified: bool) -> pd.DataFrame:
    """Histories drawn from the model itself: Poisson purchases at gamma rates, dropout after a purchase
    with beta probabilities (the modified model may also drop the customer right after the first)."""
    rates, drop = rng.gamma(r, 1.0 / alpha, n), rng.beta(a, b, n)
    rows = []
    for rate, p in zip(rates, drop):
        t, x, last = 0.0, 0, 0.0
        alive = not (modified and rng.random() < p)
        while alive:
            t += rng.exponential(1.0 / rate)
            if t > T:
                break
            x, last = x + 1, t
            alive = rng.random() >= p
        rows.append((x, last, T))
    return pd.DataFrame(rows, columns=["x", "t_x", "T"])


@pytest.mark.parametrize("model", bgnbd.MODELS)
def test_a_fit_recovers_planted_parameters(model):
    planted = (0.6, 4.0, 0.9, 2.8)
    data = _simulate(np.random.default_rng(11), 20_000, 52.0, *planted, modified=model == "mbgnbd")
    found = bgnbd.fit(data["x"], data["t_x"], data["T"], model=model)
    assert (found.r, found.alpha, found.a, found.b) == pytest.approx(planted, rel=0.2)
    # and predicts the planted population's alive share
    assert bgnbd.probability_alive(found, data["x"], data["t_x"], data["T"]).mean() == pytest.approx(
        bgnbd.probability_alive(bgnbd.Params(*planted, model=model), data["x"], data["t_x"], data["T"]).mean(),
        abs=0.02)


def test_gamma_gamma_recovers_planted_parameters():
    rng = np.random.default_rng(3)
    p, q, g = 4.0, 3.0, 20.0
    nu = rng.gamma(q, 1.0 / g, 20_000)
    x = rng.integers(1, 12, 20_000)
    m = np.array([rng.gamma(p, 1.0 / v, k).mean() for v, k in zip(nu, x)])
    found = gamma_gamma.fit(x, m)
    assert (found.p, found.q, found.gamma) == pytest.approx((p, q, g), rel=0.1)
    # the expected spend shrinks a customer's own mean towards the population's
    population = p * g / (q - 1)
    own = np.array([5.0, 500.0])
    shrunk = gamma_gamma.expected_spend(found, [1, 1], own)
    assert own[0] < shrunk[0] < population < shrunk[1] < own[1]
