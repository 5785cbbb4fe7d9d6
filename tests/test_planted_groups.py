"""The clustering lab's defaults find the demo's planted behavioural groups again.

The features are computed here in plain pandas from the SQL tables (not with the product's
feature code), then run through the pipeline the lab uses: median imputation, the default
scaling, K-means with k = 5. The planted labels are read from `customers.attributes`.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.impute import SimpleImputer
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, RobustScaler, StandardScaler
from sqlalchemy import Engine

from services.db import make_engine, upgrade_schema
from services.demo import GROUP_ATTRIBUTE, DemoConfig, generate_demo_data
from services.refresh import refresh
from services.segmentation.defaults import DEFAULT_FEATURES, DEFAULT_SCALING

CUSTOMERS = 2_000
CLUSTERS = 5  # the four planted groups and the mainstream
MIN_ARI = 0.8
BASE_FEATURES = (
    "age", "income", "recency_days", "frequency", "monetary", "avg_order_value", "orders_per_year",
    "tenure_days", "coupon_usage", "discount_share",
)


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory):
    """Demo data (seed 42) in a SQLite database of its own, refreshed, generated once for the module."""
    url = f"sqlite:///{tmp_path_factory.mktemp('planted') / 'demo.db'}"
    upgrade_schema(url)
    engine = make_engine(url)
    generate_demo_data(engine, DemoConfig(customers=CUSTOMERS, seed=42))
    refresh(engine)
    yield engine
    engine.dispose()


def _features(engine: Engine) -> tuple[pd.DataFrame, pd.Series]:
    """Every lab feature of every buyer, and the buyer's planted group."""
    s = pd.read_sql(
        "SELECT s.customer_id, s.age, s.income, s.orders, s.revenue, s.discount, s.recency_days, s.tenure_days, "
        "s.coupon_orders, c.attributes FROM customer_summary s JOIN customers c ON c.id = s.customer_id "
        "WHERE s.orders > 0 ORDER BY s.customer_id",
        engine,
    ).set_index("customer_id")
    f = pd.DataFrame(index=s.index)
    f["age"] = s["age"].astype(float)
    f["income"] = s["income"].astype(float)
    f["recency_days"] = s["recency_days"].astype(float)
    f["frequency"] = s["orders"].astype(float)
    f["monetary"] = s["revenue"]
    f["avg_order_value"] = s["revenue"] / s["orders"]
    f["orders_per_year"] = s["orders"] / np.maximum(s["tenure_days"], 365) * 365.0
    f["tenure_days"] = s["tenure_days"].astype(float)
    f["coupon_usage"] = s["coupon_orders"] / s["orders"]
    gross = s["revenue"] + s["discount"]
    f["discount_share"] = (s["discount"] / gross.where(gross > 0)).fillna(0.0)

    by_category = pd.read_sql(
        "SELECT customer_id, category, SUM(amount) AS amount FROM transactions GROUP BY customer_id, category",
        engine,
    ).pivot_table(index="customer_id", columns="category", values="amount", aggfunc="sum", fill_value=0.0)
    shares = by_category.div(by_category.sum(axis=1), axis=0)
    shares.columns = ["share_" + re.sub(r"[^a-z0-9]+", "_", c.lower()).strip("_") for c in shares.columns]
    f = f.join(shares).fillna({c: 0.0 for c in shares.columns})

    attributes = s["attributes"].map(lambda a: json.loads(a) if isinstance(a, str) else a)
    return f, attributes.map(lambda a: a[GROUP_ATTRIBUTE])


def _signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def _pipeline(scaling: str):
    scalers = {
        "standard": [StandardScaler()],
        "robust": [RobustScaler()],
        "log-standard": [FunctionTransformer(_signed_log1p), StandardScaler()],
    }[scaling]
    return make_pipeline(SimpleImputer(strategy="median"), *scalers,
                         KMeans(n_clusters=CLUSTERS, n_init=10, random_state=42))


def test_defaults_name_lab_features_and_a_scaling(demo_engine):
    features, _ = _features(demo_engine)
    assert 5 <= len(DEFAULT_FEATURES) <= 8 and len(set(DEFAULT_FEATURES)) == len(DEFAULT_FEATURES)
    assert set(DEFAULT_FEATURES) <= set(features.columns)
    assert all(name in BASE_FEATURES or name.startswith("share_") for name in DEFAULT_FEATURES)
    assert DEFAULT_SCALING in ("standard", "robust", "log-standard")


def test_kmeans_on_the_defaults_recovers_the_planted_groups(demo_engine):
    features, planted = _features(demo_engine)
    assert planted.nunique() == CLUSTERS
    clusters = _pipeline(DEFAULT_SCALING).fit_predict(features[list(DEFAULT_FEATURES)].to_numpy())
    ari = adjusted_rand_score(planted.to_numpy(), clusters)
    assert ari > MIN_ARI, f"adjusted Rand index {ari:.3f} of {len(features)} buyers"
