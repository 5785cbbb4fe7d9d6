"""Reading an uploaded CSV: strict UTF-8 check, delimiter, header, and chunks of raw text.

Only UTF-8 (with or without a byte-order mark) is accepted. The whole file is checked
before any row is parsed, so a Latin-1, UTF-16 or binary file becomes one clear error
instead of garbled text. Cells come back as raw strings; trimming and parsing them into
types is `services.csv_validation`'s job.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd

BLOCK_SIZE = 1 << 20
SPOOL_IN_MEMORY = 64 << 20  # unseekable streams are copied to disk beyond this size
DELIMITERS = (",", ";", "\t", "|")
_UTF16_32_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)
SAVE_AS_UTF8 = "Save it as 'CSV UTF-8' and import it again."


@dataclass(frozen=True)
class RowError:
    """One problem, located as a spreadsheet shows it: the header is row 1."""

    row: int | None
    column: str | None
    value: str | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        value = f" (value {self.value!r})" if self.value not in (None, "") else ""
        located = ", ".join(where)
        prefix = (located[:1].upper() + located[1:] + value + ": ") if where else ""
        return prefix + self.reason


class CsvFileError(Exception):
    """The file as a whole cannot be read; carries the error to show."""

    def __init__(self, error: RowError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class CsvLayout:
    """What the first rows say about the file."""

    names: tuple[str, ...]  # header cells, stripped
    delimiter: str
    estimated_rows: int | None  # data lines; quoted line breaks make it an overestimate


@contextmanager
def open_source(source: str | Path | bytes | BinaryIO) -> Iterator[BinaryIO]:
    """A seekable binary stream positioned at the start of the CSV."""
    if isinstance(source, (str, Path)):
        try:
            handle = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CsvFileError(RowError(None, None, None, f"Cannot open the file: {exc.strerror or exc}.")) from None
        with handle:
            yield handle
        return
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(bytes(source))
        return
    if _seekable(source):
        yield source
        return
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        while block := source.read(BLOCK_SIZE):
            spool.write(block)
        spool.seek(0)
        yield spool  # type: ignore[misc]


def _seekable(stream: BinaryIO) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def check_encoding(stream: BinaryIO) -> int:
    """Raise CsvFileError unless the rest of the stream is UTF-8 text; return its line count."""
    start = stream.tell()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    newlines = 0
    offset = 0
    last = b""
    content = False
    while block := stream.read(BLOCK_SIZE):
        if offset == 0:
            _reject_other_boms(block)
        nul = block.find(b"\x00")
        if nul >= 0:
            raise CsvFileError(RowError(
                None, None, None,
                "The file contains NUL bytes: it is a binary file or UTF-16/UTF-32 text, not a "
                f"UTF-8 CSV. {SAVE_AS_UTF8}"))
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            position = max(exc.start - len(exc.object) + len(block), 0)
            line = newlines + block.count(b"\n", 0, position) + 1
            raise CsvFileError(_not_utf8(line, block[position:position + 4])) from None
        if not content and block.strip(b" \t\r\n" + codecs.BOM_UTF8):
            content = True
        newlines += block.count(b"\n")
        offset += len(block)
        last = block[-1:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise CsvFileError(_not_utf8(newlines + 1, b"")) from None
    stream.seek(start)
    if not content:
        raise CsvFileError(RowError(None, None, None, "The file is empty."))
    return newlines + (1 if last not in (b"\n", b"") else 0)


def _reject_other_boms(block: bytes) -> None:
    for bom, name in _UTF16_32_BOMS:
        if block.startswith(bom):
            raise CsvFileError(RowError(None, None, None, f"The file is {name} encoded, not UTF-8. {SAVE_AS_UTF8}"))


def _not_utf8(line: int, sample: bytes) -> RowError:
    shown = "".join(f"\\x{b:02x}" for b in sample[:1]) or None
    return RowError(line, None, shown,
                    f"The file is not UTF-8 encoded (it may be Latin-1/Windows-1252). {SAVE_AS_UTF8}")


def read_layout(stream: BinaryIO, line_count: int) -> CsvLayout:
    """Delimiter and header of the stream; the stream is left where it was."""
    start = stream.tell()
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        first_line = text.readline()
        if not first_line.strip():
            raise CsvFileError(RowError(1, None, None, "The first row is empty; it must hold the column names."))
        delimiter = max(DELIMITERS, key=lambda d: (first_line.count(d), d == ","))
        text.seek(0)
        reader = csv.reader(text, delimiter=delimiter)
        names = tuple(name.strip() for name in next(reader))
        first_row = next(reader, None)
    finally:
        text.detach()
    stream.seek(start)
    if first_row is not None and len(first_row) > len(names):
        raise CsvFileError(RowError(
            2, None, None,
            f"Row 2 has {len(first_row)} fields but the header has {len(names)}; check the delimiter "
            "and quoting."))
    return CsvLayout(names=names, delimiter=delimiter, estimated_rows=max(line_count - 1, 0))


def iter_chunks(stream: BinaryIO, layout: CsvLayout, chunk_size: int) -> Iterator[pd.DataFrame]:
    """Frames of raw strings with positional columns; the index counts data rows from 0.

    Blank lines are kept as empty rows so that index + 2 is the row a spreadsheet shows.
    """
    reader = pd.read_csv(
        stream, sep=layout.delimiter, header=0, names=list(range(len(layout.names))),
        index_col=False, dtype=object, keep_default_na=False, na_filter=False,
        skip_blank_lines=False, chunksize=chunk_size, encoding="utf-8-sig", engine="c",
    )
    try:
        while True:
            try:
                chunk = next(reader)
            except StopIteration:
                return
            except pd.errors.ParserError as exc:
                raise CsvFileError(_parser_error(str(exc))) from None
            yield chunk.fillna("")
    finally:
        reader.close()


def _parser_error(message: str) -> RowError:
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if fields:
        expected, line, seen = (int(g) for g in fields.groups())
        return RowError(line, None, None,
                        f"Row has {seen} fields but the header has {expected}; check the delimiter and quoting.")
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:
        return RowError(int(quote.group(1)) + 1, None, None, "A quoted value is never closed.")
    return RowError(None, None, None, f"The file is not a readable CSV: {message}")
