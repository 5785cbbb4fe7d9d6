"""Customers of one batch: demographics, behavioural group, purchase rhythm and home branch."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np

from services.demo.arrays import truncated_normal, weighted_choice
from services.demo.calendar import Calendar
from services.demo.catalog import COUNTRIES, FEMALE_NAMES, LAST_NAMES, MALE_NAMES, PATTERN, TOP_BUYER_NAMES
from services.demo.groups import GROUPS, per_group
from services.demo.plan import (
    GROUP_ATTRIBUTE,
    MAINSTREAM,
    PERIOD_END,
    PERIOD_START,
    TOP_BUYER_ATTRIBUTE,
    TOP_BUYERS,
    day_index,
)


# Loyal order rates scatter around the group's mean (coefficient of variation 1/sqrt(shape)): narrow
# enough that a group's rhythm stays recognisable, wide enough to pair A/B test customers by rate.
RATE_SHAPE = 8.0
RATE_RANGE = (4.0, 30.0)  # orders per year: above the Loyal rule's 3, at most one every twelve days or so


@dataclass
class Batch:
    """Arrays of one batch of customers (index = position in the batch)."""

    ids: np.ndarray
    group: np.ndarray
    pattern: np.ndarray
    top: np.ndarray  # rank of a top buyer, -1 otherwise
    signup: np.ndarray  # day index, may be negative (joined before the period)
    rate: np.ndarray  # orders per year of a loyal rhythm
    active_from: np.ndarray  # first day of a loyal rhythm (past the end for other rhythms)
    spend: np.ndarray
    home_branch: np.ndarray  # branch id
    country: np.ndarray  # country index
    ab_variant: np.ndarray  # 0 none, 1 control, 2 treatment
    email_variant: np.ndarray


def draw_customers(rng: np.random.Generator, cal: Calendar, first_id: int, n: int, with_top: bool,
                   branch_rows: dict[str, np.ndarray]) -> tuple[Batch, dict[str, np.ndarray]]:
    """The batch's arrays for the other generators, and its `customers` rows."""
    ids = np.arange(first_id, first_id + n)
    age = truncated_normal(rng, n, 42.9, 13.0, 18.0, 76.0)  # exact age in years on PERIOD_END
    group, top = _groups(rng, age, with_top)
    is_top = top >= 0
    gender = np.array(["Female", "Male", "Other"])[weighted_choice(rng, np.array([[0.505, 0.475, 0.02]]),
                                                                   np.zeros(n, int))]
    country, city = _places(rng, n)
    income = _income(rng, age, country, group, is_top)
    children, marital = _family(rng, age)
    name = _names(rng, gender)
    pattern, signup = _joining(rng, cal, group, is_top)
    rate, spend, active_from = _rhythm(rng, cal, age, income, group, top, pattern, signup)
    home = _home_branches(rng, city, country, branch_rows)
    if with_top:
        name[is_top] = np.array(rng.permutation(TOP_BUYER_NAMES)[:TOP_BUYERS], dtype=object)[top[is_top]]
    rows = {
        "id": ids,
        "external_id": np.strings.add("C", np.strings.zfill(ids.astype("U"), 6)),
        "name": name,
        "gender": gender,
        "birth_date": (np.datetime64(PERIOD_END.isoformat(), "D")
                       - np.floor(age * 365.2425).astype(np.int64).astype("timedelta64[D]")),
        "country": np.array([c[0] for c in COUNTRIES])[country],
        "city": city,
        "income": income,
        "children": children,
        "marital_status": marital,
        "signup_date": np.datetime64(PERIOD_START.isoformat(), "D") + signup.astype("timedelta64[D]"),
        "attributes": _attributes(group, is_top),
    }
    batch = Batch(ids=ids, group=group, pattern=pattern, top=top, signup=signup, rate=rate,
                  active_from=active_from, spend=spend, home_branch=home, country=country,
                  ab_variant=np.zeros(n, int), email_variant=np.zeros(n, int))
    return batch, rows


def _groups(rng: np.random.Generator, age: np.ndarray, with_top: bool) -> tuple[np.ndarray, np.ndarray]:
    """Behavioural group by age (the overall age distribution stays as drawn) and top-buyer rank."""
    n = len(age)
    group_p = np.zeros((n, len(GROUPS)))
    for g, spec in enumerate(GROUPS[1:], start=1):
        group_p[:, g] = np.where((age >= spec.ages[0]) & (age < spec.ages[1]), spec.take_up, 0.0)
    group_p[:, 0] = 1.0 - group_p[:, 1:].sum(axis=1)
    group = weighted_choice(rng, group_p, np.arange(n))

    top = np.full(n, -1)
    if with_top:
        candidates = np.flatnonzero((age >= 44) & (age < 58))
        chosen = rng.choice(candidates if len(candidates) >= TOP_BUYERS else np.arange(n), TOP_BUYERS, replace=False)
        top[chosen] = np.arange(TOP_BUYERS)
        group[chosen] = 0
    return group, top


