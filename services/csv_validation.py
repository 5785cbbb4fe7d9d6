"""Mapping headers to columns and validating chunks of raw CSV text, vectorised with pandas."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.csv_schema import (
    EARLIEST_DATE,
    LATEST_DATE,
    ColumnSpec,
    KindSpec,
    header_lookup,
    normalise_header,
)
from services.csv_source import RowError

MAX_VALUE_SHOWN = 100
INT_LIMIT = 2_147_483_647
Check = tuple[np.ndarray, str]  # (mask of bad rows, reason)


@dataclass(frozen=True)
class ColumnMapping:
    """Which file column feeds which field, and what the header said."""

    positions: dict[str, int]  # canonical name -> column position in the file
    headers: dict[str, str]  # canonical name -> header as written in the file
    ignored: tuple[str, ...]
    errors: tuple[RowError, ...]

    def has(self, *names: str) -> bool:
        return all(name in self.positions for name in names)


def map_header(spec: KindSpec, names: tuple[str, ...]) -> ColumnMapping:
    """Match header cells to the kind's columns; duplicates and missing required ones are errors."""
    lookup = header_lookup(spec)
    found: dict[str, list[tuple[int, str]]] = {}
    ignored: list[str] = []
    for position, name in enumerate(names):
        field = lookup.get(normalise_header(name))
        if field is None:
            ignored.append(name or f"(column {position + 1} without a name)")
        else:
            found.setdefault(field, []).append((position, name))
    errors = [
        RowError(1, ", ".join(name for _, name in hits), None,
                 f"Columns {' and '.join(repr(n) for _, n in hits)} all mean {field!r}; keep only one of them.")
        for field, hits in found.items() if len(hits) > 1
    ]
    for field in spec.required:
        if field not in found:
            column = spec.column(field)
            accepted = ", ".join((column.name, *column.aliases))
            errors.append(RowError(1, field, None,
                                   f"Required column {field!r} is missing (accepted headers: {accepted})."))
    return ColumnMapping(
        positions={field: hits[0][0] for field, hits in found.items()},
        headers={field: hits[0][1] for field, hits in found.items()},
        ignored=tuple(ignored),
        errors=tuple(errors),
    )


@dataclass(frozen=True)
class ValidatedChunk:
    frame: pd.DataFrame  # valid, non-blank rows; typed columns; index = data row number from 0
    errors: list[RowError]
    rows: int  # non-blank rows in the chunk


def validate_chunk(spec: KindSpec, mapping: ColumnMapping, chunk: pd.DataFrame, max_errors: int,
                   ) -> ValidatedChunk:
    """Parse and check every mapped column; return the clean rows and up to max_errors errors."""
    raw = {field: _stripped(chunk[position]) for field, position in mapping.positions.items()}
    blank = np.logical_and.reduce([(values == "").to_numpy() for values in raw.values()])
    parsed: dict[str, pd.Series] = {}
    found: list[tuple[int, int, RowError]] = []
    bad = np.zeros(len(chunk), dtype=bool)
    order = {field: i for i, field in enumerate(mapping.positions)}
    for field, text in raw.items():
        column = spec.column(field)
        values, checks = parse_column(column, text)
        parsed[field] = values
        for mask, reason in checks:
            mask = mask & ~blank
            if not mask.any():
                continue
            bad |= mask
            for i in np.flatnonzero(mask)[:max_errors]:
                row = int(chunk.index[i]) + 2
                value = str(text.iat[i])[:MAX_VALUE_SHOWN]
                found.append((row, order[field], RowError(row, mapping.headers[field], value, reason)))
    found.sort(key=lambda item: (item[0], item[1]))
    frame = pd.DataFrame(parsed, index=chunk.index)[~(bad | blank)]
    return ValidatedChunk(frame=frame, errors=[error for _, _, error in found[:max_errors]],
                          rows=int((~blank).sum()))


