"""Cluster profiles add up like plain pandas, and the generated names and actions follow the planted groups."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.segmentation.cluster_profiles import (
    FEATURE_PHRASES,
    NOISE_NAME,
    TRAIT_RULES,
    describe_clusters,
    profile_table,
    unique_names,
)
from services.segmentation.clustering import ClusteringSpec, fit_clustering

YOUNG, COUPON, OLDER, LAPSED = range(4)
# group: size, age, orders per year, avg order value, coupon usage, recency days, electronics share, home share,
#        top category, gender weights (F, M), countries
GROUPS = {
    YOUNG: (150, 26, 9.0, 70, 0.05, 25, 0.70, 0.05, "Electronics", (0.3, 0.7), ("DE", "FR")),
    COUPON: (200, 44, 3.0, 45, 0.65, 45, 0.20, 0.30, "Fashion", (0.8, 0.2), ("UK",)),
    OLDER: (250, 63, 2.5, 110, 0.05, 40, 0.10, 0.60, "Home & Garden", (0.5, 0.5), ("DE",)),
    LAPSED: (120, 45, 1.0, 55, 0.10, 420, 0.20, 0.30, "Fashion", (0.6, 0.4), ("FR", "UK")),
}


def planted_customers(seed: int = 2) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Features, attributes and the planted group of each customer (indexed by customer_id)."""
    rng = np.random.default_rng(seed)
    parts = []
    for group, (size, age, rate, basket, coupons, recency, electronics, home, category, genders,
                countries) in GROUPS.items():
        parts.append(pd.DataFrame({
            "age": rng.normal(age, 3, size),
            "orders_per_year": rng.normal(rate, rate * 0.1, size),
            "avg_order_value": rng.normal(basket, basket * 0.1, size),
            "coupon_usage": rng.normal(coupons, 0.03, size).clip(0, 1),
            "recency_days": rng.normal(recency, 8, size).clip(0),
            "share_electronics": rng.normal(electronics, 0.03, size).clip(0, 1),
            "share_home_garden": rng.normal(home, 0.03, size).clip(0, 1),
            "gender": rng.choice(["F", "M"], size=size, p=genders),
            "country": rng.choice(countries, size=size),
            "top_category": category,
            "group": group,
        }))
    frame = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed)
    frame.index = pd.Index(np.arange(1, len(frame) + 1) * 3, name="customer_id")
    frame.loc[frame.index[::17], "top_category"] = np.nan
    frame["revenue"] = frame["orders_per_year"] * frame["avg_order_value"]
    features = frame[["age", "orders_per_year", "avg_order_value", "coupon_usage", "recency_days",
                      "share_electronics", "share_home_garden"]]
    return features, frame[["gender", "country", "top_category", "revenue"]], frame["group"].to_numpy()


def _descriptions(features, attributes, labels) -> tuple[pd.DataFrame, pd.DataFrame]:
    profiles = profile_table(features, labels, attributes)
    return profiles, describe_clusters(profiles, features.mean())


def _row_of(frame: pd.DataFrame, cluster: int) -> pd.Series:
    return frame.set_index("cluster").loc[cluster]


def test_profile_table_matches_plain_pandas():
    features, attributes, labels = planted_customers()
    profiles = profile_table(features, labels, attributes).set_index("cluster")
    counts = pd.Series(labels).value_counts().sort_index()
    assert profiles["customers"].tolist() == counts.tolist()
    np.testing.assert_allclose(profiles["customer_share"], counts / len(labels))
    revenue = attributes["revenue"].groupby(labels).sum()
    np.testing.assert_allclose(profiles["revenue_share"], revenue / attributes["revenue"].sum())
    np.testing.assert_allclose(profiles[features.columns], features.groupby(labels).mean())
    for column, output in [("gender", "dominant_gender"), ("country", "top_country"), ("top_category", "top_category")]:
        expected = attributes[column].groupby(labels).agg(lambda values: values.value_counts().idxmax())
        assert profiles[output].tolist() == expected.tolist()
    assert profiles.loc[YOUNG, "dominant_gender"] == "M" and profiles.loc[COUPON, "top_country"] == "UK"


