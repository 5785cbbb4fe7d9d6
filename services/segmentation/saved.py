"""Saved segments and saved clusterings: written in one transaction each, members frozen at saving."""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import joblib
import numpy as np
from sqlalchemy import Connection, delete, func, select
from sqlalchemy.exc import IntegrityError

from services.bulk_load import insert_rows
from services.filters import FilterOptions
from services.models import SavedClustering, SavedSegment, SavedSegmentMember

NAME_LENGTH = 120


class SegmentError(ValueError):
    """A save or delete the user can correct (the message says how)."""


@dataclass(frozen=True)
class SegmentInfo:
    id: int
    name: str
    kind: str
    customers: int
    description: str | None
    owner_id: int | None


def clean_name(name: str | None) -> str:
    cleaned = " ".join(str(name or "").split())
    if not cleaned:
        raise SegmentError("Give the segment a name.")
    if len(cleaned) > NAME_LENGTH:
        raise SegmentError(f"Names are at most {NAME_LENGTH} characters.")
    return cleaned


def list_segments(connection: Connection) -> tuple[SegmentInfo, ...]:
    rows = connection.execute(select(SavedSegment.id, SavedSegment.name, SavedSegment.kind, SavedSegment.customers,
                                     SavedSegment.description, SavedSegment.owner_id)
                             .order_by(func.lower(SavedSegment.name), SavedSegment.id))
    return tuple(SegmentInfo(*row) for row in rows)


def with_segments(connection: Connection, options: FilterOptions) -> FilterOptions:
    """The filter options with the saved segments as they are now (they change between data versions)."""
    return replace(options, segments=tuple((info.id, info.name) for info in list_segments(connection)))


def save_segment(connection: Connection, name: str, kind: str, customer_ids: Sequence[int], *,
                 description: str | None = None, definition: dict[str, Any] | None = None,
                 owner_id: int | None = None, data_version: int | None = None,
                 clustering_id: int | None = None, cluster: int | None = None) -> int:
    """Write a segment and its members in the caller's transaction; returns its id."""
    name = clean_name(name)
    members = np.unique(np.asarray(customer_ids, dtype=np.int64))
    if members.size == 0:
        raise SegmentError("The segment has no customers: nothing to save.")
    _require_free_name(connection, SavedSegment, name)
    segment_id = connection.scalar(
        SavedSegment.__table__.insert().values(
            name=name, kind=kind, customers=int(members.size), description=description, definition=definition,
            owner_id=owner_id, data_version=data_version, clustering_id=clustering_id, cluster=cluster,
        ).returning(SavedSegment.id))
    insert_rows(connection, SavedSegmentMember.__table__,
                {"segment_id": np.full(members.size, segment_id), "customer_id": members})
    return segment_id


def delete_segment(connection: Connection, segment_id: int) -> None:
    connection.execute(delete(SavedSegmentMember).where(SavedSegmentMember.segment_id == segment_id))
    connection.execute(delete(SavedSegment).where(SavedSegment.id == segment_id))


def segment_info(connection: Connection, segment_id: int) -> SegmentInfo | None:
    return next((info for info in list_segments(connection) if info.id == segment_id), None)


def save_clustering(connection: Connection, name: str, *, spec: dict[str, Any], clusters: list[dict[str, Any]],
                    metrics: dict[str, Any], pipeline: Any, data_version: int, owner_id: int | None) -> int:
    """Keep a fitted clustering (the pipeline pickled with joblib) so new customers can be assigned later."""
    name = clean_name(name)
    _require_free_name(connection, SavedClustering, name)
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=3)
    return connection.scalar(
        SavedClustering.__table__.insert().values(
            name=name, spec=spec, clusters=clusters, metrics=metrics, pipeline=buffer.getvalue(),
            data_version=data_version, owner_id=owner_id,
        ).returning(SavedClustering.id))


@dataclass(frozen=True)
class ClusteringInfo:
    id: int
    name: str
    spec: dict[str, Any]
    clusters: list[dict[str, Any]]
    metrics: dict[str, Any] | None


def list_clusterings(connection: Connection) -> tuple[ClusteringInfo, ...]:
    rows = connection.execute(select(SavedClustering.id, SavedClustering.name, SavedClustering.spec,
                                     SavedClustering.clusters, SavedClustering.metrics)
                             .order_by(func.lower(SavedClustering.name), SavedClustering.id))
    return tuple(ClusteringInfo(*row) for row in rows)


def load_pipeline(connection: Connection, clustering_id: int):
    """The fitted pipeline of a saved clustering, or None."""
    blob = connection.scalar(select(SavedClustering.pipeline).where(SavedClustering.id == clustering_id))
    return joblib.load(io.BytesIO(blob)) if blob is not None else None


def _require_free_name(connection: Connection, model, name: str) -> None:
    taken = connection.scalar(select(func.count()).select_from(model).where(func.lower(model.name) == name.lower()))
    if taken:
        raise SegmentError(f"The name “{name}” is taken: choose another.")


def is_name_clash(error: IntegrityError) -> bool:
    """Two saves with one name racing past the check: the unique index refuses the second."""
    return "name" in str(error.orig).lower()
