"""Deterministic demo data: a retailer with four years of orders, coupons, campaigns and surveys.

`generate_demo_data(engine, DemoConfig(...))` writes branches, campaigns, coupons, customers,
transactions, coupon events, campaign assignments and survey responses straight into an
empty database, customer batch by customer batch, so a million customers fit in bounded
memory. The same configuration always produces the same rows. It does not build
`customer_summary`; run `services.refresh.refresh(engine)` afterwards.

The data tells stories the product should be able to find again:

- customers average about 43 years (birth dates, judged on the reference date, the last
  order day 2023-12-31), about 71% have children, the United States lead ahead of Australia;
- orders run from 2020-01-01 to 2023-12-31 with a November-December peak (Black Friday
  and the run-up to Christmas) and busier weekends; customers aged 41-60 spend the most,
  61-70 the least of the decade brackets 21-30..61-70;
- purchase rhythms make the profile rules produce Loyal (the largest revenue share),
  Periodic (orders in three or four calendar years, one or two a year), a few VIPs, and
  One-time, New and Occasional customers; five named top buyers spend far more than anyone;
- a coupon funnel (issued -> claimed -> burned, or expired) across branches, two of which
  see many claims and few burns;
- a "20% discount A/B test": active customers are randomised 50/50 in pairs of similar
  purchase rates; in the window treatment customers buy about 15% more often, at a lower
  profit per sale; plus a holiday e-mail campaign (with a 10% holdout) and a loyalty
  programme with its own coupon;
- four behavioural groups that clustering on the summary features should separate;
- NPS answers that follow behaviour (loyal customers score higher than one-time buyers).

Where the truths are recorded: the returned `PlantedTruths`, and in the data itself so they
survive the process: every customer's `attributes` JSON carries its behavioural group as
``{"demo_group": "<group>"}`` (``"mainstream"`` when it belongs to none) and the top buyers
also ``"demo_top_buyer": true``; the A/B test is the campaign of kind ``ab_test`` whose
description states the plan. `planted_groups(engine)` reads the groups back.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, Engine, JSON, Table, select, text

from services.models import (
    Branch,
    Campaign,
    CampaignAssignment,
    Coupon,
    CouponEvent,
    Customer,
    SurveyResponse,
    Transaction,
)

Progress = Callable[[str], None]

PERIOD_START = dt.date(2020, 1, 1)
PERIOD_END = dt.date(2023, 12, 31)
GROUP_ATTRIBUTE = "demo_group"
TOP_BUYER_ATTRIBUTE = "demo_top_buyer"
MAINSTREAM = "mainstream"
MIN_CUSTOMERS = 100
_DAY = 86_400
_INSERT_CHUNK = 50_000
_SQLITE_CACHE_KIB = 64 * 1024


@dataclass(frozen=True)
class DemoConfig:
    customers: int = 20_000
    seed: int = 42
    batch_size: int = 50_000  # customers generated and written per batch


@dataclass(frozen=True)
class PlantedTruths:
    """What the generator planted; the analytics should find these again."""

    seed: int
    customers: int
    transactions: int
    period_start: dt.date
    period_end: dt.date  # the last order day, hence the reference date of the refresh
    ab_test_campaign: str
    ab_test_window: tuple[dt.date, dt.date]
    ab_test_discount_pct: float
    ab_test_planned_purchase_lift: float  # treatment vs control purchases per customer
    ab_test_assigned: dict[str, int]  # variant -> customers
    other_campaigns: tuple[str, ...]
    group_attribute: str  # key in customers.attributes naming the behavioural group
    groups: dict[str, int]  # behavioural group -> customers (MAINSTREAM = none of them)
    group_descriptions: dict[str, str]
    top_buyers: tuple[tuple[str, str], ...]  # (external_id, name), highest planned spend first
    low_burn_branches: tuple[str, ...]  # many claims, few burns
    planned_claim_rate: float  # claimed / issued
    planned_burn_rate: float  # burned / claimed
    coupon_funnel: dict[str, int]  # event -> rows written
    survey_responses: int


# ----------------------------------------------------------------------------- catalogue
PATTERNS = ("prospect", "one_time", "new", "occasional", "periodic", "loyal")
_P = {name: i for i, name in enumerate(PATTERNS)}

# name, typical basket price, gross margin, extra items per order (Poisson mean)
CATEGORIES: tuple[tuple[str, float, float, float], ...] = (
    ("Electronics", 220.0, 0.20, 0.3),
    ("Clothing", 75.0, 0.48, 1.2),
    ("Home", 130.0, 0.36, 0.5),
    ("Beauty", 45.0, 0.55, 1.0),
    ("Sports", 95.0, 0.38, 0.4),
    ("Grocery", 60.0, 0.24, 6.0),
    ("Toys", 55.0, 0.40, 0.6),
)
_TOYS = 6
CHANNELS = ("store", "online", "mobile")
_HOURS = {  # relative weight of each hour of the day, per channel
    "store": (0,) * 9 + (5, 7, 9, 10, 10, 9, 9, 10, 11, 11, 9, 6) + (0,) * 3,
    "online": (2, 1, 1, 0, 0, 1, 2, 3, 4, 5, 6, 6, 7, 6, 6, 6, 6, 7, 8, 10, 11, 10, 7, 4),
    "mobile": (3, 2, 1, 0, 0, 1, 2, 4, 6, 5, 5, 6, 9, 8, 6, 5, 5, 6, 8, 10, 12, 12, 9, 5),
}


@dataclass(frozen=True)
class _Group:
    name: str
    description: str
    patterns: tuple[float, ...]  # probability of each of PATTERNS
    loyal_rate: float  # mean orders per year of a loyal member
    spend: float  # basket size multiplier
    categories: tuple[float, ...]
    channels: tuple[float, ...]
    coupon_use: float  # share of orders paid with a coupon
    income: float  # income multiplier


GROUPS: tuple[_Group, ...] = (
    _Group(MAINSTREAM, "Customers outside the planted behavioural groups.",
           (0.03, 0.17, 0.05, 0.22, 0.17, 0.36), 6.0, 1.0,
           (0.12, 0.22, 0.16, 0.12, 0.10, 0.18, 0.10), (0.45, 0.38, 0.17), 0.05, 1.0),
    _Group("young_tech_enthusiasts", "Aged 20-34, very frequent mid-size Electronics orders, mostly on mobile.",
           (0.01, 0.04, 0.07, 0.08, 0.02, 0.78), 15.0, 0.65,
           (0.55, 0.15, 0.03, 0.07, 0.12, 0.05, 0.03), (0.08, 0.32, 0.60), 0.05, 0.9),
    _Group("affluent_big_basket", "Aged 40-62, high income, a few large Home and Electronics orders a year.",
           (0.01, 0.08, 0.03, 0.25, 0.48, 0.15), 4.5, 3.2,
           (0.25, 0.15, 0.35, 0.10, 0.10, 0.0, 0.05), (0.50, 0.45, 0.05), 0.01, 2.3),
    _Group("bargain_hunters", "Coupon-driven: about half of their small orders use a coupon.",
           (0.01, 0.06, 0.04, 0.28, 0.16, 0.45), 7.0, 0.6,
           (0.05, 0.28, 0.14, 0.18, 0.08, 0.15, 0.12), (0.55, 0.30, 0.15), 0.5, 0.75),
    _Group("older_grocery_regulars", "Aged 58 and over, weekly small Grocery baskets in store.",
           (0.01, 0.03, 0.02, 0.05, 0.04, 0.85), 20.0, 0.7,
           (0.02, 0.06, 0.10, 0.07, 0.02, 0.70, 0.03), (0.85, 0.10, 0.05), 0.08, 0.8),
)

# country, share of customers, income factor, cities with weights
COUNTRIES: tuple[tuple[str, float, float, tuple[tuple[str, float], ...]], ...] = (
    ("United States", 0.36, 1.10, (("New York", 0.22), ("Los Angeles", 0.15), ("Chicago", 0.12),
                                   ("Houston", 0.10), ("Dallas", 0.08), ("Seattle", 0.08),
                                   ("Phoenix", 0.07), ("Philadelphia", 0.07), ("San Diego", 0.06),
                                   ("San Antonio", 0.05))),
    ("Australia", 0.20, 1.05, (("Sydney", 0.35), ("Melbourne", 0.32), ("Brisbane", 0.15),
                               ("Perth", 0.10), ("Adelaide", 0.08))),
    ("United Kingdom", 0.14, 0.95, (("London", 0.45), ("Manchester", 0.15), ("Birmingham", 0.15),
                                    ("Leeds", 0.10), ("Glasgow", 0.08), ("Bristol", 0.07))),
    ("Canada", 0.12, 1.00, (("Toronto", 0.40), ("Montreal", 0.22), ("Vancouver", 0.20),
                            ("Calgary", 0.10), ("Ottawa", 0.08))),
    ("Germany", 0.10, 1.00, (("Berlin", 0.30), ("Hamburg", 0.20), ("Munich", 0.20),
                             ("Cologne", 0.15), ("Frankfurt", 0.15))),
    ("France", 0.08, 0.92, (("Paris", 0.45), ("Marseille", 0.15), ("Lyon", 0.15),
                            ("Toulouse", 0.13), ("Nice", 0.12))),
)

BRANCHES: tuple[tuple[str, str, str], ...] = (
    ("New York Fifth Avenue", "New York", "United States"),
    ("Brooklyn Atlantic Terminal", "New York", "United States"),
    ("Los Angeles The Grove", "Los Angeles", "United States"),
    ("Chicago Michigan Avenue", "Chicago", "United States"),
    ("Houston Galleria", "Houston", "United States"),
    ("Seattle Pike Place", "Seattle", "United States"),
    ("Sydney Pitt Street", "Sydney", "Australia"),
    ("Melbourne Bourke Street", "Melbourne", "Australia"),
    ("Brisbane Queen Street", "Brisbane", "Australia"),
    ("London Oxford Street", "London", "United Kingdom"),
    ("Manchester Arndale", "Manchester", "United Kingdom"),
    ("Toronto Eaton Centre", "Toronto", "Canada"),
    ("Vancouver Robson Street", "Vancouver", "Canada"),
    ("Berlin Alexanderplatz", "Berlin", "Germany"),
    ("Munich Marienplatz", "Munich", "Germany"),
    ("Paris Rivoli", "Paris", "France"),
    ("Lyon Part-Dieu", "Lyon", "France"),
)

FEMALE_NAMES = (
    "Olivia", "Emma", "Charlotte", "Amelia", "Sophia", "Isabella", "Mia", "Ava", "Grace", "Chloe",
    "Emily", "Hannah", "Lucy", "Sarah", "Jessica", "Laura", "Rachel", "Megan", "Anna", "Julia",
    "Claire", "Natalie", "Rebecca", "Victoria", "Zoe", "Ella", "Harper", "Lily", "Ruby", "Maya",
    "Sofia", "Léa", "Camille", "Lena", "Marie", "Priya", "Aisha", "Mei", "Elena", "Nora",
)
MALE_NAMES = (
    "Liam", "Noah", "Oliver", "James", "William", "Lucas", "Henry", "Jack", "Thomas", "Daniel",
    "Matthew", "Samuel", "Joseph", "David", "Michael", "Benjamin", "Ethan", "Ryan", "Nathan", "Adam",
    "Andrew", "Christopher", "Joshua", "Luke", "Max", "Leo", "Oscar", "Harry", "George", "Charlie",
    "Hugo", "Louis", "Felix", "Jonas", "Paul", "Arjun", "Omar", "Wei", "Mateo", "Gabriel",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
    "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards",
    "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey",
    "Kelly", "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray",
    "O'Brien", "Nguyen", "Patel", "Chen", "Singh", "Müller", "Schmidt", "Schneider", "Fischer", "Weber",
    "Martin", "Bernard", "Dubois", "Lefebvre", "Moreau", "Garcia", "Rodriguez", "Lopez", "Kowalski", "Rossi",
)
TOP_BUYER_NAMES = (
    "Eleanor Whitfield", "Marcus Delaney", "Sofia Brennan", "Jonathan Hale", "Priya Raman",
    "Theodore Ashworth", "Isabelle Fontaine", "Gregory Lindqvist",
)
TOP_BUYERS = 5

COMMENTS = {
    "promoter": (
        "Great selection and friendly staff.", "Fast delivery, will order again.",
        "Love the app, checkout takes seconds.", "Always find what I need.",
        "Excellent value for money.", "Customer service sorted my return in minutes.",
        "My go-to shop for the whole family.",
    ),
    "passive": (
        "Good overall, delivery could be faster.", "Prices are fine but the website is slow.",
        "Decent range, sometimes out of stock.", "Okay experience, nothing special.",
        "Store is nice but the queues are long on weekends.", "Would like more payment options.",
    ),
    "detractor": (
        "Delivery was late twice.", "Coupons are hard to redeem in store.",
        "Too expensive compared to other shops.", "My item arrived damaged.",
        "Support never answered my email.", "The app keeps logging me out.",
        "Returned an item and waited weeks for the refund.",
    ),
}

AB_TEST = "20% discount A/B test"
AB_WINDOW = (dt.date(2023, 3, 1), dt.date(2023, 6, 30))
AB_DISCOUNT_PCT = 20.0
AB_LIFT = 0.15
AB_SAMPLE = 0.8  # share of eligible (active, loyal-rhythm) customers in the test
EMAIL = "Holiday email 2022"
EMAIL_WINDOW = (dt.date(2022, 11, 14), dt.date(2022, 12, 31))
EMAIL_LIFT = 0.06
EMAIL_TREATMENT_SHARE = 0.9
LOYALTY = "Loyalty rewards 2023"
LOYALTY_WINDOW = (dt.date(2023, 7, 1), dt.date(2023, 12, 31))
CLAIM_RATE = 0.60
BURN_RATE = 0.55
LOW_BURN_BRANCHES = 2
SURVEY_SHARE = 0.18


# ----------------------------------------------------------------------------- calendar
def _day(date: dt.date) -> int:
    return (date - PERIOD_START).days


@dataclass(frozen=True)
class _Calendar:
    """Day-level facts over the period; day 0 is PERIOD_START."""

    days: int
    month: np.ndarray  # 1..12
    quarter: np.ndarray  # 0.. (quarters since the start)
    year: np.ndarray  # calendar year
    cumulative: np.ndarray  # cumulative order weight, len days + 1
    year_weight: float  # average weight of one year
    black_friday: np.ndarray  # index into black-friday coupons, -1 outside
    coupons: dict[str, np.ndarray]  # per coupon: valid_from/valid_to day, pct, amount, campaign


def _calendar() -> _Calendar:
    days = _day(PERIOD_END) + 1
    dates = np.datetime64(PERIOD_START.isoformat(), "D") + np.arange(days)
    year = dates.astype("datetime64[Y]").astype(int) + 1970
    month = dates.astype("datetime64[M]").astype(int) % 12 + 1
    dow = (dates.astype(int) + 3) % 7  # 0 = Monday
    season = np.array([0.85, 0.80, 0.90, 0.92, 0.95, 0.95, 0.97, 0.98, 0.93, 1.00, 1.45, 1.70])
    weekday = np.array([0.85, 0.85, 0.90, 0.95, 1.10, 1.35, 1.20])
    weight = season[month - 1] * weekday[dow]
    black_friday = np.full(days, -1)
    for i, y in enumerate(range(PERIOD_START.year, PERIOD_END.year + 1)):
        november = dt.date(y, 11, 1)
        thanksgiving = november + dt.timedelta(days=(3 - november.weekday()) % 7 + 21)
        friday = _day(thanksgiving) + 1
        weight[friday - 6:friday] *= 1.3
        weight[friday] *= 2.4
        weight[friday + 3] *= 1.9  # Cyber Monday
        black_friday[friday - 7:friday + 4] = i
        weight[_day(dt.date(y, 12, 25))] *= 0.3
        weight[_day(dt.date(y, 1, 1))] *= 0.5
    cumulative = np.concatenate([[0.0], np.cumsum(weight)])
    quarter = (year - PERIOD_START.year) * 4 + (month - 1) // 3
    return _Calendar(
        days=days, month=month, quarter=quarter, year=year, cumulative=cumulative,
        year_weight=float(cumulative[-1]) / (days / 365.25), black_friday=black_friday,
        coupons=_coupon_specs(black_friday, quarter),
    )


def _coupon_specs(black_friday: np.ndarray, quarter: np.ndarray) -> dict[str, np.ndarray]:
    """Two coupons per quarter (10% and 15 off), one per Black Friday, one for the loyalty campaign."""
    codes, start, end, pct, amount, campaign = [], [], [], [], [], []
    for q in range(int(quarter.max()) + 1):
        days = np.flatnonzero(quarter == q)
        y, n = PERIOD_START.year + q // 4, q % 4 + 1
        for code, p, a in ((f"SAVE10-{y}Q{n}", 10.0, np.nan), (f"TAKE15-{y}Q{n}", np.nan, 15.0)):
            codes.append(code), start.append(days[0]), end.append(days[-1])
            pct.append(p), amount.append(a), campaign.append("")
    for i in range(int(black_friday.max()) + 1):
        days = np.flatnonzero(black_friday == i)
        codes.append(f"BLACKFRIDAY{PERIOD_START.year + i}"), start.append(days[0]), end.append(days[-1])
        pct.append(25.0), amount.append(np.nan), campaign.append("")
    codes.append("LOYAL10-2023"), start.append(_day(LOYALTY_WINDOW[0])), end.append(_day(LOYALTY_WINDOW[1]))
    pct.append(10.0), amount.append(np.nan), campaign.append(LOYALTY)
    return {
        "code": np.array(codes), "valid_from": np.array(start), "valid_to": np.array(end),
        "pct": np.array(pct), "amount": np.array(amount), "campaign": np.array(campaign),
    }


def _sample_days(rng: np.random.Generator, cal: _Calendar, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One day per row in [lo, hi] (inclusive), following the seasonal and weekly rhythm."""
    c = cal.cumulative
    target = c[lo] + rng.random(len(lo)) * (c[hi + 1] - c[lo])
    day = np.searchsorted(c, target, side="right") - 1
    return np.clip(day, lo, hi)


