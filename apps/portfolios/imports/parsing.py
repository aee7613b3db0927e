"""From an uploaded file to a ParsedFile: decode, read the table, pick the format, parse."""

from __future__ import annotations

from collections.abc import Sequence

from apps.portfolios.imports.activities import activities_parse
from apps.portfolios.imports.formats import FORMATS, SPECS, FormatSpec, ImportFormat, format_detect
from apps.portfolios.imports.parsed import ParsedFile
from apps.portfolios.imports.positions import positions_parse
from apps.portfolios.imports.reading import (
    FileProblem,
    ImportFileError,
    csv_bytes_decode,
    csv_table_read,
)

EXPECTED = tuple(f"{spec.label}: {spec.example_header}" for spec in FORMATS)


def import_file_read(data: bytes, *, chosen: ImportFormat | None = None) -> tuple[str, ParsedFile]:
    """The file's text (kept for applying it later) and what it holds; raises ImportFileError
    when the file as a whole cannot be read."""
    text = csv_bytes_decode(data)
    return text, import_text_parse(text, chosen=chosen)


def import_text_parse(text: str, *, chosen: ImportFormat | None = None) -> ParsedFile:
    table = csv_table_read(text)
    spec = _spec_for(table.header, chosen)
    parse = activities_parse if spec.holds_trades else positions_parse
    parsed = parse(table, spec)
    parsed.problems.sort(key=lambda problem: problem.row)  # stable: a row's own order stays
    return parsed


def _spec_for(header: Sequence[str], chosen: ImportFormat | None) -> FormatSpec:
    found = ", ".join(cell.strip() for cell in header if cell.strip())
    if chosen is not None:
        spec = SPECS[chosen]
        missing = spec.columns_missing(header)
        if missing:
            raise ImportFileError(
                FileProblem.FORMAT_MISMATCH,
                f"This is not a {spec.label} file: its header row ({found}) has no "
                f"{', '.join(missing)} column. Such a file starts: {spec.example_header}",
            )
        return spec
    detected = format_detect(header)
    if detected is None:
        raise ImportFileError(
            FileProblem.UNKNOWN_FORMAT,
            f"The header row ({found}) is not one of the formats this import reads. The first "
            "row must name the columns, as one of these does (other columns are ignored):",
            EXPECTED,
        )
    return detected
