"""The import's parsers, without a database: each format's good rows (figures worked out by
hand), every kind of row problem with its row number, file-level refusals, and detection.

The sample files in tests/fixtures/imports/ were written for these tests, in each format's
published columns (apps/portfolios/imports/formats.py cites where each is published).
"""

from __future__ import annotations

import codecs
from decimal import Decimal
from pathlib import Path

import pytest

from apps.portfolios.imports.formats import FORMATS, ImportFormat
from apps.portfolios.imports.parsed import ParsedFile, RowProblemCode
from apps.portfolios.imports.parsing import import_file_read
from apps.portfolios.imports.reading import MAX_BYTES, MAX_ROWS, FileProblem, ImportFileError

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
OURS = "symbol,quantity,cost_basis,currency\n"
GHOSTFOLIO = "Date,Code,Currency,Price,Quantity,Action,Fee,Note\n"
WEALTHFOLIO = "date,symbol,quantity,activityType,unitPrice,currency,fee,amount,subtype\n"


def parse(text: str | bytes, chosen: ImportFormat | None = None) -> ParsedFile:
    data = text.encode() if isinstance(text, str) else text
    return import_file_read(data, chosen=chosen)[1]


def sample(name: str) -> ParsedFile:
    return parse((SAMPLES / name).read_bytes())


def figures(parsed: ParsedFile) -> dict[str, tuple[Decimal, Decimal]]:
    return {s: (h.quantity, h.cost_basis) for s, h in parsed.holdings.items()}


def problems(parsed: ParsedFile) -> list[tuple[int, RowProblemCode]]:
    return [(problem.row, problem.code) for problem in parsed.problems]


def messages(parsed: ParsedFile) -> list[str]:
    return [problem.message for problem in parsed.problems]


def refused(data: str | bytes, chosen: ImportFormat | None = None) -> ImportFileError:
    with pytest.raises(ImportFileError) as error:
        parse(data, chosen)
    return error.value


# --- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("positions.csv", ImportFormat.POSITIONS),
        ("ibkr-open-positions.csv", ImportFormat.IBKR_POSITIONS),
        ("wealthfolio.csv", ImportFormat.WEALTHFOLIO),
        ("ghostfolio.csv", ImportFormat.GHOSTFOLIO),
    ],
)
def test_each_sample_is_told_apart_by_its_header_row(name: str, expected: ImportFormat) -> None:
    parsed = sample(name)
    assert parsed.spec.format is expected
    assert parsed.problems == []


def test_column_names_match_whatever_their_case_spacing_or_order() -> None:
    parsed = parse("Currency; Cost Basis; QUANTITY; Symbol; Note\nUSD;1500;10;aapl;mine\n")

    assert parsed.spec.format is ImportFormat.POSITIONS
    assert figures(parsed) == {"AAPL": (Decimal(10), Decimal(1500))}


def test_an_unknown_header_is_refused_listing_the_headers_expected() -> None:
    error = refused("ticker,amount\nAAPL,10\n")

    assert error.code is FileProblem.UNKNOWN_FORMAT
    assert "(ticker, amount)" in error.message
    assert error.details == tuple(f"{spec.label}: {spec.example_header}" for spec in FORMATS)
    assert (
        "Positions (this site's own format, as exported): symbol,quantity,cost_basis,currency"
        in (error.details)
    )


def test_a_format_picked_by_hand_must_match_the_header() -> None:
    error = refused((SAMPLES / "positions.csv").read_bytes(), ImportFormat.GHOSTFOLIO)

    assert error.code is FileProblem.FORMAT_MISMATCH
    assert "has no Date, Type, UnitPrice column" in error.message
    assert parse(OURS + "AAPL,1,2,USD\n", ImportFormat.POSITIONS).spec.format is (
        ImportFormat.POSITIONS
    )


# --- the file as a whole -----------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"  \n\n", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\r\n"])
def test_an_empty_file_is_refused(data: bytes) -> None:
    error = refused(data)
    assert (error.code, error.message) == (FileProblem.EMPTY, "The file is empty.")


