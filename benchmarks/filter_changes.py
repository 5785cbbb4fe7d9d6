"""A fixed, seeded script of filter changes, as a user would click through them."""
from __future__ import annotations

import datetime as dt
import random

from services.filters import FilterOptions, Filters


def filter_changes(options: FilterOptions, count: int = 20, seed: int = 7) -> list[Filters]:
    """`count` filter states: none first, then countries, genders, age brackets and date ranges mixed."""
    rng = random.Random(seed)
    span = (options.last_date - options.first_date).days
    changes = [Filters()]
    while len(changes) < count:
        start = options.first_date + dt.timedelta(days=rng.randrange(span - 90))
        end = min(start + dt.timedelta(days=rng.choice((30, 90, 180, 365))), options.last_date)
        changes.append(Filters(
            start=start if rng.random() < 0.5 else None,
            end=end if rng.random() < 0.5 else None,
            countries=tuple(rng.sample(options.countries, rng.randint(1, 2))) if rng.random() < 0.5 else (),
            genders=(rng.choice(options.genders),) if rng.random() < 0.3 else (),
            age_brackets=tuple(rng.sample(options.age_brackets[:-1], 2)) if rng.random() < 0.3 else (),
        ))
    return changes