def _window_weight(cal: _Calendar, lo, hi) -> np.ndarray:
    """Expected orders in [lo, hi] of a customer buying once a year on average."""
    return (cal.cumulative[np.asarray(hi) + 1] - cal.cumulative[np.asarray(lo)]) / cal.year_weight


# ----------------------------------------------------------------------------- customers
@dataclass
class _Batch:
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


def _choice(rng: np.random.Generator, probabilities: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per row, an index drawn from the probability row `probabilities[rows]`."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative /= cumulative[:, -1:]
    u = rng.random(len(rows))
    if len(probabilities) <= 64:  # few distinct rows: one search per row kind, little memory
        out = np.zeros(len(rows), dtype=np.int64)
        for v in np.unique(rows):
            mask = rows == v
            out[mask] = np.searchsorted(cumulative[v], u[mask], side="right")
    else:
        out = (u[:, None] >= cumulative[rows]).sum(axis=1)
    return out.clip(0, probabilities.shape[1] - 1)


def _truncated_normal(rng, n, mean, sd, low, high) -> np.ndarray:
    values = rng.normal(mean, sd, n)
    bad = (values < low) | (values >= high)
    while bad.any():
        values[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = (values < low) | (values >= high)
    return values


def _customers(rng: np.random.Generator, cal: _Calendar, first_id: int, n: int, with_top: bool,
               branch_rows: dict[str, np.ndarray]) -> tuple[_Batch, dict[str, np.ndarray]]:
    ids = np.arange(first_id, first_id + n)
    age = _truncated_normal(rng, n, 42.9, 13.0, 18.0, 76.0)  # exact age in years on PERIOD_END

    # behavioural groups depend on age; the overall age distribution stays as drawn
    group_p = np.zeros((n, len(GROUPS)))
    group_p[:, 1] = np.where((age >= 20) & (age < 35), 0.30, 0.0)
    group_p[:, 2] = np.where((age >= 40) & (age < 63), 0.16, 0.0)
    group_p[:, 3] = np.where((age >= 22) & (age < 61), 0.12, 0.0)
    group_p[:, 4] = np.where(age >= 58, 0.45, 0.0)
    group_p[:, 0] = 1.0 - group_p[:, 1:].sum(axis=1)
    group = _choice(rng, group_p, np.arange(n))

    top = np.full(n, -1)
    if with_top:
        candidates = np.flatnonzero((age >= 44) & (age < 58))
        chosen = rng.choice(candidates if len(candidates) >= TOP_BUYERS else np.arange(n), TOP_BUYERS, replace=False)
        top[chosen] = np.arange(TOP_BUYERS)
        group[chosen] = 0
    is_top = top >= 0

    gender = np.array(["Female", "Male", "Other"])[_choice(rng, np.array([[0.505, 0.475, 0.02]]), np.zeros(n, int))]
    country = _choice(rng, np.array([[c[1] for c in COUNTRIES]]), np.zeros(n, int))
    city = np.empty(n, dtype=object)
    for ci, (_, _, _, cities) in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == ci)
        names = np.array([name for name, _ in cities], dtype=object)
        weights = np.array([w for _, w in cities])
        city[rows] = names[rng.choice(len(names), len(rows), p=weights / weights.sum())]

    spec = {f: np.array([getattr(g, f) for g in GROUPS]) for f in ("loyal_rate", "spend", "income")}
    income_median = np.interp(age, (18, 25, 35, 45, 55, 65, 76), (28e3, 42e3, 58e3, 68e3, 70e3, 52e3, 40e3))
    country_income = np.array([c[2] for c in COUNTRIES])[country]
    income = income_median * country_income * spec["income"][group] * rng.lognormal(0.0, 0.35, n)
    income = np.where(is_top, income * 3.0, income)
    income = np.round(income, -2)

    p_children = np.interp(age, (18, 24, 28, 33, 38, 50, 60, 76), (0.09, 0.23, 0.46, 0.67, 0.79, 0.80, 0.78, 0.76))
    children = np.where(rng.random(n) < p_children, 1 + np.minimum(rng.poisson(0.75, n), 4), 0)
    married = np.interp(age, (18, 25, 35, 50, 65, 76), (0.02, 0.25, 0.60, 0.65, 0.60, 0.50))
    married = np.minimum(married * np.where(children > 0, 1.2, 0.7), 0.95)
    divorced = np.interp(age, (18, 30, 35, 50, 76), (0.0, 0.04, 0.08, 0.14, 0.12))
    widowed = np.interp(age, (18, 55, 65, 76), (0.0, 0.02, 0.08, 0.18))
    u = rng.random(n)
    marital = np.where(u < married, "Married", np.where(u < married + divorced, "Divorced",
                       np.where(u < married + divorced + widowed, "Widowed", "Single")))

    first = np.where(gender == "Female", np.array(FEMALE_NAMES)[rng.integers(0, len(FEMALE_NAMES), n)],
                     np.where(gender == "Male", np.array(MALE_NAMES)[rng.integers(0, len(MALE_NAMES), n)],
                              np.array(FEMALE_NAMES + MALE_NAMES)[rng.integers(0, 2 * len(MALE_NAMES), n)]))
    name = np.strings.add(np.strings.add(first, " "), np.array(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), n)])

    # purchase rhythm and when the customer joined
    pattern = _choice(rng, np.array([g.patterns for g in GROUPS]), group)
    pattern[is_top] = _P["loyal"]
    end = cal.days - 1
    signup_range = np.array([(-365, end), (-365, end - 120), (end - 120, end - 10),
                             (-365, end - 600), (-365, _day(dt.date(2021, 6, 30))), (-365, end - 200)])
    lo, hi = signup_range[pattern, 0], signup_range[pattern, 1]
    signup = lo + np.floor((hi - lo) * rng.random(n) ** 0.8).astype(int)
    signup[is_top] = -200 + rng.integers(0, 100, int(is_top.sum()))

    rate = np.clip(rng.gamma(4.0, spec["loyal_rate"][group] / 4.0), 4.0, 30.0)
    age_spend = np.interp(age, (18, 25, 32, 38, 44, 50, 57, 62, 68, 76),
                          (0.70, 0.75, 0.85, 1.00, 1.25, 1.35, 1.30, 1.00, 0.80, 0.70))
    spend = (spec["spend"][group] * np.clip(rng.lognormal(0.0, 0.3, n), 0.5, 2.0) * age_spend
             * np.clip(income / 60e3, 0.3, 4.0) ** 0.2)
    rate[is_top] = 50.0 + 2.0 * (TOP_BUYERS - top[is_top])
    spend[is_top] = 7.0 + 0.8 * (TOP_BUYERS - top[is_top])
    active_from = np.full(n, end + 1)
    loyal = pattern == _P["loyal"]
    delay = rng.exponential(20.0, int(loyal.sum())).astype(int)
    active_from[loyal] = np.minimum(np.maximum(signup[loyal], 0) + delay, end)

    # home branch: one in the customer's city when there is one, else one in the country
    same_city = branch_rows["city"][None, :] == city[:, None]
    same_country = branch_rows["country_index"][None, :] == country[:, None]
    candidates = np.where(same_city.any(axis=1)[:, None], same_city, same_country).astype(float)
    home = branch_rows["id"][_choice(rng, candidates, np.arange(n))]

    birth = (np.datetime64(PERIOD_END.isoformat(), "D")
             - np.floor(age * 365.2425).astype(np.int64).astype("timedelta64[D]"))
    name = name.astype(object)
    if with_top:
        name[is_top] = np.array(rng.permutation(TOP_BUYER_NAMES)[:TOP_BUYERS], dtype=object)[top[is_top]]
    attrs = np.array([json.dumps({GROUP_ATTRIBUTE: g.name}) for g in GROUPS], dtype=object)[group]
    attrs[is_top] = [json.dumps({GROUP_ATTRIBUTE: MAINSTREAM, TOP_BUYER_ATTRIBUTE: True})] * int(is_top.sum())
    rows = {
        "id": ids,
        "external_id": np.strings.add("C", np.strings.zfill(ids.astype("U"), 6)),
        "name": name,
        "gender": gender,
        "birth_date": birth,
        "country": np.array([c[0] for c in COUNTRIES])[country],
        "city": city,
        "income": income,
        "children": children,
        "marital_status": marital,
        "signup_date": np.datetime64(PERIOD_START.isoformat(), "D") + signup.astype("timedelta64[D]"),
        "attributes": attrs,
    }
    batch = _Batch(ids=ids, group=group, pattern=pattern, top=top, signup=signup, rate=rate,
                   active_from=active_from, spend=spend, home_branch=home, country=country,
                   ab_variant=np.zeros(n, int), email_variant=np.zeros(n, int))
    _assign(rng, batch)
    return batch, rows


