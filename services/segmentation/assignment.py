"""Assigning new customers to a saved clustering: from a form (one customer) or a CSV (many).

A CSV has one column per feature of the clustering (named as the features are, any order,
case-insensitive) and optionally a `customer` column that is carried through. Empty cells are
allowed (the pipeline fills them with the median it learnt); anything else must be a number.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from services.csv_source import CsvFileError, check_encoding, iter_chunks, open_source, read_layout
from services.segmentation.cluster_profiles import NOISE_NAME
from services.segmentation.clustering import NOISE, assign

MAX_ROWS = 100_000
CUSTOMER_COLUMN = "customer"


def read_customers_csv(raw: bytes, features: list[str]) -> pd.DataFrame:
    """The CSV's rows as numbers, one column per feature (plus `customer` when given); ValueError says what
    is wrong, with the row a spreadsheet shows."""
    try:
        with open_source(raw) as stream:
            layout = read_layout(stream, check_encoding(stream))
            wanted = {name.lower(): name for name in [*features, CUSTOMER_COLUMN]}
            found = {wanted[name.lower()]: position for position, name in enumerate(layout.names)
                     if name.lower() in wanted}
            missing = [name for name in features if name not in found]
            if missing:
                raise ValueError(f"The file has no column for: {', '.join(missing)}. Expected columns: "
                                 f"{', '.join(features)} (and optionally {CUSTOMER_COLUMN}).")
            frame = pd.concat(list(iter_chunks(stream, layout, 50_000)))
    except CsvFileError as error:
        raise ValueError(str(error)) from None
    if len(frame) > MAX_ROWS:
        raise ValueError(f"The file has {len(frame):,} rows; at most {MAX_ROWS:,} can be assigned at once.")
    if frame.empty:
        raise ValueError("The file has a header but no rows.")
    table = pd.DataFrame(index=frame.index)
    if CUSTOMER_COLUMN in found:
        table[CUSTOMER_COLUMN] = frame[found[CUSTOMER_COLUMN]].str.strip()
    for name in features:
        table[name] = _numbers(frame[found[name]].str.strip(), name)
    return table


def _numbers(cells: pd.Series, name: str) -> pd.Series:
    values = pd.to_numeric(cells.replace("", np.nan), errors="coerce")
    bad = values.isna() & cells.ne("") | np.isinf(values)
    if bad.any():
        row = int(bad.idxmax())
        raise ValueError(f"Row {row + 2}, column '{name}': {cells[row]!r} is not a number.")
    return values.astype(float)


def assign_customers(pipeline, clusters: list[dict], table: pd.DataFrame) -> pd.DataFrame:
    """The table with cluster, segment (the cluster's name) and distance (to its centre, scaled units)."""
    features = list(pipeline.feature_names_in_)
    assigned = assign(pipeline, table[features])
    names = {int(cluster["cluster"]): cluster["name"] for cluster in clusters}
    result = table.copy()
    result["cluster"] = assigned["cluster"].to_numpy()
    result["segment"] = [NOISE_NAME if c == NOISE else names.get(int(c), f"Cluster {c}") for c in result["cluster"]]
    result["distance"] = assigned["distance"].round(4).to_numpy()
    return result
