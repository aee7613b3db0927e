"""One data row, read by the columns a format found in the header."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from apps.portfolios.imports.parsed import CellProblem, ParsedFile, RowProblemCode
from apps.portfolios.imports.reading import Table

T = TypeVar("T")


@dataclass(slots=True)
class Row:
    """The cells of one row, with the header's names for them; problems go to `parsed`."""

    number: int
    cells: list[str]
    header: list[str]
    columns: dict[str, int]
    parsed: ParsedFile
    failed: bool = False

    def text(self, field: str) -> str:
        index = self.columns.get(field)
        return self.cells[index].strip() if index is not None and index < len(self.cells) else ""

    def name(self, field: str) -> str:
        return self.header[self.columns[field]].strip()

    def read(self, field: str, reader: Callable[[str, str], T]) -> T | None:
        """The field read by `reader`, or None with the problem filed under this row."""
        try:
            return reader(self.text(field), self.name(field))
        except CellProblem as problem:
            self.fail(problem.code, problem.message)
            return None

    def fail(self, code: RowProblemCode, message: str) -> None:
        self.failed = True
        self.parsed.problem(self.number, code, message)


def data_rows(table: Table, columns: dict[str, int], parsed: ParsedFile) -> Iterator[Row]:
    """Each data row of the table; blank rows and repeated headers are skipped (and counted)."""
    for number, cells in table.rows:
        skipped = row_skip_reason(table.header, cells)
        if skipped:
            if skipped != "blank":
                parsed.skipped[skipped] += 1
            continue
        parsed.data_rows += 1
        yield Row(number, cells, table.header, columns, parsed)


def row_skip_reason(header: list[str], cells: list[str]) -> str | None:
    """Why a row is not data (None when it is): blank, or the header again (a report that
    repeats it per account)."""
    if not any(cell.strip() for cell in cells):
        return "blank"
    if [cell.strip() for cell in cells] == [cell.strip() for cell in header]:
        return "header repeated"
    return None


def extra_values_check(row: Row) -> None:
    """Values past the header's last column: most often an unquoted decimal comma."""
    extra = [cell for cell in row.cells[len(row.header) :] if cell.strip()]
    if extra:
        row.fail(
            RowProblemCode.EXTRA_VALUES,
            f"The row has {len(row.cells)} values but the header names {len(row.header)} "
            "columns (a decimal comma, or a comma inside a name without quotes?).",
        )
