"""Plain-language findings generated from the filtered figures; nothing here is typed in by hand."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from services.formatting import change, money, percent
from services.performance.kpis import KpiReport
from services.rules import UNKNOWN


@dataclass(frozen=True)
class PerformanceFacts:
    kpis: KpiReport
    age_brackets: pd.DataFrame
    profiles: pd.DataFrame
    genders: pd.DataFrame
    family: pd.DataFrame
    growth: pd.DataFrame


def insights(facts: PerformanceFacts) -> list[str]:
    """Four to six sentences about the selection; empty when nobody bought in the period."""
    if facts.kpis is None or facts.kpis.current.customers == 0:
        return []
    sentences = [
        _age_sentence(facts.age_brackets),
        _profile_sentence(facts.profiles),
        _gender_sentence(facts.genders),
        _growth_sentence(facts.growth),
        _family_sentence(facts.family),
        _loyalty_sentence(facts.kpis),
    ]
    return [sentence for sentence in sentences if sentence]


def _known(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame[(frame[column] != UNKNOWN) & (frame["customers"] > 0)]


def _listing(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _age_sentence(ages: pd.DataFrame) -> str | None:
    ages = _known(ages, "age_bracket")
    if len(ages) < 2:
        return None
    average = ages["revenue"].mean()
    above = ages[ages["revenue"] > average]
    return (f"Customers aged {_listing(list(above['age_bracket']))} bring more revenue than the average age "
            f"bracket ({money(average)}): together {percent(above['revenue_share'].sum())} of revenue.")


def _profile_sentence(profiles: pd.DataFrame) -> str | None:
    profiles = profiles[profiles["customers"] > 0].sort_values("revenue", ascending=False)
    if profiles.empty:
        return None
    top = profiles.iloc[0]
    sentence = (f"{top['profile']} customers bring the most revenue: {percent(top['revenue_share'])} of it from "
                f"{percent(top['customer_share'])} of buyers")
    if len(profiles) > 1 and profiles.iloc[1]["revenue"] > 0:
        runner_up = profiles.iloc[1]
        sentence += f", {top['revenue'] / runner_up['revenue']:.1f}× the next profile ({runner_up['profile']})"
    return sentence + "."


def _gender_sentence(genders: pd.DataFrame) -> str | None:
    genders = genders[genders["revenue"] > 0].sort_values("revenue", ascending=False)
    if genders.empty:
        return None
    parts = [f"{row.gender} customers {percent(row.revenue_share)}" for row in genders.itertuples()]
    leader = genders.iloc[0]
    per_customer = money(leader["revenue"] / leader["customers"])
    return (f"Revenue by gender: {_listing(parts)}; {leader['gender'].lower()} customers spend "
            f"{per_customer} each on average.")


def _growth_sentence(growth: pd.DataFrame) -> str | None:
    if growth.empty:
        return None
    best = growth.iloc[0]
    verb = "grew fastest" if best["change"] > 0 else "shrank least"
    return (f"{best['country']} {verb} over the last 12 months of the period: {change(best['change'])} revenue "
            f"against the 12 months before.")


def _family_sentence(family: pd.DataFrame) -> str | None:
    family = _known(family, "family_status")
    if len(family) < 2:
        return None
    spend = {row.family_status: row.revenue / row.customers for row in family.itertuples()}
    (first, first_spend), (second, second_spend) = sorted(spend.items(), key=lambda item: -item[1])[:2]
    return (f"Customers {first.lower()} spend {money(first_spend)} each on average, against "
            f"{money(second_spend)} for those {second.lower()}.")


def _loyalty_sentence(report: KpiReport) -> str:
    current = report.current
    sentence = f"{percent(current.repeat_rate)} of buyers ordered more than once in the period"
    if current.churn_rate is not None:
        sentence += f"; {percent(current.churn_rate)} of customers have not bought in the last {report.churn_days} days"
    return sentence + "."