def _places(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Country index and city name."""
    country = weighted_choice(rng, np.array([[c[1] for c in COUNTRIES]]), np.zeros(n, int))
    city = np.empty(n, dtype=object)
    for ci, (_, _, _, cities) in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == ci)
        names = np.array([name for name, _ in cities], dtype=object)
        weights = np.array([w for _, w in cities])
        city[rows] = names[rng.choice(len(names), len(rows), p=weights / weights.sum())]
    return country, city


def _income(rng: np.random.Generator, age: np.ndarray, country: np.ndarray, group: np.ndarray,
            is_top: np.ndarray) -> np.ndarray:
    income_median = np.interp(age, (18, 25, 35, 45, 55, 65, 76), (28e3, 42e3, 58e3, 68e3, 70e3, 52e3, 40e3))
    country_income = np.array([c[2] for c in COUNTRIES])[country]
    income = income_median * country_income * per_group("income")[group] * rng.lognormal(0.0, 0.35, len(age))
    income = np.where(is_top, income * 3.0, income)
    return np.round(income, -2)


def _family(rng: np.random.Generator, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number of children and marital status, both following age."""
    n = len(age)
    p_children = np.interp(age, (18, 24, 28, 33, 38, 50, 60, 76), (0.09, 0.23, 0.46, 0.67, 0.79, 0.80, 0.78, 0.76))
    children = np.where(rng.random(n) < p_children, 1 + np.minimum(rng.poisson(0.75, n), 4), 0)
    married = np.interp(age, (18, 25, 35, 50, 65, 76), (0.02, 0.25, 0.60, 0.65, 0.60, 0.50))
    married = np.minimum(married * np.where(children > 0, 1.2, 0.7), 0.95)
    divorced = np.interp(age, (18, 30, 35, 50, 76), (0.0, 0.04, 0.08, 0.14, 0.12))
    widowed = np.interp(age, (18, 55, 65, 76), (0.0, 0.02, 0.08, 0.18))
    u = rng.random(n)
    marital = np.where(u < married, "Married", np.where(u < married + divorced, "Divorced",
                       np.where(u < married + divorced + widowed, "Widowed", "Single")))
    return children, marital


def _names(rng: np.random.Generator, gender: np.ndarray) -> np.ndarray:
    n = len(gender)
    first = np.where(gender == "Female", np.array(FEMALE_NAMES)[rng.integers(0, len(FEMALE_NAMES), n)],
                     np.where(gender == "Male", np.array(MALE_NAMES)[rng.integers(0, len(MALE_NAMES), n)],
                              np.array(FEMALE_NAMES + MALE_NAMES)[rng.integers(0, 2 * len(MALE_NAMES), n)]))
    name = np.strings.add(np.strings.add(first, " "), np.array(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), n)])
    return name.astype(object)


def _joining(rng: np.random.Generator, cal: Calendar, group: np.ndarray,
             is_top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Purchase rhythm (index into PATTERNS) and signup day, which the rhythm bounds."""
    pattern = weighted_choice(rng, per_group("patterns"), group)
    pattern[is_top] = PATTERN["loyal"]
    end = cal.days - 1
    signup_range = np.array([(-365, end), (-365, end - 120), (end - 120, end - 10),
                             (-365, end - 600), (-365, day_index(dt.date(2021, 6, 30))), (-365, end - 200)])
    lo, hi = signup_range[pattern, 0], signup_range[pattern, 1]
    signup = lo + np.floor((hi - lo) * rng.random(len(group)) ** 0.8).astype(int)
    signup[is_top] = -200 + rng.integers(0, 100, int(is_top.sum()))
    return pattern, signup


def _rhythm(rng: np.random.Generator, cal: Calendar, age: np.ndarray, income: np.ndarray, group: np.ndarray,
            top: np.ndarray, pattern: np.ndarray,
            signup: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loyal order rate, basket size and the first day of a loyal rhythm; top buyers outdo everyone."""
    is_top = top >= 0
    rate = np.clip(rng.gamma(RATE_SHAPE, per_group("loyal_rate")[group] / RATE_SHAPE), *RATE_RANGE)
    age_spend = np.interp(age, (18, 25, 32, 38, 44, 50, 57, 62, 68, 76),
                          (0.70, 0.75, 0.85, 1.00, 1.25, 1.35, 1.30, 1.00, 0.80, 0.70))
    spend = (per_group("spend")[group] * np.clip(rng.lognormal(0.0, 0.3, len(age)), 0.5, 2.0) * age_spend
             * np.clip(income / 60e3, 0.3, 4.0) ** 0.2)
    rate[is_top] = 50.0 + 2.0 * (TOP_BUYERS - top[is_top])
    spend[is_top] = 7.0 + 0.8 * (TOP_BUYERS - top[is_top])
    end = cal.days - 1
    active_from = np.full(len(age), end + 1)
    loyal = pattern == PATTERN["loyal"]
    delay = rng.exponential(20.0, int(loyal.sum())).astype(int)
    active_from[loyal] = np.minimum(np.maximum(signup[loyal], 0) + delay, end)
    return rate, spend, active_from


def _home_branches(rng: np.random.Generator, city: np.ndarray, country: np.ndarray,
                   branch_rows: dict[str, np.ndarray]) -> np.ndarray:
    """A branch in the customer's city when there is one, else one in the country."""
    same_city = branch_rows["city"][None, :] == city[:, None]
    same_country = branch_rows["country_index"][None, :] == country[:, None]
    candidates = np.where(same_city.any(axis=1)[:, None], same_city, same_country).astype(float)
    return branch_rows["id"][weighted_choice(rng, candidates, np.arange(len(city)))]


def _attributes(group: np.ndarray, is_top: np.ndarray) -> np.ndarray:
    """The planted markers as JSON text: the behavioural group, and top buyers flagged."""
    attrs = np.array([json.dumps({GROUP_ATTRIBUTE: g.name}) for g in GROUPS], dtype=object)[group]
    attrs[is_top] = [json.dumps({GROUP_ATTRIBUTE: MAINSTREAM, TOP_BUYER_ATTRIBUTE: True})] * int(is_top.sum())
    return attrs
