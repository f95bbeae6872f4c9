"""One recipient's rows as an Excel workbook (XlsxWriter), for people who open their file in a spreadsheet.

What a spreadsheet must not change is written as text: identifiers (loan, borrower, 身份证号),
phones, masked and hashed values and dates are TEXT cells (an 18-digit ID read as a number loses its
last digits; a phone loses its leading zero). Amounts and counts are numbers, so they add up. The
header row is frozen and filterable and the columns are sized to their content.

The bytes are the same for the same rows: XlsxWriter's in-memory mode stamps every part of the zip
with 1980-01-01, and the document's creation date is set to the business date, not the clock.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arrears.errors import ArrearsError
from arrears.export.config import Recipient
from arrears.export.privacy import is_text

if TYPE_CHECKING:
    from xlsxwriter.format import Format
    from xlsxwriter.worksheet import Worksheet

# Excel's last row is 1,048,576; one is the header.
MAX_DATA_ROWS = 1_048_575
MIN_WIDTH, MAX_WIDTH = 8, 60
FETCH_ROWS = 5_000  # rows per round trip of the server-side cursor


class TooManyRowsForXlsx(ArrearsError):
    """A recipient configured for xlsx has more rows than a worksheet holds."""


@dataclass(frozen=True)
class XlsxColumn:
    """A column of the sheet: its header and whether its cells are text (else numbers)."""

    header: str
    text: bool


def display_width(text: str) -> int:
    """Width in spreadsheet character units: Chinese (wide) characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


class _SheetWriter:
    """Writes cells with the formats and column widths of one export sheet."""

    def __init__(self, workbook: Any, sheet: Worksheet, columns: list[XlsxColumn]) -> None:
        self._workbook = workbook
        self._sheet = sheet
        self._columns = columns
        self._text = workbook.add_format({"num_format": "@"})
        self._header = workbook.add_format({"bold": True, "bottom": 1, "num_format": "@"})
        self._numbers: dict[int, Format] = {}
        self.widths = [display_width(column.header) + 2 for column in columns]  # + the filter button

    def _number_format(self, value: Decimal) -> Format:
        """Show a numeric value with the decimals the warehouse gave it (1234.50, not 1234.5)."""
        exponent = value.as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if decimals not in self._numbers:
            pattern = "0." + "0" * decimals if decimals else "0"
            self._numbers[decimals] = self._workbook.add_format({"num_format": pattern})
        return self._numbers[decimals]

    def header(self) -> None:
        for position, column in enumerate(self._columns):
            self._sheet.write_string(0, position, column.header, self._header)

    def row(self, number: int, values: tuple[Any, ...]) -> None:
        widths = self.widths
        for position, (column, value) in enumerate(zip(self._columns, values, strict=True)):
            if value is None:
                continue
            if column.text or isinstance(value, str | dt.date):
                text = value.isoformat() if isinstance(value, dt.date) else str(value)
                self._sheet.write_string(number, position, text, self._text)
                # A text is at most twice its length wide: measure it only when it could widen the column.
                if 2 * len(text) > widths[position]:
                    widths[position] = max(widths[position], display_width(text))
            else:
                decimal = value if isinstance(value, Decimal) else Decimal(str(value))
                self._sheet.write_number(number, position, float(decimal), self._number_format(decimal))
                widths[position] = max(widths[position], len(str(decimal)))

    def finish(self, rows: int) -> None:
        last = len(self._columns) - 1
        for position, width in enumerate(self.widths):
            self._sheet.set_column(position, position, min(max(width + 1, MIN_WIDTH), MAX_WIDTH))
        self._sheet.freeze_panes(1, 0)
        self._sheet.autofilter(0, 0, max(rows, 1), last)
        # Text that looks like a number is meant as text: no green "number stored as text" marks.
        self._sheet.ignore_errors({"number_stored_as_text": f"A1:XFD{rows + 1}"})


def xlsx_bytes(rows: Any, columns: list[XlsxColumn], title: str, created: dt.datetime) -> tuple[bytes, int]:
    """The workbook's bytes and its row count, from an iterable of row tuples; the sheet is named by the title."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,  # no temporary files; zip members dated 1980-01-01, so the bytes are repeatable
            "strings_to_numbers": False,
            "strings_to_formulas": False,  # a cell is never a formula, whatever it starts with
            "strings_to_urls": False,
        },
    )
    workbook.set_properties({"title": title, "created": created})
    sheet = workbook.add_worksheet(title[:31])  # Excel's limit
    writer = _SheetWriter(workbook, sheet, columns)
    writer.header()
    count = 0
    for values in rows:
        count += 1
        if count > MAX_DATA_ROWS:
            workbook.close()
            raise TooManyRowsForXlsx(
                f"{title}: more than {MAX_DATA_ROWS:,} rows do not fit an xlsx sheet; use format csv for this recipient"
            )
        writer.row(count, values)
    writer.finish(count)
    workbook.close()
    return buffer.getvalue(), count


@dataclass(frozen=True)
class XlsxSheet:
    """How a recipient's rows are laid out as a sheet: its columns, its title and the document's date."""

    columns: list[XlsxColumn]
    title: str
    created: dt.datetime


def xlsx_sheet(target: Recipient, business_date: dt.date) -> XlsxSheet:
    """The recipient's sheet of a date; created at the business date, not the clock, so the bytes repeat."""
    columns = [XlsxColumn(column.header(target.header_language), is_text(column)) for column in target.columns]
    created = dt.datetime.combine(business_date, dt.time(), tzinfo=dt.UTC)
    return XlsxSheet(columns, f"{target.name} {business_date.isoformat()}", created)
