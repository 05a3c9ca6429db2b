"""The product CSV (seed 002 "Product Feed Configuration"): its columns, how a catalog product becomes a row,
and reading an uploaded file (UTF-8 with or without BOM, or Windows-1252 as older spreadsheets save; `,` or
`;` or tab as the delimiter) with Python's csv module."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from feeds.products.frequency import frequency_format

COL_PRODUCT_ID = "Product ID"
COL_SKU = "SKU"
COL_NAME = "Name"
COL_MODIFIER_ID = "Subscription Modifier ID"
COL_MODIFIER = "Subscription Modifier"
COL_AUTOSHIP = "Autoship Eligible"
COL_FREQUENCY = "Frequency"
COLUMNS = [COL_PRODUCT_ID, COL_SKU, COL_NAME, COL_MODIFIER_ID, COL_MODIFIER, COL_AUTOSHIP, COL_FREQUENCY]
REQUIRED_COLUMNS = [COL_PRODUCT_ID, COL_AUTOSHIP, COL_FREQUENCY]

SUBSCRIPTION_WORD = "subscription"


def subscription_modifier(product: dict) -> dict | None:
    """The product's modifier whose name contains "Subscription" (seed 002 "Offers"; DECISIONS §3.7). The
    word is matched case-insensitively; with several, the first in BigCommerce's order wins."""
    for modifier in product.get("modifiers") or []:
        if SUBSCRIPTION_WORD in str(modifier.get("name", "")).lower():
            return modifier
    return None


def export_row(product: dict, existing: dict | None = None) -> list[str]:
    """A catalog product as a CSV row. Frequency is prefilled from the modifier's option values with every and
    every_period 0 (seed 002), or — when the store already imported settings for those same options — with
    what was imported, so that export → edit → import round-trips."""
    modifier = subscription_modifier(product)
    autoship = "FALSE"
    frequency = ""
    if modifier is not None:
        known = {}
        if existing and existing.get("modifier_id") == modifier.get("id"):
            known = {int(f["option_id"]): f for f in existing.get("frequencies") or []}
            autoship = "TRUE" if existing.get("autoship_eligible") else "FALSE"
        options = []
        for value in modifier.get("option_values") or []:
            prior = known.get(int(value["id"]))
            options.append({"name": value.get("label", ""), "option_id": value["id"],
                            "every": prior["every"] if prior else 0,
                            "every_period": prior["every_period"] if prior else 0,
                            "is_default": prior["is_default"] if prior else bool(value.get("is_default"))})
        frequency = frequency_format(options)
    return [str(product["id"]), product.get("sku") or "", product.get("name") or "",
            str(modifier["id"]) if modifier else "", modifier.get("name", "") if modifier else "",
            autoship, frequency]


def rows_to_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


def header_text() -> str:
    return rows_to_text([COLUMNS])


class CsvFileError(ValueError):
    pass


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="strict")


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def read_rows(text: str) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    """The header's column positions (by canonical name) and (row number, cells) for each data row."""
    if not text.strip():
        raise CsvFileError("The file is empty.")
    first_line = text.splitlines()[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    try:
        header = next(reader)
    except csv.Error as exc:
        raise CsvFileError(f"The header row cannot be read: {exc}") from exc
    wanted = {c.lower(): c for c in COLUMNS}
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = wanted.get(" ".join(cell.split()).lower())
        if name and name not in positions:
            positions[name] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise CsvFileError(f"The header row lacks the column(s) {', '.join(missing)} "
                           f"(expected: {', '.join(COLUMNS)}).")

    def rows() -> Iterator[tuple[int, list[str]]]:
        # Row numbers as a spreadsheet shows them: the header is row 1, a cell with line breaks stays one row.
        number = 1
        try:
            for cells in reader:
                number += 1
                if not any(cell.strip() for cell in cells):
                    continue
                yield number, cells
        except csv.Error as exc:
            raise CsvFileError(f"Row {number + 1}: {exc}") from exc

    return positions, rows()
