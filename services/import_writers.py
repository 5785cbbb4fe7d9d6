"""Writing validated import chunks: references by external id, upserts and bulk inserts.

Everything here runs on the one connection of an import's open transaction; the importer
commits or rolls back. References are resolved per chunk with batched lookups, so memory
stays bounded by the chunk size, not by the size of the tables.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Integer,
    Table,
    any_,
    bindparam,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from services.bulk_load import column_values, insert_rows
from services.csv_source import RowError
from services.csv_validation import MAX_VALUE_SHOWN, ColumnMapping
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

LOOKUP_BATCH = 100_000
UNKNOWN = "Unknown"
CREATED_CAMPAIGN_KIND = "imported"

CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]
TRANSACTIONS: Table = Transaction.__table__  # type: ignore[assignment]
BRANCHES: Table = Branch.__table__  # type: ignore[assignment]
CAMPAIGNS: Table = Campaign.__table__  # type: ignore[assignment]
COUPONS: Table = Coupon.__table__  # type: ignore[assignment]
COUPON_EVENTS: Table = CouponEvent.__table__  # type: ignore[assignment]
ASSIGNMENTS: Table = CampaignAssignment.__table__  # type: ignore[assignment]
SURVEYS: Table = SurveyResponse.__table__  # type: ignore[assignment]
BUSINESS_TABLES = (CUSTOMERS, BRANCHES, CAMPAIGNS, COUPONS, TRANSACTIONS, COUPON_EVENTS, ASSIGNMENTS, SURVEYS)

# Values for columns a file does not provide, for new rows (the models' defaults are ORM-side).
INSERT_DEFAULTS: dict[str, dict[str, Any]] = {
    "customers": {"gender": UNKNOWN},
    "transactions": {"discount": 0.0, "cost": 0.0, "quantity": 1},
}


@dataclass
class WriteState:
    """Bookkeeping of one import, alive for the duration of one call."""

    filename: str
    max_ids: dict[str, int]  # highest id per table before the import: older rows may be updated
    created_customers: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    created_campaigns: set[int] = field(default_factory=set)
    created_coupons: set[int] = field(default_factory=set)


def start_state(connection: Connection, filename: str) -> WriteState:
    max_ids = {
        table.name: connection.scalar(select(func.max(table.c.id))) or 0
        for table in (CUSTOMERS, TRANSACTIONS, COUPON_EVENTS, ASSIGNMENTS, SURVEYS)
    }
    return WriteState(filename=filename, max_ids=max_ids)


# ------------------------------------------------------------------ low-level helpers
def _native(values: Iterable[Any]) -> list[Any]:
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def fetch(connection: Connection, columns: list[Column], where: Column, values: Iterable[Any],
          extra: Any = None) -> pd.DataFrame:
    """Rows whose `where` column is in `values`; the values travel as one array parameter."""
    values = _native(values)
    rows: list[Any] = []
    for start in range(0, len(values), LOOKUP_BATCH):
        query = select(*columns).where(_in_values(connection, where, values[start:start + LOOKUP_BATCH]))
        if extra is not None:
            query = query.where(extra)
        rows.extend(connection.execute(query).all())
    data = list(zip(*rows)) or [()] * len(columns)
    return pd.DataFrame({c.name: pd.Series(list(v), dtype=object) for c, v in zip(columns, data)})


def _in_values(connection: Connection, column: Column, values: list[Any]) -> Any:
    """`column IN values` with a single parameter: an array on PostgreSQL, JSON on SQLite."""
    if connection.dialect.name == "postgresql":
        return column == any_(bindparam("lookup_values", values, type_=ARRAY(column.type)))
    if connection.dialect.name == "sqlite":
        values_json = bindparam("lookup_values", json.dumps(values))
        members = select(literal_column("value")).select_from(func.json_each(values_json))
        return column.in_(members)
    return column.in_(values)


def lookup_ids(connection: Connection, key: Column, values: Iterable[Any]) -> pd.Series:
    """Stored ids by text key value (index: key, values: id), straight through the driver."""
    values = _native(values)
    table, dialect = key.table.name, connection.dialect.name
    select_ids = f'SELECT "{key.name}", id FROM "{table}" WHERE "{key.name}"'
    if dialect == "sqlite":
        sql, wrap = f"{select_ids} IN (SELECT value FROM json_each(?))", json.dumps
    elif dialect == "postgresql":
        sql, wrap = f"{select_ids} = ANY(%s)", list
    else:
        found = fetch(connection, [key, key.table.c.id], key, values)
        return pd.Series(found["id"].to_numpy(dtype=np.int64), index=found[key.name].to_numpy(dtype=object))
    rows: list[tuple[Any, int]] = []
    cursor = connection.connection.driver_connection.cursor()
    try:
        for start in range(0, len(values), LOOKUP_BATCH):
            cursor.execute(sql, (wrap(values[start:start + LOOKUP_BATCH]),))
            rows.extend(cursor.fetchall())
    finally:
        cursor.close()
    keys = np.array([row[0] for row in rows], dtype=object)
    return pd.Series(np.array([row[1] for row in rows], dtype=np.int64), index=keys)


def update_frame(connection: Connection, table: Table, frame: pd.DataFrame) -> None:
    """Update rows by their `id` column with the frame's other columns."""
    columns = [name for name in frame.columns if name != "id"]
    if frame.empty or not columns:
        return
    statement = (update(table).where(table.c.id == bindparam("_id"))
                 .values({name: bindparam(f"_v_{name}") for name in columns}))
    keys = ["_id", *(f"_v_{name}" for name in columns)]
    values = [column_values(frame["id"], table.c.id)] + [column_values(frame[n], table.c[n]) for n in columns]
    connection.execute(statement, [dict(zip(keys, row)) for row in zip(*values)])