def test_a_header_with_no_rows_under_it_is_refused() -> None:
    error = refused(OURS + "\n,,,\n")
    assert error.code is FileProblem.EMPTY
    assert error.message == "The file has a header row but no rows under it."


def test_a_file_over_one_megabyte_is_refused() -> None:
    row = "AAPL,1,1,USD\n"
    data = (OURS + row * (MAX_BYTES // len(row) + 1)).encode()

    error = refused(data)

    assert error.code is FileProblem.TOO_BIG
    assert "the limit is 1 MB" in error.message


def test_a_file_over_the_row_limit_is_refused() -> None:
    error = refused(OURS + "AAPL,1,1,USD\n" * (MAX_ROWS + 1))
    assert error.code is FileProblem.TOO_MANY_ROWS
    assert f"more than {MAX_ROWS:,} rows" in error.message
    assert len(parse(OURS + "AAPL,1,1,USD\n" * MAX_ROWS).problems) == MAX_ROWS - 1  # duplicates


def test_utf8_with_or_without_a_byte_order_mark_is_read() -> None:
    text = OURS + "SAP.DE,40,4800.50,EUR\n"
    with_bom = parse(codecs.BOM_UTF8 + text.encode())
    without = parse(text.encode())
    assert figures(with_bom) == figures(without) == {"SAP.DE": (Decimal(40), Decimal("4800.50"))}


def test_other_encodings_are_refused_by_name() -> None:
    data = "symbol,quantity,cost_basis,currency\nAAPL,1,1,USD # café\n".encode("latin-1")
    latin = refused(data)
    utf16 = refused(codecs.BOM_UTF16_LE + OURS.encode("utf-16-le"))

    assert latin.code is utf16.code is FileProblem.ENCODING
    bad_byte = data.index("é".encode("latin-1")) + 1
    assert f"not UTF-8 text (byte {bad_byte} cannot be read)" in latin.message
    assert "UTF-16" in utf16.message


def test_binary_data_is_refused() -> None:
    error = refused(b"PK\x03\x04\x00\x00symbol,quantity\n")
    assert error.code is FileProblem.NOT_CSV


def test_semicolons_and_tabs_delimit_as_well_as_commas() -> None:
    for delimiter in (";", "\t"):
        parsed = parse(
            f"symbol{delimiter}quantity{delimiter}cost_basis\nMSFT{delimiter}2{delimiter}700\n"
        )
        assert figures(parsed) == {"MSFT": (Decimal(2), Decimal(700))}, delimiter


# --- our positions format ----------------------------------------------------------------------


def test_our_format_reads_quantity_and_total_cost_exactly() -> None:
    parsed = sample("positions.csv")

    assert figures(parsed) == {
        "AAPL": (Decimal(10), Decimal(1500)),
        "MSFT": (Decimal("2.5"), Decimal(700)),
        "SAP.DE": (Decimal(40), Decimal("4800.50")),
        "BTC-USD": (Decimal("0.25"), Decimal(9000)),
    }
    assert parsed.holdings["SAP.DE"].currencies == [(4, "EUR")]
    assert parsed.holdings["BTC-USD"].currencies == []  # empty: the asset's own currency
    assert parsed.data_rows == 4


def test_every_kind_of_row_problem_is_named_with_its_row() -> None:
    rows = [
        "AAPL,1,5,USD",  # 2: fine
        "MSFT,1,5,USD,extra",  # 3
        "NOT A TICKER,1,5,USD",  # 4
        "NVDA,1.5.0,5,USD",  # 5
        "AMZN,,5,USD",  # 6
        "GOOG,0,5,USD",  # 7
        "META,-3,5,USD",  # 8
        "TSLA,1,-5,USD",  # 9
        "NFLX,1,5,US Dollar",  # 10
        "VOD.L,1,5,GBp",  # 11
        "AAPL,2,5,USD",  # 12
        "IBM,0.00000000001,5,USD",  # 13
        "ORCL,1000000000000000000,5,USD",  # 14
        "INTC,1,1234.5,USD,",  # 15: an empty trailing cell is fine
        'AMD,"1,5",5,USD',  # 16
    ]
    parsed = parse(OURS + "\n".join(rows) + "\n")

    assert problems(parsed) == [
        (3, RowProblemCode.EXTRA_VALUES),
        (4, RowProblemCode.BAD_SYMBOL),
        (5, RowProblemCode.BAD_NUMBER),
        (6, RowProblemCode.MISSING_VALUE),
        (7, RowProblemCode.QUANTITY_NOT_POSITIVE),
        (8, RowProblemCode.QUANTITY_NOT_POSITIVE),
        (9, RowProblemCode.COST_NEGATIVE),
        (10, RowProblemCode.BAD_CURRENCY),
        (11, RowProblemCode.BAD_CURRENCY),
        (12, RowProblemCode.DUPLICATE_SYMBOL),
        (13, RowProblemCode.TOO_PRECISE),
        (14, RowProblemCode.TOO_LARGE),
        (16, RowProblemCode.BAD_NUMBER),
    ]
    by_row = {problem.row: problem.message for problem in parsed.problems}
    assert by_row[3] == (
        "The row has 5 values but the header names 4 columns (a decimal comma, or a comma "
        "inside a name without quotes?)."
    )
    assert by_row[4].startswith("symbol “NOT A TICKER” cannot be a ticker")
    assert by_row[5] == "quantity “1.5.0” is not a number: write it with a decimal point and " \
        "no thousands separators (1234.5)."  # fmt: skip
    assert by_row[6] == "quantity is empty."
    assert by_row[8].startswith("quantity is -3: a position holds more than 0")
    assert by_row[9] == "cost_basis is -5: the total paid for the quantity is 0 or more."
    assert by_row[10] == "currency “US Dollar” is not a currency code (USD, EUR, GBP)."
    assert by_row[11] == "currency GBp counts hundredths of GBP: give the amounts in GBP."
    assert by_row[12] == "AAPL is already on row 2: give each symbol one row."
    assert by_row[13] == "quantity 0.00000000001 has more than 10 decimal places."
    assert by_row[16].startswith("quantity “1,5” is not a number: write it with a decimal point")
    assert set(parsed.holdings) == {"AAPL", "INTC"}
    assert parsed.holdings["AAPL"].quantity == 1  # the first row of a duplicated symbol


def test_one_row_can_have_several_problems_all_listed() -> None:
    parsed = parse(OURS + "???,abc,-1,XX\n")

    assert problems(parsed) == [
        (2, RowProblemCode.BAD_SYMBOL),
        (2, RowProblemCode.BAD_NUMBER),
        (2, RowProblemCode.COST_NEGATIVE),
        (2, RowProblemCode.BAD_CURRENCY),
    ]


def test_row_numbers_count_blank_lines_and_repeated_headers_are_skipped() -> None:
    parsed = parse(OURS + "AAPL,1,5,USD\n\n" + OURS + "MSFT,x,5,USD\n")

    assert problems(parsed) == [(5, RowProblemCode.BAD_NUMBER)]
    assert parsed.skipped == {"header repeated": 1}


def test_a_cost_basis_is_kept_to_eight_decimal_places_and_trailing_zeros_are_no_precision() -> None:
    parsed = parse(OURS + "AAPL,10.000000000000,100.123456789,USD\n")

    assert figures(parsed) == {"AAPL": (Decimal(10), Decimal("100.12345679"))}


# --- Interactive Brokers: Open Positions --------------------------------------------------------


def test_ibkr_open_positions_hold_the_summary_rows_and_skip_lots_and_cash() -> None:
    parsed = sample("ibkr-open-positions.csv")

    assert figures(parsed) == {
        "AAPL": (Decimal(10), Decimal(1502)),
        "MSFT": (Decimal(3), Decimal("1050.3")),
    }
    assert parsed.skipped == {
        "lot rows (detail of a summary row)": 2,
        "cash balances (AssetClass CASH)": 1,
    }


def test_ibkr_options_shorts_and_lots_without_a_summary_are_refused_by_row() -> None:
    header = "CurrencyPrimary,AssetClass,Symbol,Quantity,CostBasisMoney,LevelOfDetail\n"
    rows = [
        "USD,OPT,AAPL  250117C00150000,1,500,SUMMARY",
        "USD,STK,TSLA,-5,-1000,SUMMARY",
        "USD,STK,MSFT,2,700,LOT",
        "USD,STK,NVDA,4,400,SUMMARY",
    ]
    parsed = parse(header + "\n".join(rows) + "\n")

    assert problems(parsed) == [
        (2, RowProblemCode.UNSUPPORTED),
        (3, RowProblemCode.QUANTITY_NOT_POSITIVE),
        (3, RowProblemCode.COST_NEGATIVE),
        (4, RowProblemCode.UNSUPPORTED),
    ]
    assert "AssetClass OPT: only stocks, ETFs and funds" in messages(parsed)[0]
    assert "short positions are not held here" in messages(parsed)[1]
    assert messages(parsed)[3] == (
        "MSFT has lot rows but no summary row: include the Summary level of detail in the "
        "Flex query."
    )
    assert figures(parsed) == {"NVDA": (Decimal(4), Decimal(400))}


# --- Ghostfolio activities ---------------------------------------------------------------------


def test_ghostfolio_positions_are_the_net_of_trades_at_average_cost() -> None:
    parsed = sample("ghostfolio.csv")

    # AAPL: 10 x 180 + 1 and 5 x 190 + 1 = 2752 for 15; selling 6 keeps 9/15 of it: 1651.20.
    # SAP.DE: 4 x 175.50 + 2.50 fee. MSFT: bought and sold out again.
    assert figures(parsed) == {
        "AAPL": (Decimal(9), Decimal("1651.20")),
        "SAP.DE": (Decimal(4), Decimal("704.50")),
    }
    assert parsed.closed == {"MSFT": [6, 7]}
    assert parsed.skipped == {"DIVIDEND (no position)": 1}
    assert parsed.holdings["AAPL"].rows == [2, 3, 5]


def test_ghostfolio_rows_are_taken_in_date_order_newest_first_files_included() -> None:
    oldest_first = GHOSTFOLIO + "\n".join([
        "2024-01-02,AAPL,USD,100,10,buy,0,",
        "2024-03-01,AAPL,USD,120,5,sell,0,",
        "2024-03-01,AAPL,USD,200,5,buy,0,",
    ])  # fmt: skip
    newest_first = GHOSTFOLIO + "\n".join([
        "2024-03-01,AAPL,USD,200,5,buy,0,",
        "2024-03-01,AAPL,USD,120,5,sell,0,",
        "2024-01-02,AAPL,USD,100,10,buy,0,",
    ])  # fmt: skip

    # Bought 10 for 1000, sold 5 (cost 500 left), bought 5 for 1000: 10 for 1500.
    assert figures(parse(oldest_first)) == {"AAPL": (Decimal(10), Decimal(1500))}
    assert figures(parse(newest_first)) == {"AAPL": (Decimal(10), Decimal(1500))}


def test_ghostfolio_problems_are_named_by_row_without_knock_on_errors() -> None:
    rows = [
        "2024-01-02,AAPL,USD,100,10,buy,0,",  # 2
        "2024-01-03,AAPL,USD,100,abc,buy,0,",  # 3: bad number; AAPL's later rows not judged
        "2024-01-04,AAPL,USD,100,20,sell,0,",  # 4
        "2024-01-05,MSFT,USD,300,2,transfer,0,",  # 5
        "31/02/2024,NVDA,USD,500,1,buy,0,",  # 6
        "2024-01-06,AMZN,USD,150,0,buy,0,",  # 7
        "2024-01-07,GOOG,USD,140,3,buy,0,",  # 8
        "2024-01-08,GOOG,USD,150,4,sell,0,",  # 9
        "2024-01-09,META,USD,,3,buy,0,",  # 10
        "2024-01-10,META,USD,,3,sell,0,",  # 11: a sale needs no price
    ]
    parsed = parse(GHOSTFOLIO + "\n".join(rows) + "\n")

    assert problems(parsed) == [
        (3, RowProblemCode.BAD_NUMBER),
        (5, RowProblemCode.UNKNOWN_ACTIVITY),
        (6, RowProblemCode.BAD_DATE),
        (7, RowProblemCode.QUANTITY_NOT_POSITIVE),
        (9, RowProblemCode.OVERSOLD),
        (10, RowProblemCode.MISSING_VALUE),
    ]
    by_row = {problem.row: problem.message for problem in parsed.problems}
    assert by_row[5] == (
        "Action “transfer” is not a Ghostfolio activity (BUY, DIVIDEND, FEE, INTEREST, ITEM, "
        "LIABILITY, SELL)."
    )
    assert by_row[6] == "Date “31/02/2024” is not a date (2024-01-15, 15/01/2024 or 20240115)."
    assert by_row[9] == (
        "Sells 4 GOOG on 2024-01-08, but only 3 are held by then (rows taken in date order): a "
        "buy is missing from the file, or its date is wrong."
    )
    assert by_row[10] == "Price is empty."
    assert parsed.holdings == {}


def test_ghostfolio_reads_an_interactive_brokers_trades_flex_query_too() -> None:
    # The column names Ghostfolio accepts include IBKR's Trades section: negative quantities
    # and commissions on sales, yyyymmdd dates.
    text = (
        "TradeDate,Symbol,Buy/Sell,Quantity,TradePrice,IBCommission,CurrencyPrimary\n"
        "20240102,MSFT,BUY,4,370.00,-1.00,USD\n"
        "20240301,MSFT,SELL,-1,410.00,-1.00,USD\n"
    )
    parsed = parse(text)

    assert parsed.spec.format is ImportFormat.GHOSTFOLIO
    assert figures(parsed) == {"MSFT": (Decimal(3), Decimal("1110.75"))}


# --- Wealthfolio activities --------------------------------------------------------------------


def test_wealthfolio_positions_are_the_net_of_trades_and_transfers() -> None:
    parsed = sample("wealthfolio.csv")

    # VOO: 4 x 430 and 2 x 445.50 + 1.50 = 2612.50 for 6; selling 3 keeps half: 1306.25.
    assert figures(parsed) == {
        "VOO": (Decimal(3), Decimal("1306.25")),
        "SAP.DE": (Decimal(10), Decimal(1705)),
        "BTC-USD": (Decimal("0.05"), Decimal(3000)),
    }
    assert parsed.skipped == {
        "DEPOSIT (no position)": 1,
        "DIVIDEND (no position)": 1,
        "TRANSFER_OUT (no position)": 1,
    }


def test_wealthfolio_refuses_what_it_cannot_apply_rather_than_import_it_wrong() -> None:
    rows = [
        "2024-01-02,NVDA,10,BUY,500,USD,0,,",  # 2
        "2024-06-10,NVDA,10,SPLIT,1,USD,0,10,",  # 3
        "2024-07-01,SCHD,0.1,DIVIDEND,450,USD,0,45,DRIP",  # 4
        "2024-07-02,QQQ,1,SWAP,450,USD,0,,",  # 5
        "2024-07-03,VOO,1,BUY,450,EUR,0,,",  # 6: a currency check is the plan's
    ]
    parsed = parse(WEALTHFOLIO + "\n".join(rows) + "\n")

    assert problems(parsed) == [
        (3, RowProblemCode.UNSUPPORTED),
        (4, RowProblemCode.UNSUPPORTED),
        (5, RowProblemCode.UNKNOWN_ACTIVITY),
    ]
    assert messages(parsed)[0] == (
        "SPLIT: stock splits are not applied by an import; remove the row and set the "
        "position's quantity by hand after the import."
    )
    assert messages(parsed)[1].startswith("DIVIDEND DRIP brings units in")
    assert set(parsed.holdings) == {"VOO"}
    assert parsed.holdings["VOO"].currencies == [(6, "EUR")]
