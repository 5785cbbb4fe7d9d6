"""The clustering lab's core recovers planted groups, is reproducible, persists, and scores like scikit-learn."""
from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import ClusterMixin
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.pipeline import Pipeline

from services.segmentation import clustering
from services.segmentation.clustering import (
    ClusteringSpec,
    assign,
    elbow_k,
    fit_clustering,
    k_scan,
    projection,
    suggest_k,
)

COLUMNS = ("f1", "f2", "f3", "f4")
SQUARE = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0), (10.0, 10.0)]  # well separated 2-D blob centres


def blobs(n=1200, centers=4, std=1.0, seed=7, columns=COLUMNS) -> tuple[pd.DataFrame, np.ndarray]:
    """Planted groups as a features frame indexed by customer_id (from 1001), with their true labels."""
    centers = None if isinstance(n, list) else centers  # a list of sizes plants one group per size
    points, truth = make_blobs(n_samples=n, centers=centers, n_features=len(columns), cluster_std=std,
                               random_state=seed, center_box=(-10, 10))
    index = pd.Index(np.arange(1001, 1001 + len(points)), name="customer_id")
    return pd.DataFrame(points, columns=list(columns), index=index), truth


def square_blobs(n=2000, std=0.6, seed=3) -> tuple[pd.DataFrame, np.ndarray]:
    return blobs(n=n, centers=SQUARE, std=std, seed=seed, columns=("x", "y"))