def _stripped(cells: pd.Series) -> pd.Series:
    """Cells without surrounding white space, as Python strings (faster than `.str.strip()`)."""
    return pd.Series([cell.strip() for cell in cells.to_numpy(dtype=object)], index=cells.index, dtype=object)


def parse_column(column: ColumnSpec, text: pd.Series) -> tuple[pd.Series, list[Check]]:
    """Typed values of one column (defaults filled in) and the masks of rows that fail."""
    empty = (text == "").to_numpy()
    checks: list[Check] = []
    if column.required:
        checks.append((empty, "A value is required."))
    parser = _PARSERS[column.type]
    values, more = parser(column, text, empty)
    checks.extend(more)
    if column.default is not None and column.type != "enum":
        values = values.where(~empty, column.default)
    return values, checks


def _parse_str(column: ColumnSpec, text: pd.Series, empty: np.ndarray) -> tuple[pd.Series, list[Check]]:
    values = text.astype(object).where(~empty, None)
    checks: list[Check] = []
    if column.max_length:
        too_long = (text.str.len() > column.max_length).to_numpy()
        checks.append((too_long, f"Longer than {column.max_length} characters."))
    return values, checks


def _numbers(text: pd.Series, empty: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    numbers = pd.to_numeric(text.where(~empty), errors="coerce").astype("float64")
    not_number = ~empty & ~np.isfinite(numbers.to_numpy())
    return numbers, not_number


def _range_checks(column: ColumnSpec, numbers: pd.Series) -> list[Check]:
    array = numbers.to_numpy()
    checks: list[Check] = []
    with np.errstate(invalid="ignore"):
        if column.minimum is not None and column.maximum is not None:
            outside = (array < column.minimum) | (array > column.maximum)
            checks.append((outside, f"Must be between {column.minimum:g} and {column.maximum:g}."))
        elif column.minimum is not None:
            reason = "Must not be negative." if column.minimum == 0 else f"Must be at least {column.minimum:g}."
            checks.append((array < column.minimum, reason))
    return checks


def _parse_float(column: ColumnSpec, text: pd.Series, empty: np.ndarray) -> tuple[pd.Series, list[Check]]:
    numbers, not_number = _numbers(text, empty)
    checks: list[Check] = [(not_number, "Not a number (use digits and a decimal point, e.g. 1234.50).")]
    checks.extend(_range_checks(column, numbers))
    if column.money:
        numbers = numbers.round(2)
    return numbers, checks


def _parse_int(column: ColumnSpec, text: pd.Series, empty: np.ndarray) -> tuple[pd.Series, list[Check]]:
    numbers, not_number = _numbers(text, empty)
    array = numbers.to_numpy()
    with np.errstate(invalid="ignore"):
        fractional = ~not_number & ~empty & (np.floor(array) != array)
        too_large = ~not_number & (np.abs(array) > INT_LIMIT)
    checks: list[Check] = [
        (not_number, "Not a whole number."),
        (fractional, "Not a whole number."),
        (too_large, "Number too large."),
        *_range_checks(column, numbers),
    ]
    usable = ~(not_number | fractional | too_large | empty)
    values = pd.Series(pd.array(np.where(usable, array, 0).astype("int64"), dtype="Int64"), index=text.index)
    return values.where(usable, pd.NA), checks


def _parse_moment(column: ColumnSpec, text: pd.Series, empty: np.ndarray) -> tuple[pd.Series, list[Check]]:
    moments = pd.to_datetime(text.where(~empty), format="ISO8601", errors="coerce", utc=True)
    moments = moments.dt.tz_localize(None).astype("datetime64[us]")
    invalid = ~empty & moments.isna().to_numpy()
    example = "2024-03-15" if column.type == "date" else "2024-03-15 or 2024-03-15 14:30:00"
    checks: list[Check] = [(invalid, f"Not a valid date (expected a date like {example}).")]
    after_latest = pd.Timestamp(LATEST_DATE) + pd.Timedelta(days=1)
    outside = (moments < pd.Timestamp(EARLIEST_DATE)) | (moments >= after_latest)
    checks.append((outside.to_numpy(), f"Date outside {EARLIEST_DATE:%Y} to {LATEST_DATE:%Y}."))
    if column.type == "date":
        moments = moments.dt.normalize()
    return moments, checks


def _parse_enum(column: ColumnSpec, text: pd.Series, empty: np.ndarray) -> tuple[pd.Series, list[Check]]:
    accepted = {choice.casefold(): choice for choice in column.choices}
    accepted.update((spelling.casefold(), choice) for spelling, choice in column.synonyms)
    values = text.str.casefold().map(accepted).astype(object)
    unknown = ~empty & values.isna().to_numpy()
    values = values.where(~empty, column.default)
    return values, [(unknown, f"Must be one of {', '.join(column.choices)}.")]


_PARSERS: dict[str, Callable[[ColumnSpec, pd.Series, np.ndarray], tuple[pd.Series, list[Check]]]] = {
    "str": _parse_str,
    "int": _parse_int,
    "float": _parse_float,
    "date": _parse_moment,
    "datetime": _parse_moment,
    "enum": _parse_enum,
}


# ------------------------------------------------------------------ duplicate keys
class KeyIndex:
    """The keys seen so far in one file, as 64-bit hashes with their row numbers.

    Sorted runs merged like a log-structured tree keep adding and looking up cheap and the
    memory at 12 bytes per row, whatever the length of the keys.
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def earlier_rows(self, hashes: np.ndarray) -> np.ndarray:
        """For each hash the row it was first seen at, or 0."""
        rows = np.zeros(len(hashes), dtype=np.int64)
        for keys, key_rows in self._runs:
            if not len(keys):
                continue
            at = np.minimum(np.searchsorted(keys, hashes), len(keys) - 1)
            hit = (keys[at] == hashes) & (rows == 0)
            rows[hit] = key_rows[at[hit]]
        return rows

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        order = np.argsort(hashes, kind="stable")
        run = (hashes[order], rows[order].astype(np.uint32))
        while self._runs and len(self._runs[-1][0]) <= 2 * len(run[0]):
            keys, key_rows = self._runs.pop()
            merged_keys = np.concatenate([keys, run[0]])
            merged_rows = np.concatenate([key_rows, run[1]])
            order = np.argsort(merged_keys, kind="stable")
            run = (merged_keys[order], merged_rows[order])
        self._runs.append(run)


def key_duplicates(spec: KindSpec, mapping: ColumnMapping, validated: ValidatedChunk, seen: KeyIndex,
                   max_errors: int) -> list[RowError]:
    """Errors for rows whose key repeats one earlier in the file; remembers this chunk's keys."""
    frame = validated.frame
    if not spec.key or not mapping.has(*spec.key) or frame.empty:
        return []
    hashes = pd.util.hash_pandas_object(frame[list(spec.key)], index=False).to_numpy()
    rows = frame.index.to_numpy(dtype=np.int64) + 2
    prior = seen.earlier_rows(hashes)
    first_in_chunk = pd.Series(rows, index=hashes).groupby(level=0).transform("first").to_numpy()
    earlier = np.where(prior > 0, prior, np.where(first_in_chunk < rows, first_in_chunk, 0))
    fresh = ~pd.Series(hashes).duplicated().to_numpy() & (prior == 0)
    seen.add(hashes[fresh], rows[fresh])
    duplicates = np.flatnonzero(earlier > 0)[:max_errors]
    if not len(duplicates):
        return []
    first = spec.key[0]
    what = _names(spec.key)
    return [
        RowError(int(rows[i]), mapping.headers[first], _shown(frame[first].iat[i]),
                 f"Same {what} as row {int(earlier[i])}." if len(spec.key) > 1
                 else f"Duplicate {first}: already on row {int(earlier[i])}.")
        for i in duplicates
    ]


def _names(fields: tuple[str, ...]) -> str:
    return fields[0] if len(fields) == 1 else ", ".join(fields[:-1]) + " and " + fields[-1]


def _shown(value: object) -> str:
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)[:MAX_VALUE_SHOWN]
