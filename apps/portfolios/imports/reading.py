"""From uploaded bytes to a header and numbered rows: size limits, encoding, delimiter.

Anything that stops the whole file from being read raises ImportFileError with a code and a
sentence for the person who uploaded it; problems of single rows are found later, per row.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from enum import StrEnum

MAX_BYTES = 1024 * 1024
MAX_ROWS = 5_000
# The delimiters a spreadsheet saves with: its own locale decides between , and ;
DELIMITERS = (",", ";", "\t")


class FileProblem(StrEnum):
    EMPTY = "empty_file"
    TOO_BIG = "too_big"
    TOO_MANY_ROWS = "too_many_rows"
    ENCODING = "wrong_encoding"
    NOT_CSV = "not_csv"
    UNKNOWN_FORMAT = "unknown_format"
    FORMAT_MISMATCH = "format_mismatch"


class ImportFileError(ValueError):
    """The file as a whole cannot be read; `code` is a FileProblem, `details` lines to list
    under the message (the headers each format expects)."""

    def __init__(self, code: FileProblem, message: str, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


@dataclass(frozen=True, slots=True)
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number as a spreadsheet shows it, cells)


def csv_bytes_decode(data: bytes) -> str:
    """UTF-8 text, with or without a byte-order mark; anything else is refused by name."""
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            FileProblem.TOO_BIG,
            f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is 1 MB "
            f"(about {MAX_ROWS:,} rows). Split it and import each part.",
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(
            FileProblem.ENCODING,
            "The file is UTF-16 text: save it as “CSV UTF-8” and upload it again.",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            FileProblem.ENCODING,
            f"The file is not UTF-8 text (byte {error.start + 1} cannot be read): save it as "
            "“CSV UTF-8” and upload it again.",
        ) from None
    if not text.strip():
        raise ImportFileError(FileProblem.EMPTY, "The file is empty.")
    if "\x00" in text:
        raise ImportFileError(
            FileProblem.NOT_CSV, "The file holds binary data, not CSV text (a spreadsheet?)."
        )
    return text


def csv_table_read(text: str) -> Table:
    """The header (first non-blank line) and every row under it, numbered as a spreadsheet
    would show them (the header's row counts; so do blank lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(reader, start=1):
            if header is None:
                if any(cell.strip() for cell in cells):
                    header = cells
                continue
            rows.append((number, cells))
            if len(rows) > MAX_ROWS:
                raise ImportFileError(
                    FileProblem.TOO_MANY_ROWS,
                    f"The file has more than {MAX_ROWS:,} rows: split it and import each part.",
                )
    except csv.Error as error:
        raise ImportFileError(
            FileProblem.NOT_CSV, f"Row {reader.line_num} cannot be read as CSV: {error}."
        ) from None
    if header is None:
        raise ImportFileError(FileProblem.EMPTY, "The file is empty.")
    if not any(any(cell.strip() for cell in cells) for _, cells in rows):
        raise ImportFileError(FileProblem.EMPTY, "The file has a header row but no rows under it.")
    return Table(header, rows)


def _delimiter(text: str) -> str:
    """The delimiter the header line uses most (a comma when it uses none)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {delimiter: first.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","