def customers(seed=11) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers in 4 groups of different sizes that differ in age, order rate, basket and electronics share;
    a tenth of the ages are unknown."""
    rng = np.random.default_rng(seed)
    groups = [  # size, age, orders per year, average order value, electronics share
        (480, 27, 9.0, 60, 0.7),
        (240, 45, 3.0, 150, 0.2),
        (120, 63, 2.0, 40, 0.1),
        (60, 38, 0.8, 400, 0.4),
    ]
    frames = []
    for label, (size, age, rate, basket, share) in enumerate(groups):
        frames.append(pd.DataFrame({
            "age": rng.normal(age, 3, size),
            "orders_per_year": rng.normal(rate, 0.3, size).clip(0.1),
            "avg_order_value": rng.normal(basket, basket * 0.08, size),
            "share_electronics": rng.normal(share, 0.04, size).clip(0, 1),
            "truth": label,
        }))
    frame = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    frame.loc[rng.random(len(frame)) < 0.1, "age"] = np.nan
    frame.index = pd.Index(np.arange(1, len(frame) + 1) * 7, name="customer_id")
    return frame.drop(columns="truth"), frame["truth"].to_numpy()


def scaled_of(result, features) -> np.ndarray:
    return result.pipeline[:-1].transform(features[list(result.spec.features)])


@pytest.fixture
def small_fit_sample(monkeypatch):
    monkeypatch.setattr(clustering, "FIT_SAMPLE", 500)


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm", "ward"])
def test_k_algorithms_recover_planted_blobs(algorithm, small_fit_sample):
    features, truth = blobs(n=3000)
    result = fit_clustering(ClusteringSpec(COLUMNS, algorithm=algorithm, k=4), features)
    assert adjusted_rand_score(truth, result.labels) > 0.9
    assert result.fitted_rows == (500 if algorithm == "ward" else 3000)
    assert result.n_clusters == 4 and result.noise_count == 0


@pytest.mark.parametrize("algorithm, options", [("dbscan", {"eps": 0.3}), ("hdbscan", {"min_cluster_size": 30})])
def test_density_algorithms_recover_blobs_from_a_sample(algorithm, options, small_fit_sample):
    features, truth = square_blobs(n=2000)
    result = fit_clustering(ClusteringSpec(("x", "y"), algorithm=algorithm, **options), features)
    assert result.fitted_rows == 500
    assert result.n_clusters == 4
    assert adjusted_rand_score(truth, result.labels) > 0.9


def _with_outliers(features: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index]:
    """Eight isolated points around the square blobs, each far from everything else."""
    points = [(-10, -10), (20, 20), (-10, 20), (20, -10), (5, -12), (5, 22), (-12, 5), (22, 5)]
    index = pd.Index(np.arange(1, len(points) + 1), name="customer_id")
    outliers = pd.DataFrame(points, columns=["x", "y"], index=index, dtype=float)
    return pd.concat([outliers, features]), index


@pytest.mark.parametrize("algorithm, options", [("dbscan", {"eps": 0.2}), ("hdbscan", {"min_cluster_size": 20})])
def test_isolated_points_are_noise(algorithm, options):
    blob_features, truth = square_blobs(n=800)
    features, outliers = _with_outliers(blob_features)
    result = fit_clustering(ClusteringSpec(("x", "y"), algorithm=algorithm, **options), features)
    labels = pd.Series(result.labels, index=result.customer_ids)
    assert (labels.loc[outliers] == -1).all()
    assert adjusted_rand_score(truth, labels.loc[blob_features.index]) > 0.9
    assert np.isnan(result.distances[result.labels == -1]).all()
    assert not np.isnan(result.distances[result.labels != -1]).any()
    assert sorted(result.centres.index) == [0, 1, 2, 3]
    clustered = result.labels != -1
    scaled = scaled_of(result, features)
    expected = silhouette_score(scaled[clustered], result.labels[clustered], sample_size=int(clustered.sum()),
                                random_state=42)
    assert result.silhouette == pytest.approx(expected, abs=1e-12)


def test_one_dense_group_has_no_silhouette():
    features, _ = blobs(n=400, centers=[(0.0, 0.0)], columns=("x", "y"))
    result = fit_clustering(ClusteringSpec(("x", "y"), algorithm="dbscan", eps=1.0), features)
    assert result.n_clusters == 1
    assert result.silhouette is None


def test_all_noise_is_a_result_not_a_crash():
    features, _ = square_blobs(n=300)
    result = fit_clustering(ClusteringSpec(("x", "y"), algorithm="dbscan", eps=1e-6), features)
    assert (result.labels == -1).all() and result.n_clusters == 0 and result.silhouette is None
    assert (assign(result.pipeline, features)["cluster"] == -1).all()


def test_minibatch_kmeans_above_the_threshold(monkeypatch):
    features, truth = blobs(n=3000)
    spec = ClusteringSpec(COLUMNS, k=4)
    assert fit_clustering(spec, features).estimator_name == "KMeans"
    monkeypatch.setattr(clustering, "MINIBATCH_ABOVE", 1000)
    result = fit_clustering(spec, features)
    assert result.estimator_name == "MiniBatchKMeans"
    assert adjusted_rand_score(truth, result.labels) > 0.9


def test_minibatch_kmeans_finds_the_partition_of_full_kmeans(monkeypatch):
    """Above the threshold MiniBatchKMeans starts from the K-means centres of a sample, not from k-means++."""
    features, _truth = blobs(n=[1500, 800, 400, 200, 100], std=2.5, seed=3)  # unequal sizes, some overlap
    spec = ClusteringSpec(COLUMNS, k=5)
    full = fit_clustering(spec, features)
    monkeypatch.setattr(clustering, "MINIBATCH_ABOVE", 1000)
    monkeypatch.setattr(clustering, "SCAN_SAMPLE", 800)
    mini = fit_clustering(spec, features)
    assert mini.estimator_name == "MiniBatchKMeans"
    assert adjusted_rand_score(full.labels, mini.labels) > 0.9  # k-means++ starts (n_init=3) give 0.59 here


def test_missing_values_are_imputed_and_groups_still_found():
    features, truth = customers()
    assert features["age"].isna().sum() > 50
    spec = ClusteringSpec(tuple(features.columns), scaling="log-standard", k=4)
    result = fit_clustering(spec, features)
    assert adjusted_rand_score(truth, result.labels) > 0.9
    assert not np.isnan(result.distances).any()


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm", "ward", "dbscan", "hdbscan"])
def test_same_input_same_labels_whatever_the_row_order(algorithm, small_fit_sample):
    # structureless data, where any change of sample or initialisation would move the boundaries
    rng = np.random.default_rng(8)
    features = pd.DataFrame(rng.random((1500, 2)), columns=["x", "y"],
                            index=pd.Index(rng.choice(10**6, 1500, replace=False), name="customer_id")).sort_index()
    spec = ClusteringSpec(("x", "y"), algorithm=algorithm, k=4, eps=0.1, min_samples=5, min_cluster_size=30)
    first, again = fit_clustering(spec, features), fit_clustering(spec, features)
    np.testing.assert_array_equal(first.labels, again.labels)
    np.testing.assert_array_equal(first.distances, again.distances)
    shuffled = features.sample(frac=1.0, random_state=5)
    result = fit_clustering(spec, shuffled)
    np.testing.assert_array_equal(result.customer_ids, shuffled.index)  # results follow the caller's order
    per_customer = pd.Series(result.labels, index=shuffled.index).sort_index()
    np.testing.assert_array_equal(per_customer.to_numpy(), first.labels)
    assert (fit_clustering(spec, shuffled.sort_index()).labels == first.labels).all()


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm", "ward"])
def test_clusters_are_numbered_by_descending_size(algorithm, small_fit_sample):
    sizes = [100, 700, 250, 450]  # planted in this (unsorted) order
    features, truth = blobs(n=sizes)
    result = fit_clustering(ClusteringSpec(COLUMNS, algorithm=algorithm, k=4), features)
    counts = np.bincount(result.labels)
    assert list(counts) == sorted(counts, reverse=True)
    for rank, planted in enumerate(np.argsort(sizes)[::-1]):  # the n-th largest planted group is cluster n
        assert np.bincount(result.labels[truth == planted]).argmax() == rank


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm", "ward"])
def test_pickled_pipeline_reproduces_labels_and_distances(algorithm, tmp_path, small_fit_sample):
    features, _ = blobs(n=1500)
    result = fit_clustering(ClusteringSpec(COLUMNS, algorithm=algorithm, k=4), features)
    joblib.dump(result.pipeline, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    assigned = assign(loaded, features)
    np.testing.assert_array_equal(assigned.index, features.index)
    np.testing.assert_array_equal(assigned["cluster"].to_numpy(), result.labels)
    scaled = loaded[:-1].transform(features[list(COLUMNS)])
    centres = pd.DataFrame(scaled).groupby(result.labels).mean().to_numpy()
    expected = np.linalg.norm(scaled - centres[result.labels], axis=1)
    np.testing.assert_allclose(assigned["distance"].to_numpy(), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.distances, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("algorithm", ["dbscan", "hdbscan"])
def test_pickled_density_pipeline_assigns_new_customers(algorithm, tmp_path, small_fit_sample):
    features, truth = square_blobs(n=1500)
    result = fit_clustering(ClusteringSpec(("x", "y"), algorithm=algorithm, eps=0.3, min_cluster_size=30), features)
    joblib.dump(result.pipeline, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    newcomers = pd.DataFrame(SQUARE, columns=["x", "y"], index=pd.Index([1, 2, 3, 4], name="customer_id"))
    expected = [np.bincount(result.labels[truth == planted]).argmax() for planted in range(4)]
    np.testing.assert_array_equal(assign(loaded, newcomers)["cluster"].to_numpy(), expected)
    np.testing.assert_array_equal(loaded.predict(newcomers), expected)


def test_assign_takes_the_pipeline_columns_and_names_missing_ones():
    features, _ = blobs(n=400)
    result = fit_clustering(ClusteringSpec(COLUMNS, k=4), features)
    wider = features[list(reversed(COLUMNS))].assign(other=1.0)
    np.testing.assert_array_equal(assign(result.pipeline, wider)["cluster"].to_numpy(), result.labels)
    with pytest.raises(ValueError, match="f2, f4"):
        assign(result.pipeline, features.drop(columns=["f2", "f4"]))
    assert assign(result.pipeline, features.iloc[:0]).empty


def test_silhouette_is_sklearns_on_the_same_capped_sample(monkeypatch):
    monkeypatch.setattr(clustering, "SILHOUETTE_SAMPLE", 300)
    features, _ = blobs(n=1200, std=2.5)
    result = fit_clustering(ClusteringSpec(COLUMNS, k=4), features)
    scaled = scaled_of(result, features)
    expected = silhouette_score(scaled, result.labels, sample_size=300, random_state=42)
    assert expected != pytest.approx(silhouette_score(scaled, result.labels), abs=1e-9)  # the cap matters here
    assert result.silhouette == pytest.approx(expected, abs=1e-12)


def test_centres_are_member_means_in_original_units():
    features, _ = customers()
    result = fit_clustering(ClusteringSpec(tuple(features.columns), k=4), features)
    expected = features.groupby(result.labels).mean()
    pd.testing.assert_frame_equal(result.centres, expected, check_names=False)
    assert result.centres.index.name == "cluster"


def _manual_scaling(values: np.ndarray, scaling: str) -> np.ndarray:
    filled = np.where(np.isnan(values), np.nanmedian(values, axis=0), values)
    if scaling == "robust":
        low, middle, high = np.percentile(filled, [25, 50, 75], axis=0)
        return (filled - middle) / (high - low)
    if scaling == "log-standard":
        filled = np.sign(filled) * np.log1p(np.abs(filled))
    return (filled - filled.mean(axis=0)) / filled.std(axis=0)


@pytest.mark.parametrize("scaling", ["standard", "robust", "log-standard"])
def test_scaling_choices(scaling):
    rng = np.random.default_rng(4)
    values = np.column_stack([rng.lognormal(3, 1, 300), rng.normal(-2, 5, 300), rng.exponential(2, 300)])
    values[rng.random(values.shape) < 0.05] = np.nan
    features = pd.DataFrame(values, columns=["a", "b", "c"], index=pd.RangeIndex(300, name="customer_id"))
    result = fit_clustering(ClusteringSpec(("a", "b", "c"), scaling=scaling, k=3), features)
    np.testing.assert_allclose(scaled_of(result, features), _manual_scaling(values, scaling), atol=1e-9)


def test_everything_is_one_pipeline():
    features, _ = blobs(n=300)
    pipeline = fit_clustering(ClusteringSpec(COLUMNS, scaling="log-standard", k=3), features).pipeline
    assert isinstance(pipeline, Pipeline)
    assert isinstance(pipeline[0], SimpleImputer) and pipeline[0].strategy == "median"
    assert isinstance(pipeline[-1], ClusterMixin)
    np.testing.assert_array_equal(pipeline.predict(features), pipeline[-1].labels_)


def test_progress_is_reported_in_order():
    calls = []
    features, _ = blobs(n=300)
    fit_clustering(ClusteringSpec(COLUMNS, k=3), features, progress=lambda f, m: calls.append((f, m)))
    fractions = [fraction for fraction, _ in calls]
    assert len(calls) >= 3
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(isinstance(message, str) and message for _, message in calls)


def test_k_scan_finds_the_planted_k():
    features, _ = blobs(n=1200)
    calls = []
    scan = k_scan(ClusteringSpec(COLUMNS), features, progress=lambda f, m: calls.append(f))
    assert list(scan.columns) == ["k", "inertia", "silhouette"]
    assert scan["k"].tolist() == list(range(2, 11))
    assert scan["inertia"].is_monotonic_decreasing
    assert len(calls) == 9 and calls[-1] == 1.0
    k, reason = suggest_k(scan)
    assert k == 4
    assert "k = 4 has the highest silhouette" in reason
    assert f"({scan['silhouette'].max():.2f})" in reason
    assert "bends at k = 4" in reason


def test_k_scan_fits_on_a_capped_sample(monkeypatch):
    features, _ = blobs(n=1200)
    spec = ClusteringSpec(COLUMNS)
    full = k_scan(spec, features, ks=[4])
    monkeypatch.setattr(clustering, "SCAN_SAMPLE", 300)
    capped = k_scan(spec, features, ks=[4])
    # inertia is a sum over rows: a quarter of the rows gives about a quarter of it
    assert 0.18 < capped["inertia"].iloc[0] / full["inertia"].iloc[0] < 0.32


def test_elbow_of_a_hand_made_curve():
    assert elbow_k(range(2, 9), [100, 60, 20, 18, 16, 14, 12]) == 4
    assert elbow_k([2, 3, 4, 5], [40, 30, 20, 10]) == 2  # a straight line has no bend: the first k


def test_suggest_k_names_best_silhouette_and_elbow_from_the_data():
    scan = pd.DataFrame({"k": [2, 3, 4, 5, 6], "inertia": [100.0, 70.0, 40.0, 12.0, 10.0],
                         "silhouette": [0.31, 0.523, 0.44, 0.40, 0.2]})
    k, reason = suggest_k(scan)
    assert k == 3
    assert reason == "k = 3 has the highest silhouette (0.52); the inertia curve bends at k = 5."


def test_projection_of_a_capped_sample():
    features, _ = blobs(n=1200)
    result = fit_clustering(ClusteringSpec(COLUMNS, k=4), features)
    points, ratios = projection(result, features, dims=3, sample=300)
    assert list(points.columns) == ["pc1", "pc2", "pc3", "cluster", "customer_id"]
    assert len(points) == 300 and points["customer_id"].is_unique
    assert set(points["customer_id"]) <= set(features.index)
    labels = pd.Series(result.labels, index=features.index)
    np.testing.assert_array_equal(points["cluster"].to_numpy(), labels.loc[points["customer_id"]].to_numpy())
    scaled = result.pipeline[:-1].transform(features.loc[points["customer_id"], list(COLUMNS)])
    np.testing.assert_allclose(ratios, PCA(n_components=3).fit(scaled).explained_variance_ratio_, rtol=1e-9)
    again, _ = projection(result, features, dims=3, sample=300)
    pd.testing.assert_frame_equal(points, again)


def test_projection_in_2d_keeps_every_row_of_a_small_selection():
    features, _ = blobs(n=200)
    result = fit_clustering(ClusteringSpec(COLUMNS, k=4), features)
    points, ratios = projection(result, features, dims=2)
    assert list(points.columns) == ["pc1", "pc2", "cluster", "customer_id"]
    assert sorted(points["customer_id"]) == list(features.index)
    assert len(ratios) == 2 and 0 < sum(ratios) <= 1 + 1e-9
    with pytest.raises(ValueError, match="needs at least 3 features"):
        projection(fit_clustering(ClusteringSpec(("f1", "f2"), k=4), features), features, dims=3)


@pytest.mark.parametrize("options, message", [
    ({"features": ("age",)}, "at least 2 features"),
    ({"features": ("age", "age")}, "only once"),
    ({"k": 1}, "from 2 to 10"),
    ({"k": 11}, "from 2 to 10"),
    ({"k": 3.5}, "from 2 to 10"),
    ({"scaling": "minmax"}, "Unknown scaling 'minmax'; choose one of standard, robust, log-standard"),
    ({"algorithm": "spectral"}, "Unknown algorithm 'spectral'"),
    ({"eps": 0}, "eps must be positive"),
    ({"min_samples": 0}, "min_samples"),
    ({"min_cluster_size": 1}, "minimum cluster size"),
])
def test_invalid_specs_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        ClusteringSpec(**{"features": ("age", "income"), **options})


@pytest.mark.parametrize("change, message", [
    (lambda f: f.drop(columns="f3"), "Missing feature columns: f3"),
    (lambda f: f.head(3), "Cannot form 4 clusters from 3 customers"),
    (lambda f: f.iloc[:0], "no customers"),
    (lambda f: f.assign(f2=np.nan), "No selected customer has a value for: f2"),
    (lambda f: f.assign(f1=np.where(f.index == f.index[0], np.inf, f["f1"])), "infinite values: f1"),
    (lambda f: f.assign(f4="x"), "numeric: f4"),
    (lambda f: pd.concat([f, f.head(1)]), "only once"),
])
def test_unusable_features_are_refused(change, message):
    features, _ = blobs(n=100)
    with pytest.raises(ValueError, match=message):
        fit_clustering(ClusteringSpec(COLUMNS, k=4), change(features))