def _with_defaults(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    missing = {k: v for k, v in INSERT_DEFAULTS.get(table.name, {}).items() if k not in frame.columns}
    return frame.assign(**missing) if missing else frame


def _stored_matches(connection: Connection, table: Table, frame: pd.DataFrame, key: list[str],
                    max_id: int) -> pd.Series:
    """For each row, the id of a row stored before the import with the same key (or NA)."""
    none = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    if frame.empty or max_id == 0:
        return none
    stored = fetch(connection, [table.c.id, *(table.c[k] for k in key)], table.c.customer_id,
                   pd.unique(frame["customer_id"]), extra=table.c.id <= max_id)
    if stored.empty:
        return none
    for name in key:
        if isinstance(table.c[name].type, DateTime):
            stored[name] = pd.to_datetime(stored[name]).astype("datetime64[us]")
        elif isinstance(table.c[name].type, Integer):
            stored[name] = stored[name].astype("int64")
        else:
            stored[name] = stored[name].astype(object)
    left = frame[key].copy()
    for name in key:
        if left[name].dtype.kind not in "iMf":
            left[name] = left[name].astype(object)
    stored = stored.drop_duplicates(key)
    merged = left.merge(stored, on=key, how="left")
    return pd.Series(merged["id"].to_numpy(), index=frame.index).astype("Int64")


def _split_write(connection: Connection, table: Table, frame: pd.DataFrame, existing: pd.Series,
                 update_columns: list[str], state: WriteState, insert_order: list[str] | None = None) -> None:
    """Insert rows without a stored match; update (or leave as they are) the matched ones.

    New rows are inserted in `insert_order`, which keeps index updates local.
    """
    matched = existing.notna().to_numpy()
    if matched.any():
        if update_columns:
            update_frame(connection, table, frame.loc[matched, update_columns].assign(id=existing[matched]))
            state.updated += int(matched.sum())
        else:
            state.unchanged += int(matched.sum())
    new = frame.loc[~matched]
    if insert_order:
        new = new.sort_values(insert_order, kind="stable")
    insert_rows(connection, table, _with_defaults(table, new))
    state.inserted += len(new)


# ------------------------------------------------------------------ references
def ensure_customers(connection: Connection, external_ids: pd.Series, state: WriteState) -> pd.Series:
    """Customer ids for external ids; unknown ones are created with unknown demographics."""
    unique = pd.unique(external_ids.to_numpy(dtype=object))
    known = lookup_ids(connection, CUSTOMERS.c.external_id, unique)
    missing = unique[~pd.Index(unique).isin(known.index)]
    if len(missing):
        insert_rows(connection, CUSTOMERS, pd.DataFrame({"external_id": missing, "gender": UNKNOWN}))
        state.created_customers += len(missing)
        known = pd.concat([known, lookup_ids(connection, CUSTOMERS.c.external_id, missing)])
    return external_ids.map(known).astype("int64")


def ensure_branches(connection: Connection, frame: pd.DataFrame) -> pd.Series:
    """Branch ids by name; unknown branches are created with the file's city/country or 'Unknown'."""
    names = frame["branch"]
    present = names.notna()
    if not present.any():
        return pd.Series(pd.NA, index=frame.index, dtype="Int64")
    details = pd.DataFrame({"name": names[present]})
    for column in ("branch_city", "branch_country"):
        details[column] = frame.loc[present, column] if column in frame.columns else None
    firsts = details.groupby("name").first()
    known = lookup_ids(connection, BRANCHES.c.name, firsts.index)
    missing = firsts.loc[~firsts.index.isin(known.index)]
    if len(missing):
        insert_rows(connection, BRANCHES, pd.DataFrame({
            "name": missing.index,
            "city": missing["branch_city"].fillna(UNKNOWN).to_numpy(dtype=object),
            "country": missing["branch_country"].fillna(UNKNOWN).to_numpy(dtype=object),
        }))
        known = pd.concat([known, lookup_ids(connection, BRANCHES.c.name, missing.index)])
    return names.map(known).astype("Int64")


@dataclass(frozen=True)
class _Windowed:
    """A referenced table whose missing rows are created with a date window taken from the data."""

    table: Table
    name: str
    start: str
    end: str
    created: Callable[[WriteState], set[int]]
    extras: Callable[[WriteState], dict[str, Any]]


_CAMPAIGN_REF = _Windowed(
    CAMPAIGNS, "name", "starts_on", "ends_on", lambda s: s.created_campaigns,
    lambda s: {"kind": CREATED_CAMPAIGN_KIND, "cost": 0.0,
               "description": f"Created by the import of {s.filename}; its dates span the imported rows."},
)
_COUPON_REF = _Windowed(COUPONS, "code", "valid_from", "valid_to", lambda s: s.created_coupons, lambda s: {})


def _ensure_windowed(connection: Connection, ref: _Windowed, names: pd.Series, moments: pd.Series,
                     state: WriteState, first_values: pd.DataFrame | None = None) -> pd.Series:
    """Ids by name; unknown names are created spanning the dates of the rows that use them,
    and rows created earlier in this import widen to cover later chunks."""
    present = names.notna()
    if not present.any():
        return pd.Series(pd.NA, index=names.index, dtype="Int64")
    days = pd.DataFrame({"name": names[present], "day": moments[present].dt.normalize()})
    bounds = days.groupby("name")["day"].agg(["min", "max"])
    table = ref.table
    stored = fetch(connection, [table.c.id, table.c[ref.name], table.c[ref.start], table.c[ref.end]],
                   table.c[ref.name], bounds.index)
    created = ref.created(state)
    missing = bounds.loc[~bounds.index.isin(stored[ref.name])]
    if len(missing):
        new = pd.DataFrame({ref.name: missing.index, ref.start: missing["min"].to_numpy(),
                            ref.end: missing["max"].to_numpy()})
        for column, value in ref.extras(state).items():
            new[column] = value
        if first_values is not None:
            new = new.join(first_values, on=ref.name)
        insert_rows(connection, table, new)
        fresh = lookup_ids(connection, table.c[ref.name], missing.index)
        created.update(int(i) for i in fresh)
        stored = pd.concat([stored, pd.DataFrame({"id": fresh.to_numpy(), ref.name: fresh.index})])
    widen = stored[stored["id"].isin(list(created)) & stored[ref.start].notna()]
    if len(widen):
        current = widen.set_index(ref.name)
        lows = bounds.loc[current.index, "min"]
        highs = bounds.loc[current.index, "max"]
        start = pd.to_datetime(current[ref.start])
        end = pd.to_datetime(current[ref.end])
        changed = (lows < start) | (highs > end)
        if changed.any():
            update_frame(connection, table, pd.DataFrame({
                "id": current.loc[changed, "id"].to_numpy(),
                ref.start: np.minimum(lows, start)[changed].to_numpy(),
                ref.end: np.maximum(highs, end)[changed].to_numpy(),
            }))
    ids = pd.Series(stored["id"].to_numpy(dtype=np.int64), index=stored[ref.name].to_numpy(dtype=object))
    return names.map(ids).astype("Int64")


def ensure_campaigns(connection: Connection, names: pd.Series, moments: pd.Series,
                     state: WriteState) -> pd.Series:
    return _ensure_windowed(connection, _CAMPAIGN_REF, names, moments, state)


def ensure_coupons(connection: Connection, codes: pd.Series, moments: pd.Series, campaign_ids: pd.Series | None,
                   state: WriteState) -> pd.Series:
    first_campaign = None
    if campaign_ids is not None:
        pairs = pd.DataFrame({"code": codes, "campaign_id": campaign_ids}).dropna()
        first_campaign = pairs.groupby("code")[["campaign_id"]].first()
    return _ensure_windowed(connection, _COUPON_REF, codes, moments, state, first_campaign)


def transaction_ids(connection: Connection, order_ids: pd.Series) -> pd.Series:
    """Stored transaction ids by order id (NA where no order has that id)."""
    present = order_ids.dropna()
    if present.empty:
        return pd.Series(pd.NA, index=order_ids.index, dtype="Int64")
    known = lookup_ids(connection, TRANSACTIONS.c.external_id, pd.unique(present.to_numpy(dtype=object)))
    return order_ids.map(known).astype("Int64")


# ------------------------------------------------------------------ reference checks
def check_references(connection: Connection, kind: str, frame: pd.DataFrame,
                     mapping: ColumnMapping, max_errors: int) -> list[RowError]:
    """Errors for references that must already exist (coupon events naming an order)."""
    if kind != "coupon_events" or "order_id" not in frame.columns or frame.empty:
        return []
    ids = transaction_ids(connection, frame["order_id"])
    unknown = np.flatnonzero((frame["order_id"].notna() & ids.isna()).to_numpy())[:max_errors]
    return [
        RowError(int(frame.index[i]) + 2, mapping.headers["order_id"],
                 str(frame["order_id"].iat[i])[:MAX_VALUE_SHOWN],
                 "No imported order has this id; import the transactions first.")
        for i in unknown
    ]


# ------------------------------------------------------------------ writers per kind
_CUSTOMER_FIELDS = ("name", "gender", "birth_date", "age", "country", "city", "income", "children",
                    "marital_status", "signup_date")


def write_customers(connection: Connection, frame: pd.DataFrame, state: WriteState) -> None:
    out = frame.rename(columns={"customer_id": "external_id"})
    stored = lookup_ids(connection, CUSTOMERS.c.external_id, out["external_id"])
    existing = out["external_id"].map(stored).astype("Int64")
    updates = [name for name in _CUSTOMER_FIELDS if name in out.columns]
    before = state.inserted
    _split_write(connection, CUSTOMERS, out, existing, updates, state)
    state.created_customers += state.inserted - before


_TRANSACTION_FIELDS = ("ordered_at", "amount", "discount", "cost", "quantity", "category", "channel")


def write_transactions(connection: Connection, frame: pd.DataFrame, state: WriteState) -> None:
    out = pd.DataFrame(index=frame.index)
    out["customer_id"] = ensure_customers(connection, frame["customer_id"], state)
    for name in _TRANSACTION_FIELDS:
        if name in frame.columns:
            out[name] = frame[name]
    if "branch" in frame.columns:
        out["branch_id"] = ensure_branches(connection, frame)
    if "campaign" in frame.columns:
        out["campaign_id"] = ensure_campaigns(connection, frame["campaign"], frame["ordered_at"], state)
    if "coupon_code" in frame.columns:
        out["coupon_id"] = ensure_coupons(connection, frame["coupon_code"], frame["ordered_at"],
                                          out.get("campaign_id"), state)
    existing = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    if "order_id" in frame.columns:
        out["external_id"] = frame["order_id"]
        if state.max_ids["transactions"]:
            existing = transaction_ids(connection, frame["order_id"])
            existing = existing.where((existing <= state.max_ids["transactions"]).fillna(False).astype(bool))
    updates = [name for name in out.columns if name != "external_id"]
    _split_write(connection, TRANSACTIONS, out, existing, updates, state, ["customer_id", "ordered_at"])


def write_coupon_events(connection: Connection, frame: pd.DataFrame, state: WriteState) -> None:
    out = pd.DataFrame(index=frame.index)
    out["customer_id"] = ensure_customers(connection, frame["customer_id"], state)
    campaign_ids = None
    if "campaign" in frame.columns:
        campaign_ids = ensure_campaigns(connection, frame["campaign"], frame["occurred_at"], state)
    out["coupon_id"] = ensure_coupons(connection, frame["coupon_code"], frame["occurred_at"], campaign_ids, state)
    out["event"] = frame["event"]
    out["occurred_at"] = frame["occurred_at"]
    updates = []
    if "branch" in frame.columns:
        out["branch_id"] = ensure_branches(connection, frame)
        updates.append("branch_id")
    if "order_id" in frame.columns:
        out["transaction_id"] = transaction_ids(connection, frame["order_id"])
        updates.append("transaction_id")
    key = ["coupon_id", "customer_id", "event", "occurred_at"]
    existing = _stored_matches(connection, COUPON_EVENTS, out, key, state.max_ids["coupon_events"])
    _split_write(connection, COUPON_EVENTS, out, existing, updates, state)


def write_campaign_assignments(connection: Connection, frame: pd.DataFrame, state: WriteState) -> None:
    out = pd.DataFrame(index=frame.index)
    out["customer_id"] = ensure_customers(connection, frame["customer_id"], state)
    out["campaign_id"] = ensure_campaigns(connection, frame["campaign"], frame["assigned_at"], state)
    out["variant"] = frame["variant"]
    out["assigned_at"] = frame["assigned_at"]
    key = ["campaign_id", "customer_id", "variant", "assigned_at"]
    existing = _stored_matches(connection, ASSIGNMENTS, out, key, state.max_ids["campaign_assignments"])
    _split_write(connection, ASSIGNMENTS, out, existing, [], state)


def write_survey_responses(connection: Connection, frame: pd.DataFrame, state: WriteState) -> None:
    out = pd.DataFrame(index=frame.index)
    out["customer_id"] = ensure_customers(connection, frame["customer_id"], state)
    out["answered_at"] = frame["answered_at"]
    out["nps_score"] = frame["nps_score"]
    updates = ["nps_score"]
    if "comment" in frame.columns:
        out["comment"] = frame["comment"]
        updates.append("comment")
    existing = _stored_matches(connection, SURVEYS, out, ["customer_id", "answered_at"],
                               state.max_ids["survey_responses"])
    _split_write(connection, SURVEYS, out, existing, updates, state)


WRITERS: dict[str, Callable[[Connection, pd.DataFrame, WriteState], None]] = {
    "customers": write_customers,
    "transactions": write_transactions,
    "coupon_events": write_coupon_events,
    "campaign_assignments": write_campaign_assignments,
    "survey_responses": write_survey_responses,
}
