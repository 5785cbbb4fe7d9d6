"""A clustering lab run from features to named clusters, where the run waits to be saved, and saving it.

A run is computed in a background job; its fitted pipeline and labels are kept in a file of
the instance folder (shared by the workers of one host) under a random id, owned by the user
who ran it, until the user saves it or it expires.
"""
from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sqlalchemy import Connection

from services.analytics.warehouse import Warehouse
from services.filters import FilterOptions, Filters
from services.segmentation import saved
from services.segmentation.cluster_profiles import NOISE, describe_clusters, profile_table
from services.segmentation.clustering import (
    ClusteringResult,
    ClusteringSpec,
    fit_clustering,
    k_scan,
    projection,
    suggest_k,
)
from services.segmentation.features import feature_frame, profile_attributes

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
RUN_SECONDS = 24 * 3600  # how long an unsaved run is kept
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class LabRun:
    result: ClusteringResult
    profiles: pd.DataFrame  # profile_table with name, description and action per cluster
    projections: dict[int, tuple[pd.DataFrame, tuple[float, ...]]]  # dims -> (points, explained variance)

    def clusters(self) -> list[dict[str, Any]]:
        """cluster, name, description, action, customers per cluster (noise included), for keeping."""
        columns = ["cluster", "name", "description", "action", "customers"]
        return [{key: (int(value) if key in ("cluster", "customers") else str(value)) for key, value in row.items()}
                for row in self.profiles[columns].to_dict("records")]

    def metrics(self) -> dict[str, Any]:
        result = self.result
        return {"customers": int(len(result.labels)), "clusters": result.n_clusters, "noise": result.noise_count,
                "silhouette": result.silhouette, "estimator": result.estimator_name,
                "fitted_rows": result.fitted_rows, "seconds": round(result.seconds, 2)}


def _features(warehouse: Warehouse, filters: Filters, options: FilterOptions, spec: ClusteringSpec) -> pd.DataFrame:
    features = feature_frame(warehouse, filters, options, spec.features)
    if features.empty:
        raise ValueError("No customers with orders match these filters: widen the selection.")
    return features


def run_clustering(warehouse: Warehouse, filters: Filters, options: FilterOptions, spec: ClusteringSpec,
                   progress: Progress) -> LabRun:
    """Features of the selected buyers, the fitted clustering, its named profiles and its projections."""
    progress(0.02, "Reading the customers' features")
    features = _features(warehouse, filters, options, spec)
    result = fit_clustering(spec, features, lambda done, message: progress(0.05 + 0.75 * done, message))
    profiles = profile_table(features, result.labels, profile_attributes(warehouse, features.index))
    names = describe_clusters(profiles, features.mean())
    progress(0.9, "Projecting the clusters")
    projections = {dims: projection(result, features, dims) for dims in (2, 3) if dims <= len(spec.features)}
    return LabRun(result, profiles.merge(names, on="cluster"), projections)


def scan_k(warehouse: Warehouse, filters: Filters, options: FilterOptions, spec: ClusteringSpec,
           progress: Progress) -> tuple[pd.DataFrame, int, str]:
    """The k scan of the selected buyers with the suggested k and why."""
    progress(0.02, "Reading the customers' features")
    features = _features(warehouse, filters, options, spec)
    scan = k_scan(spec, features, progress=lambda done, message: progress(0.05 + 0.95 * done, message))
    return (scan, *suggest_k(scan))


# --- the run waiting to be saved ------------------------------------------------------------------------


def keep_run(runs_dir: Path, run: LabRun, owner_id: int, data_version: int, definition: dict[str, Any]) -> str:
    """Write the run for its owner; returns its id. Runs older than RUN_SECONDS are removed."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    _remove_expired(runs_dir)
    run_id = secrets.token_hex(16)
    payload = {"owner_id": owner_id, "data_version": data_version, "spec": asdict(run.result.spec),
               "definition": definition, "pipeline": run.result.pipeline, "clusters": run.clusters(),
               "metrics": run.metrics(), "profiles": run.profiles,
               "labels": pd.Series(run.result.labels, index=run.result.customer_ids, name="cluster")}
    partial = runs_dir / f"{run_id}.part"
    joblib.dump(payload, partial, compress=3)
    partial.rename(runs_dir / f"{run_id}.joblib")
    return run_id


def load_run(runs_dir: Path, run_id: object, owner_id: int) -> dict[str, Any] | None:
    """The kept run with this id if it belongs to this user; None otherwise (or when it expired)."""
    if not isinstance(run_id, str) or not RUN_ID.match(run_id):
        return None
    path = runs_dir / f"{run_id}.joblib"
    if not path.exists():
        return None
    payload = joblib.load(path)
    return payload if payload["owner_id"] == owner_id else None


def _remove_expired(runs_dir: Path) -> None:
    cutoff = time.time() - RUN_SECONDS
    for path in runs_dir.glob("*.joblib"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def save_run(connection: Connection, run: dict[str, Any], name: str, owner_id: int) -> tuple[int, list[int]]:
    """The run as a saved clustering plus one saved segment per cluster (noise left out), in the caller's
    transaction; returns the clustering id and the segment ids."""
    name = saved.clean_name(name)
    clustering_id = saved.save_clustering(
        connection, name, spec=run["spec"], clusters=run["clusters"], metrics=run["metrics"],
        pipeline=run["pipeline"], data_version=run["data_version"], owner_id=owner_id)
    labels: pd.Series = run["labels"]
    segment_ids = []
    for cluster in run["clusters"]:
        if cluster["cluster"] == NOISE:
            continue
        members = labels.index[labels.to_numpy() == cluster["cluster"]]
        segment_ids.append(saved.save_segment(
            connection, f"{name} · {cluster['name']}"[:saved.NAME_LENGTH], "cluster", members,
            description=cluster["description"], definition={**run["definition"], "cluster": cluster["cluster"]},
            owner_id=owner_id, data_version=run["data_version"], clustering_id=clustering_id,
            cluster=cluster["cluster"]))
    return clustering_id, segment_ids