def test_ties_go_to_the_alphabetically_first_value_and_noise_comes_last():
    features = pd.DataFrame({"age": [20.0, 30.0, 40.0, 50.0, 60.0, np.nan], "income": [1.0, 2, 3, 4, 5, 6]},
                            index=pd.Index([5, 6, 7, 8, 9, 10], name="customer_id"))
    attributes = pd.DataFrame({
        "gender": ["M", "F", "M", "F", None, "F"],
        "country": ["UK", "DE", "FR", "FR", "UK", None],
        "top_category": [np.nan, np.nan, "Toys", "Books", "Toys", np.nan],
        "revenue": [10.0, 30.0, 20.0, 20.0, 0.0, np.nan],
    }, index=features.index)
    labels = np.array([1, 1, -1, 0, 0, 1])
    profiles = profile_table(features, labels, attributes)
    assert profiles["cluster"].tolist() == [0, 1, -1]
    one = _row_of(profiles, 1)
    assert one["dominant_gender"] == "F" and one["top_country"] == "DE" and pd.isna(one["top_category"])
    assert one["customers"] == 3 and one["age"] == 25.0 and one["revenue_share"] == pytest.approx(0.5)
    zero = _row_of(profiles, 0)
    assert zero["top_category"] == "Books" and zero["dominant_gender"] == "F"
    assert profiles["customer_share"].sum() == pytest.approx(1.0)


def test_planted_groups_get_names_and_actions_from_their_traits():
    features, attributes, labels = planted_customers()
    _, described = _descriptions(features, attributes, labels)
    young, coupon, lapsed = (_row_of(described, group) for group in (YOUNG, COUPON, LAPSED))
    assert young["name"].startswith("Young") and "electronics buyers" in young["name"]
    assert "coupon-driven" in coupon["name"].lower()
    assert "coupon" in coupon["action"].lower() and "blanket" in coupon["action"].lower()
    assert "lapsed" in lapsed["name"].lower() and "win-back" in lapsed["action"].lower()
    assert "older" in _row_of(described, OLDER)["name"].lower()
    assert "home & garden buyers" in _row_of(described, OLDER)["name"]  # the category's own name, not its slug
    assert described["name"].is_unique


def test_descriptions_quote_the_numbers_behind_the_name():
    features, attributes, labels = planted_customers()
    profiles, described = _descriptions(features, attributes, labels)
    description = _row_of(described, YOUNG)["description"]
    young_age, overall_age = features["age"][labels == YOUNG].mean(), features["age"].mean()
    assert f"{young_age:.0f} vs {overall_age:.0f} overall" in description
    young_share = _row_of(profiles, YOUNG)["customer_share"]
    assert f"{young_share:.0%} of customers" in description
    assert description.endswith(".") and "\n" not in description


def test_clustering_then_profiling_finds_the_young_electronics_buyers():
    features, attributes, labels = planted_customers()
    result = fit_clustering(ClusteringSpec(tuple(features.columns), k=4), features)
    _, described = _descriptions(features, attributes, result.labels)
    young_cluster = np.bincount(result.labels[labels == YOUNG]).argmax()
    name = _row_of(described, young_cluster)["name"]
    assert "Young" in name and "electronics" in name


def test_lookalike_clusters_are_typical_with_unique_names():
    features, attributes, labels = planted_customers()
    lookalikes = np.where(labels == OLDER, np.arange(len(labels)) % 2, 2)  # OLDER split in two halves at random
    _, described = _descriptions(features[labels == OLDER], attributes[labels == OLDER], lookalikes[labels == OLDER])
    names = described["name"].tolist()
    assert names[0].startswith("Typical") and names[1] == names[0] + " (2)"
    assert set(described["action"]) == {described["action"].iloc[0]}
    assert "close to the overall average" in described["description"].iloc[0].lower()


def test_noise_is_named_and_not_described_as_a_segment():
    features, attributes, labels = planted_customers()
    labels = np.where(np.arange(len(labels)) % 25 == 0, -1, labels)
    profiles, described = _descriptions(features, attributes, labels)
    assert profiles["cluster"].iloc[-1] == -1 and described["cluster"].iloc[-1] == -1
    noise = _row_of(described, -1)
    assert noise["name"] == NOISE_NAME == "Unclustered (noise)"
    assert f"{int((labels == -1).sum()):,} customers" in noise["description"]
    assert described["name"].is_unique


def test_every_trait_rule_can_be_described():
    assert all(rule.feature in FEATURE_PHRASES for rule in TRAIT_RULES)
    assert len({(rule.feature, rule.direction) for rule in TRAIT_RULES}) == len(TRAIT_RULES)


def test_unique_names_never_repeat():
    names = unique_names(["Loyal buyers", "Loyal buyers", "Loyal buyers (2)", "Loyal buyers"])
    assert len(set(names)) == 4 and names[0] == "Loyal buyers" and names[1] == "Loyal buyers (2)"