def _assign(rng: np.random.Generator, b: _Batch) -> None:
    """Campaign variants: the A/B test pairs customers of similar purchase rates, one of each pair treated."""
    loyal = (b.pattern == _P["loyal"]) & (b.top < 0)
    eligible = loyal & (b.active_from < _day(AB_WINDOW[0]) - 30) & (rng.random(len(b.ids)) < AB_SAMPLE)
    chosen = np.flatnonzero(eligible)
    chosen = chosen[np.argsort(b.rate[chosen], kind="stable")]
    flip = rng.random((len(chosen) + 1) // 2) < 0.5
    treated = np.zeros(len(chosen), bool)
    treated[0::2] = flip
    treated[1::2] = ~flip[: len(chosen) // 2]
    b.ab_variant[chosen] = np.where(treated, 2, 1)

    eligible = loyal & (b.active_from < _day(EMAIL_WINDOW[0]) - 30) & (rng.random(len(b.ids)) < 0.5)
    chosen = np.flatnonzero(eligible)
    b.email_variant[chosen] = np.where(rng.random(len(chosen)) < EMAIL_TREATMENT_SHARE, 2, 1)


# ----------------------------------------------------------------------------- orders
def _order_segments(rng: np.random.Generator, cal: _Calendar, b: _Batch):
    """(customer, first day, last day, orders) spans from which the order days are drawn."""
    end = cal.days - 1
    start = np.maximum(b.signup, 0)
    cust, lo, hi, count = [], [], [], []

    def add(rows, seg_lo, seg_hi, seg_n):
        keep = seg_n > 0
        cust.append(rows[keep]), lo.append(np.asarray(seg_lo)[keep])
        hi.append(np.asarray(seg_hi)[keep]), count.append(np.asarray(seg_n)[keep])

    rows = np.flatnonzero(b.pattern == _P["one_time"])
    day = np.minimum(start[rows] + rng.exponential(45.0, len(rows)).astype(int), end - 92)
    add(rows, day, day, np.ones(len(rows), int))

    rows = np.flatnonzero(b.pattern == _P["new"])
    add(rows, np.maximum(start[rows], end - 89), np.full(len(rows), end), 1 + rng.poisson(0.6, len(rows)))

    rows = np.flatnonzero(b.pattern == _P["occasional"])
    s = start[rows] + (rng.random(len(rows)) * (end - 420 - start[rows])).astype(int)
    e = np.minimum(s + 60 + rng.integers(0, 480, len(rows)), end - 370)
    add(rows, s, np.maximum(e, s), 2 + rng.poisson(1.2, len(rows)))

    rows = np.flatnonzero(b.pattern == _P["periodic"])
    years = np.arange(PERIOD_START.year, PERIOD_END.year + 1)
    signup_year = (np.datetime64(PERIOD_START.isoformat(), "D") + b.signup[rows].astype("timedelta64[D]")
                   ).astype("datetime64[Y]").astype(int) + 1970
    priority = np.where(years[None, :] >= signup_year[:, None], rng.random((len(rows), len(years))), -1.0)
    wanted = np.where(rng.random(len(rows)) < 0.6, 3, 4)
    rank = (-priority).argsort(axis=1).argsort(axis=1)
    chosen = (rank < wanted[:, None]) & (priority >= 0)
    for j, y in enumerate(years):
        r = rows[chosen[:, j]]
        y_lo = np.maximum(_day(dt.date(y, 1, 1)), start[r])
        y_hi = np.full(len(r), min(_day(dt.date(y, 12, 31)), end))
        add(r, y_lo, np.maximum(y_hi, y_lo), 1 + rng.poisson(0.4, len(r)))

    rows = np.flatnonzero(b.pattern == _P["loyal"])
    first = b.active_from[rows]
    expected = b.rate[rows] * _window_weight(cal, first, np.full(len(rows), end))
    add(rows, first, np.full(len(rows), end), np.maximum(1, rng.poisson(expected)))

    for variant, window, lift in ((b.ab_variant, AB_WINDOW, AB_LIFT), (b.email_variant, EMAIL_WINDOW, EMAIL_LIFT)):
        r = np.flatnonzero(variant == 2)
        w_lo, w_hi = _day(window[0]), _day(window[1])
        extra = rng.poisson(lift * b.rate[r] * _window_weight(cal, w_lo, w_hi))
        add(r, np.full(len(r), w_lo), np.full(len(r), w_hi), extra)

    r = np.flatnonzero(b.top == 0)  # the latest order of the data set: the reference date
    add(r, np.full(len(r), end), np.full(len(r), end), np.ones(len(r), int))
    return tuple(np.concatenate(x) for x in (cust, lo, hi, count))


def _orders(rng: np.random.Generator, cal: _Calendar, b: _Batch, first_tx: int, campaign_ids: dict[str, int],
            branch_rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    seg_cust, seg_lo, seg_hi, seg_n = _order_segments(rng, cal, b)
    cust = np.repeat(seg_cust, seg_n)
    day = _sample_days(rng, cal, np.repeat(seg_lo, seg_n), np.repeat(seg_hi, seg_n))
    m = len(cust)
    group = b.group[cust]

    category = _choice(rng, np.array([g.categories for g in GROUPS]), group)
    holiday = (cal.month[day] >= 11) & (rng.random(m) < 0.12)
    category[holiday] = _TOYS
    channel = _choice(rng, np.array([g.channels for g in GROUPS]), group)

    in_ab = (day >= _day(AB_WINDOW[0])) & (day <= _day(AB_WINDOW[1])) & (b.ab_variant[cust] == 2)
    in_email = (day >= _day(EMAIL_WINDOW[0])) & (day <= _day(EMAIL_WINDOW[1])) & (b.email_variant[cust] == 2)

    # coupons: chosen from those valid on the order day
    coupon_use = np.array([g.coupon_use for g in GROUPS])[group]
    coupon_use[b.top[cust] >= 0] = 0.0
    uses = (rng.random(m) < coupon_use) & ~in_ab
    specs = cal.coupons
    n_quarter_coupons = 2 * (int(cal.quarter.max()) + 1)
    coupon = cal.quarter[day] * 2 + (rng.random(m) < 0.4)  # SAVE10 or TAKE15 of the quarter
    bf = cal.black_friday[day]
    take_bf = (bf >= 0) & (rng.random(m) < 0.7)
    coupon = np.where(take_bf, n_quarter_coupons + bf, coupon)
    loyalty_code = len(specs["code"]) - 1
    take_loyal = ((day >= specs["valid_from"][loyalty_code]) & (b.pattern[cust] == _P["loyal"])
                  & ~take_bf & (rng.random(m) < 0.5))
    coupon = np.where(take_loyal, loyalty_code, coupon)
    coupon = np.where(uses, coupon, -1)
    channel[uses] = 0  # coupons are redeemed at the home branch

    hour = np.zeros(m, int)
    for ci, ch in enumerate(CHANNELS):
        rows = np.flatnonzero(channel == ci)
        w = np.array(_HOURS[ch], float)
        hour[rows] = rng.choice(24, len(rows), p=w / w.sum())
    seconds = day.astype(np.int64) * _DAY + hour * 3600 + rng.integers(0, 3600, m)

    store = channel == 0
    in_country = (branch_rows["country_index"][None, :] == np.arange(len(COUNTRIES))[:, None]).astype(float)
    elsewhere = branch_rows["id"][_choice(rng, in_country, b.country[cust])]
    branch = np.where(rng.random(m) < 0.85, b.home_branch[cust], elsewhere)
    branch = np.where(uses, b.home_branch[cust], branch)

    price = np.array([c[1] for c in CATEGORIES])[category]
    margin = np.array([c[2] for c in CATEGORIES])[category] * rng.uniform(0.8, 1.2, m)
    gross = np.clip(price * b.spend[cust] * rng.lognormal(0.0, 0.45, m), 3.0, 5000.0)
    cost = np.round(gross * (1.0 - margin), 2)
    gross = np.round(gross, 2)
    pct = np.where(uses, np.nan_to_num(specs["pct"][coupon]), 0.0)
    fixed = np.where(uses, np.nan_to_num(specs["amount"][coupon]), 0.0)
    discount = np.where(uses, np.minimum(gross * pct / 100.0 + fixed, gross * 0.5), 0.0)
    discount = np.where(in_ab, gross * AB_DISCOUNT_PCT / 100.0, discount)
    discount = np.round(discount, 2)
    quantity = 1 + rng.poisson(np.array([c[3] for c in CATEGORIES])[category])

    campaign = np.full(m, -1)
    campaign[in_email] = campaign_ids[EMAIL]
    campaign[in_ab] = campaign_ids[AB_TEST]
    campaign[take_loyal & uses] = campaign_ids[LOYALTY]

    order = np.lexsort((seconds, cust))
    ids = first_tx + np.arange(m)
    when = np.datetime64(PERIOD_START.isoformat(), "s") + seconds[order].astype("timedelta64[s]")
    return {
        "id": ids,
        "external_id": np.strings.add("T", np.strings.zfill(ids.astype("U"), 9)),
        "customer_id": b.ids[cust[order]],
        "ordered_at": when,
        "amount": np.round(gross - discount, 2)[order],
        "discount": discount[order],
        "cost": cost[order],
        "quantity": quantity[order],
        "category": np.array([c[0] for c in CATEGORIES])[category[order]],
        "channel": np.array(CHANNELS)[channel[order]],
        "branch_id": _nullable(branch[order], store[order]),
        "campaign_id": _nullable(campaign[order], campaign[order] >= 0),
        "coupon_id": _nullable(coupon[order] + 1, coupon[order] >= 0),
        # helpers for the coupon events and surveys, not written
        "_cust": cust[order],
        "_seconds": seconds[order],
        "_coupon": coupon[order],
    }


def _nullable(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    out = values.astype(object)
    out[~present] = None
    return out


# ----------------------------------------------------------------------------- coupon events
def _coupon_events(rng: np.random.Generator, cal: _Calendar, b: _Batch, orders: dict[str, np.ndarray],
                   branch_rates: dict[int, tuple[float, float]]) -> dict[str, np.ndarray]:
    """Issued -> claimed -> burned for every coupon order, plus claims that expired and issues never claimed."""
    specs, end = cal.coupons, cal.days - 1
    cust, seconds, coupon = orders["_cust"], orders["_seconds"], orders["_coupon"]
    n = len(b.ids)

    used = np.flatnonzero(coupon >= 0)
    c_used = coupon[used]
    t_burn = seconds[used]
    lo = np.maximum.reduce([specs["valid_from"][c_used] * _DAY, t_burn - 30 * _DAY, b.signup[cust[used]] * _DAY])
    t_issue = lo + np.floor(rng.random(len(used)) * 0.7 * (t_burn - lo)).astype(np.int64)
    t_claim = t_issue + 1 + np.floor(rng.random(len(used)) * (t_burn - t_issue - 2)).astype(np.int64)

    # coupons that were claimed and not used, or issued and never claimed, at branch-specific rates
    counts = np.bincount(cust, minlength=n)
    first_index = np.searchsorted(cust, np.arange(n))
    buyers = np.flatnonzero(counts > 0)
    first_day = seconds[first_index[buyers]] // _DAY
    last_day = seconds[first_index[buyers] + counts[buyers] - 1] // _DAY
    home = b.home_branch[buyers]
    claim_rate = np.array([branch_rates[h][0] for h in range(1, len(branch_rates) + 1)])[home - 1]
    burn_rate = np.array([branch_rates[h][1] for h in range(1, len(branch_rates) + 1)])[home - 1]
    usage = np.array([g.coupon_use for g in GROUPS])[b.group[buyers]] * (b.top[buyers] < 0)
    burns = counts[buyers] * usage
    unused = rng.poisson(burns * (1 - burn_rate) / burn_rate)
    unclaimed = rng.poisson(burns / burn_rate * (1 - claim_rate) / claim_rate)

    def instances(k):
        who = np.repeat(np.arange(len(buyers)), k)
        day = _sample_days(rng, cal, first_day[who], np.minimum(last_day[who] + 30, end))
        code = cal.quarter[day] * 2 + (rng.random(len(who)) < 0.4)
        t = day * _DAY + 8 * 3600 + rng.integers(0, 12 * 3600, len(who))
        return buyers[who], code, t

    u_cust, u_code, u_issue = instances(unused)
    valid_end = (specs["valid_to"][u_code] + 1) * _DAY - 1
    claim_span = np.minimum(14 * _DAY, valid_end - u_issue - 120)
    u_claim = u_issue + 60 + np.floor(rng.random(len(u_cust)) * claim_span).astype(np.int64)
    expires = specs["valid_to"][u_code] < end
    n_cust, n_code, n_issue = instances(unclaimed)

    parts = [  # (customer index, coupon index, seconds, event, transaction id or -1)
        (cust[used], c_used, t_issue, "issued", -1),
        (cust[used], c_used, t_claim, "claimed", -1),
        (cust[used], c_used, t_burn, "burned", orders["id"][used]),
        (u_cust, u_code, u_issue, "issued", -1),
        (u_cust, u_code, u_claim, "claimed", -1),
        (u_cust[expires], u_code[expires], valid_end[expires], "expired", -1),
        (n_cust, n_code, n_issue, "issued", -1),
    ]
    rank = {"issued": 0, "claimed": 1, "burned": 2, "expired": 3}
    who = np.concatenate([p[0] for p in parts])
    code = np.concatenate([p[1] for p in parts])
    when = np.concatenate([p[2] for p in parts]).astype(np.int64)
    event = np.concatenate([np.full(len(p[0]), rank[p[3]]) for p in parts])
    tx = np.concatenate([np.broadcast_to(p[4], len(p[0])) for p in parts])
    order = np.lexsort((event, b.ids[who], when))
    return {
        "coupon_id": code[order] + 1,
        "customer_id": b.ids[who[order]],
        "branch_id": b.home_branch[who[order]],
        "event": np.array(list(rank))[event[order]],
        "occurred_at": np.datetime64(PERIOD_START.isoformat(), "s") + when[order].astype("timedelta64[s]"),
        "transaction_id": _nullable(tx[order], tx[order] >= 0),
    }


# ----------------------------------------------------------------------------- campaigns, surveys
def _assignments(rng: np.random.Generator, b: _Batch, campaign_ids: dict[str, int]) -> dict[str, np.ndarray]:
    frames = []
    for name, variant, window in ((AB_TEST, b.ab_variant, AB_WINDOW), (EMAIL, b.email_variant, EMAIL_WINDOW)):
        rows = np.flatnonzero(variant > 0)
        day_before = np.datetime64((window[0] - dt.timedelta(days=1)).isoformat(), "s")
        frames.append({
            "campaign_id": np.full(len(rows), campaign_ids[name]),
            "customer_id": b.ids[rows],
            "variant": np.array(["", "control", "treatment"])[variant[rows]],
            "assigned_at": day_before + rng.integers(0, _DAY, len(rows)).astype("timedelta64[s]"),
        })
    return {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}


def _surveys(rng: np.random.Generator, cal: _Calendar, b: _Batch,
             orders: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """NPS answers from a share of buyers; loyal customers score higher, one-time buyers lower."""
    cust, seconds = orders["_cust"], orders["_seconds"]
    n, end = len(b.ids), cal.days - 1
    counts = np.bincount(cust, minlength=n)
    first_index = np.searchsorted(cust, np.arange(n))
    rows = np.flatnonzero((counts > 0) & (rng.random(n) < SURVEY_SHARE))
    first = seconds[first_index[rows]]  # answers come after the first order, at most 60 days after the last
    last = np.minimum(seconds[first_index[rows] + counts[rows] - 1] + 60 * _DAY, (end + 1) * _DAY - 1)
    when = first + 60 + np.floor(rng.random(len(rows)) * np.maximum(last - first - 60, 0)).astype(np.int64)
    base = np.array([5.0, 5.6, 7.6, 6.4, 7.5, 8.4])[b.pattern[rows]]
    base += np.array([0.0, 0.1, 0.4, -0.5, 0.3])[b.group[rows]]
    score = np.clip(np.round(base + rng.normal(0.0, 1.7, len(rows))), 0, 10).astype(int)
    band = np.where(score >= 9, "promoter", np.where(score >= 7, "passive", "detractor"))
    comment = np.empty(len(rows), dtype=object)
    for name, texts in COMMENTS.items():
        pick = np.flatnonzero(band == name)
        comment[pick] = np.array(texts, dtype=object)[rng.integers(0, len(texts), len(pick))]
    comment[rng.random(len(rows)) < 0.35] = None
    return {
        "customer_id": b.ids[rows],
        "answered_at": np.datetime64(PERIOD_START.isoformat(), "s") + when.astype("timedelta64[s]"),
        "nps_score": score,
        "comment": comment,
    }


# ----------------------------------------------------------------------------- writing
class _Writer:
    """Bulk inserts with explicit keys: driver executemany on SQLite, COPY on psycopg, Core otherwise."""

    def __init__(self, connection: Connection):
        self.connection = connection
        dialect = connection.dialect
        if dialect.name == "sqlite" and dialect.driver == "pysqlite":
            self.mode = "sqlite"
        elif dialect.name == "postgresql" and dialect.driver == "psycopg":
            self.mode = "copy"
        else:
            self.mode = "core"

    def write(self, table: Table, columns: dict[str, np.ndarray]) -> int:
        names = [k for k in columns if not k.startswith("_")]
        total = len(columns[names[0]])
        quote = self.connection.dialect.identifier_preparer.quote
        column_list = ", ".join(quote(n) for n in names)
        for start in range(0, total, _INSERT_CHUNK):
            values = [self._values(table, n, columns[n][start:start + _INSERT_CHUNK]) for n in names]
            if self.mode == "sqlite":
                sql = f"INSERT INTO {quote(table.name)} ({column_list}) VALUES ({', '.join('?' * len(names))})"
                self.connection.exec_driver_sql(sql, list(zip(*values)))
            elif self.mode == "copy":
                raw = self.connection.connection.driver_connection
                with raw.cursor() as cursor, cursor.copy(
                    f"COPY {quote(table.name)} ({column_list}) FROM STDIN"
                ) as copy:
                    for row in zip(*values):
                        copy.write_row(row)
            else:
                self.connection.execute(table.insert(), [dict(zip(names, row)) for row in zip(*values)])
        return total

    def _values(self, table: Table, name: str, values: np.ndarray) -> list:
        if values.dtype.kind == "M":
            unit = np.datetime_data(values.dtype)[0]
            if self.mode == "core":
                return values.astype("datetime64[D]" if unit == "D" else "datetime64[us]").astype(object).tolist()
            if unit == "D":
                return np.datetime_as_string(values, unit="D").tolist()
            text_values = np.datetime_as_string(values.astype("datetime64[us]"), unit="us")
            return np.strings.replace(text_values, "T", " ").tolist()
        if self.mode == "core" and isinstance(table.c[name].type, JSON):
            return [None if v is None else json.loads(v) for v in values]
        return values.tolist()

    def start(self) -> None:
        """SQLite: a large page cache while loading keeps the index updates in memory."""
        if self.mode == "sqlite":
            self._cache_size = self.connection.exec_driver_sql("PRAGMA cache_size").scalar()
            self.connection.exec_driver_sql(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")

    def finish(self, tables: Sequence[Table]) -> None:
        """Restore the connection; PostgreSQL sequences must continue after the keys written here."""
        if self.mode == "sqlite":
            self.connection.exec_driver_sql(f"PRAGMA cache_size = {int(self._cache_size)}")
        if self.connection.dialect.name != "postgresql":
            return
        for table in tables:
            self.connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
            ))


# ----------------------------------------------------------------------------- public API
_TABLES = (Branch, Campaign, Coupon, Customer, Transaction, CouponEvent, CampaignAssignment, SurveyResponse)


def generate_demo_data(engine: Engine, config: DemoConfig, progress: Progress | None = None) -> PlantedTruths:
    """Write the demo data set into an empty database in one transaction; returns what was planted."""
    if config.customers < MIN_CUSTOMERS:
        raise ValueError(f"The demo data needs at least {MIN_CUSTOMERS} customers, not {config.customers}.")
    if config.batch_size < MIN_CUSTOMERS:
        raise ValueError(f"The batch size must be at least {MIN_CUSTOMERS} customers, not {config.batch_size}.")
    report = progress or (lambda _message: None)
    cal = _calendar()
    root = np.random.SeedSequence(config.seed)
    setup_seed, batches_seed = root.spawn(2)
    rng = np.random.default_rng(setup_seed)

    with engine.begin() as connection:
        filled = [m.__tablename__ for m in _TABLES
                  if connection.execute(select(m.__table__.c.id).limit(1)).first() is not None]
        if filled:
            raise ValueError(
                "Demo data can only be generated into an empty database; these tables already hold rows: "
                + ", ".join(filled) + "."
            )
        writer = _Writer(connection)
        writer.start()
        report("Writing branches, campaigns and coupons")
        branch_rows, branch_rates, low_burn = _write_branches(rng, writer)
        campaign_ids = _write_campaigns(writer)
        _write_coupons(cal, writer, campaign_ids)

        totals = {"transactions": 0, "surveys": 0}
        funnel = {"issued": 0, "claimed": 0, "burned": 0, "expired": 0}
        groups = {g.name: 0 for g in GROUPS}
        assigned = {"control": 0, "treatment": 0}
        top_buyers: list[tuple[int, str, str]] = []
        next_event = next_assignment = next_survey = 1
        batch_seeds = batches_seed.spawn((config.customers + config.batch_size - 1) // config.batch_size)
        for index, seed in enumerate(batch_seeds):
            brng = np.random.default_rng(seed)
            first = index * config.batch_size + 1
            size = min(config.batch_size, config.customers - first + 1)
            batch, customer_rows = _customers(brng, cal, first, size, index == 0, branch_rows)
            orders = _orders(brng, cal, batch, totals["transactions"] + 1, campaign_ids, branch_rows)
            events = _coupon_events(brng, cal, batch, orders, branch_rates)
            events["id"] = np.arange(next_event, next_event + len(events["event"]))
            assignments = _assignments(brng, batch, campaign_ids)
            assignments["id"] = np.arange(next_assignment, next_assignment + len(assignments["variant"]))
            surveys = _surveys(brng, cal, batch, orders)
            surveys["id"] = np.arange(next_survey, next_survey + len(surveys["nps_score"]))

            writer.write(Customer.__table__, customer_rows)
            totals["transactions"] += writer.write(Transaction.__table__, orders)
            next_event += writer.write(CouponEvent.__table__, events)
            next_assignment += writer.write(CampaignAssignment.__table__, assignments)
            totals["surveys"] += writer.write(SurveyResponse.__table__, surveys)
            next_survey = totals["surveys"] + 1

            for g, count in zip(*np.unique(batch.group, return_counts=True)):
                groups[GROUPS[g].name] += int(count)
            for event, count in zip(*np.unique(events["event"], return_counts=True)):
                funnel[str(event)] += int(count)
            ab = assignments["variant"][assignments["campaign_id"] == campaign_ids[AB_TEST]]
            for variant in assigned:
                assigned[variant] += int((ab == variant).sum())
            for row in np.flatnonzero(batch.top >= 0):
                top_buyers.append((int(batch.top[row]), str(customer_rows["external_id"][row]),
                                   str(customer_rows["name"][row])))
            report(f"Customers {first:,}-{first + size - 1:,} of {config.customers:,} written "
                   f"({totals['transactions']:,} transactions so far)")
        writer.finish([m.__table__ for m in _TABLES])
    report("Demo data complete")
    return PlantedTruths(
        seed=config.seed,
        customers=config.customers,
        transactions=totals["transactions"],
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        ab_test_campaign=AB_TEST,
        ab_test_window=AB_WINDOW,
        ab_test_discount_pct=AB_DISCOUNT_PCT,
        ab_test_planned_purchase_lift=AB_LIFT,
        ab_test_assigned=assigned,
        other_campaigns=(EMAIL, LOYALTY),
        group_attribute=GROUP_ATTRIBUTE,
        groups=groups,
        group_descriptions={g.name: g.description for g in GROUPS},
        top_buyers=tuple((ext, name) for _, ext, name in sorted(top_buyers)),
        low_burn_branches=low_burn,
        planned_claim_rate=CLAIM_RATE,
        planned_burn_rate=BURN_RATE,
        coupon_funnel=funnel,
        survey_responses=totals["surveys"],
    )


def planted_groups(engine: Engine) -> dict[str, list[str]]:
    """Behavioural group -> customer external ids, read back from `customers.attributes`."""
    c = Customer.__table__.c
    out: dict[str, list[str]] = {}
    with engine.connect() as connection:
        for external_id, attributes in connection.execute(select(c.external_id, c.attributes).order_by(c.id)):
            if attributes and GROUP_ATTRIBUTE in attributes:
                out.setdefault(attributes[GROUP_ATTRIBUTE], []).append(external_id)
    return out


def _write_branches(rng: np.random.Generator, writer: _Writer):
    countries = [c[0] for c in COUNTRIES]
    ids = np.arange(1, len(BRANCHES) + 1)
    writer.write(Branch.__table__, {
        "id": ids,
        "name": np.array([b[0] for b in BRANCHES], dtype=object),
        "city": np.array([b[1] for b in BRANCHES], dtype=object),
        "country": np.array([b[2] for b in BRANCHES], dtype=object),
    })
    # typical branches sit a little above the planned rates, which the low-burn ones pull down
    claim = rng.uniform(CLAIM_RATE - 0.09, CLAIM_RATE + 0.05, len(BRANCHES))
    burn = rng.uniform(BURN_RATE + 0.06, BURN_RATE + 0.20, len(BRANCHES))
    low = np.sort(rng.choice(len(BRANCHES), LOW_BURN_BRANCHES, replace=False))
    claim[low], burn[low] = 0.78, 0.22
    rates = {int(i): (float(claim[i - 1]), float(burn[i - 1])) for i in ids}
    rows = {
        "id": ids,
        "city": np.array([b[1] for b in BRANCHES], dtype=object),
        "country_index": np.array([countries.index(b[2]) for b in BRANCHES]),
    }
    return rows, rates, tuple(BRANCHES[i][0] for i in low)


def _write_campaigns(writer: _Writer) -> dict[str, int]:
    rows = (
        (AB_TEST, "ab_test", AB_DISCOUNT_PCT, AB_WINDOW, 5_000.0, 0.5,
         f"Randomised test: active customers paired by purchase rate, one of each pair gets "
         f"{AB_DISCOUNT_PCT:g}% off every order in the window. Goal: {AB_LIFT:+.0%} purchases per customer."),
        (EMAIL, "email", None, EMAIL_WINDOW, 12_000.0, EMAIL_TREATMENT_SHARE,
         "Holiday season e-mail series to active customers, with a holdout group."),
        (LOYALTY, "loyalty", 10.0, LOYALTY_WINDOW, 30_000.0, None,
         "Loyalty programme: regular customers get the LOYAL10-2023 coupon."),
    )
    writer.write(Campaign.__table__, {
        "id": np.arange(1, len(rows) + 1),
        "name": np.array([r[0] for r in rows], dtype=object),
        "kind": np.array([r[1] for r in rows], dtype=object),
        "discount_pct": np.array([r[2] for r in rows], dtype=object),
        "starts_on": np.array([r[3][0].isoformat() for r in rows], dtype="datetime64[D]"),
        "ends_on": np.array([r[3][1].isoformat() for r in rows], dtype="datetime64[D]"),
        "cost": np.array([r[4] for r in rows]),
        "planned_treatment_share": np.array([r[5] for r in rows], dtype=object),
        "description": np.array([r[6] for r in rows], dtype=object),
    })
    return {r[0]: i + 1 for i, r in enumerate(rows)}


def _write_coupons(cal: _Calendar, writer: _Writer, campaign_ids: dict[str, int]) -> None:
    specs = cal.coupons
    start = np.datetime64(PERIOD_START.isoformat(), "D")
    campaign = np.array([campaign_ids.get(c, -1) for c in specs["campaign"]])
    pct, amount = specs["pct"], specs["amount"]
    writer.write(Coupon.__table__, {
        "id": np.arange(1, len(specs["code"]) + 1),
        "code": specs["code"].astype(object),
        "campaign_id": _nullable(campaign, campaign > 0),
        "discount_pct": _nullable(pct, ~np.isnan(pct)),
        "discount_amount": _nullable(amount, ~np.isnan(amount)),
        "valid_from": start + specs["valid_from"].astype("timedelta64[D]"),
        "valid_to": start + specs["valid_to"].astype("timedelta64[D]"),
    })
