"""Reading and checking the rows of an uploaded product CSV (seed 002): every cell of every row is checked, so
that one upload reports every error by row, column and reason; then the subscription products are checked
against the live catalog (their subscription modifier and its options). Nothing here writes: the import
(feeds.products.imports) decides what to record."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from bigcommerce_app.client import BigCommerceClient, BigCommerceError, client_for_store
from bigcommerce_app.models import Store
from feeds.products import csvfile
from feeds.products.frequency import Frequency, FrequencyError, frequency_parse, frequency_problems
from middleware.plumbing.inputs import INT32_MAX, optional_int

logger = logging.getLogger(__name__)

# Products whose modifiers one import lookup asks for (`id:in`); BigCommerce pages them 10 at a time.
IMPORT_LOOKUP_BATCH = 50
IMPORT_CHECK_ATTEMPTS = 5  # per lookup on the worker: ~30 s of backoff (more after a rate limit) before rejecting


@dataclass
class ImportRow:
    number: int
    product_id: int
    sku: str
    name: str
    modifier_id_cell: str
    autoship: bool
    frequencies: list = field(default_factory=list)


def row_error(errors: list[dict], row: int, column: str, reason: str) -> None:
    errors.append({"row": row, "column": column, "reason": reason})


def _parse_bool(text: str) -> bool | None:
    value = text.strip().upper()
    return {"TRUE": True, "FALSE": False}.get(value)


def _cells_without_nul(number: int, cells: list[str], positions: dict[str, int], errors: list[dict]) -> list[str]:
    """The row's cells, or (when a column of ours holds a NUL, which PostgreSQL cannot store) an error per such
    column and the cells with the NULs removed, so the rest of the row is still checked and reported."""
    bad = [column for column, index in positions.items() if index < len(cells) and "\x00" in cells[index]]
    if not bad:
        return cells
    for column in bad:
        row_error(errors, number, column, "The cell contains a NUL character (\\0): remove it and upload again.")
    return [c.replace("\x00", "") for c in cells]


def rows_read(data: bytes, errors: list[dict], warnings: list[str]) -> tuple[list[ImportRow], list[ImportRow]]:
    """(valid rows, rows worth checking against the catalog: a product id and a readable Frequency, even when
    another cell of the row is wrong, so that one upload reports every error)."""
    try:
        text = csvfile.decode(data)
        positions, records = csvfile.read_rows(text)
        raw_rows = list(records)
    except (csvfile.CsvFileError, UnicodeDecodeError) as exc:
        reason = str(exc) if isinstance(exc, csvfile.CsvFileError) else "The file is neither UTF-8 nor Windows-1252."
        row_error(errors, 1, "", reason)
        return [], []
    rows: list[ImportRow] = []
    checkable: list[ImportRow] = []
    seen: dict[int, int] = {}  # product id -> the row that listed it first
    for number, raw_cells in raw_rows:
        row, row_ok, worth_checking = _row_read(number, raw_cells, positions, seen, errors, warnings)
        if row_ok:
            rows.append(row)
        if worth_checking:
            checkable.append(row)
    if not raw_rows:
        row_error(errors, 1, "", "The file has a header but no product rows.")
    return rows, checkable


def _row_read(number: int, raw_cells: list[str], positions: dict[str, int], seen: dict[int, int],
              errors: list[dict], warnings: list[str]) -> tuple[ImportRow, bool, bool]:
    """One row: (the row, whether it is valid, whether it is worth checking against the catalog)."""
    cells = _cells_without_nul(number, raw_cells, positions, errors)

    def cell(column: str) -> str:
        index = positions.get(column)
        return cells[index] if index is not None and index < len(cells) else ""

    product_id, id_ok = _product_id_read(number, cell(csvfile.COL_PRODUCT_ID), seen, errors)
    autoship_text = cell(csvfile.COL_AUTOSHIP)
    autoship = _parse_bool(autoship_text)
    if autoship is None:
        row_error(errors, number, csvfile.COL_AUTOSHIP,
                  f"'{autoship_text.strip()[:40]}' is not TRUE or FALSE." if autoship_text.strip()
                  else "Autoship Eligible is empty: set TRUE or FALSE.")
    frequencies, frequencies_ok = _frequencies_read(number, cell(csvfile.COL_FREQUENCY), bool(autoship), errors,
                                                    warnings)
    row = ImportRow(number=number, product_id=product_id or 0, sku=cell(csvfile.COL_SKU).strip(),
                    name=cell(csvfile.COL_NAME).strip(), modifier_id_cell=cell(csvfile.COL_MODIFIER_ID).strip(),
                    autoship=bool(autoship), frequencies=frequencies or [])
    row_ok = cells is raw_cells and id_ok and autoship is not None and frequencies_ok
    worth_checking = (product_id is not None and frequencies is not None and bool(autoship)
                      and seen.get(product_id) == number)
    return row, row_ok, worth_checking


def _product_id_read(number: int, text: str, seen: dict[int, int], errors: list[dict]) -> tuple[int | None, bool]:
    """The row's product id (None when unreadable) and whether it is usable (readable and not listed before)."""
    pid_text = text.strip()
    product_id = optional_int(pid_text, minimum=1, maximum=INT32_MAX)
    if product_id is None:
        row_error(errors, number, csvfile.COL_PRODUCT_ID,
                  f"'{pid_text[:40]}' is not a BigCommerce product id (a positive whole number)."
                  if pid_text else "The product id is missing.")
        return None, False
    if product_id in seen:
        row_error(errors, number, csvfile.COL_PRODUCT_ID,
                  f"Product {product_id} is already listed on row {seen[product_id]}.")
        return product_id, False
    seen[product_id] = number
    return product_id, True


def _frequencies_read(number: int, text: str, autoship: bool, errors: list[dict], warnings: list[str]
                      ) -> tuple[list[Frequency] | None, bool]:
    """The parsed Frequency cell (None when unreadable) and whether it is valid for the row."""
    try:
        frequencies = frequency_parse(text)
    except FrequencyError as exc:
        row_error(errors, number, csvfile.COL_FREQUENCY, str(exc))
        return None, False
    if not autoship:
        return frequencies, True
    problems, row_warnings = frequency_problems(frequencies)
    for problem in problems:
        row_error(errors, number, csvfile.COL_FREQUENCY, problem)
    warnings.extend(f"Row {number}: {warning}" for warning in row_warnings)
    return frequencies, not problems


def rows_check_against_catalog(store: Store, rows: list[ImportRow], errors: list[dict],
                               client: BigCommerceClient | None, *, patient: bool = False) -> dict[int, dict]:
    """Option ids must exist on the product's subscription modifier (live catalog). Returns the modifier of
    each subscription-eligible product. `patient` (a worker checking a large file): a lookup that fails for a
    while (5xx, no answer, a long rate-limit wait) is tried again with backoff rather than rejecting a file
    that took minutes to check; in the upload request it is not, to keep the request short."""
    eligible = [row for row in rows if row.autoship]
    if not eligible:
        return {}
    catalog = _catalog_products(store, [row.product_id for row in eligible], client, patient=patient)
    modifiers: dict[int, dict] = {}
    for row in eligible:
        product = catalog.get(row.product_id)
        if product is None:
            row_error(errors, row.number, csvfile.COL_PRODUCT_ID,
                      f"Product {row.product_id} does not exist in the BigCommerce catalog.")
            continue
        modifier = _row_modifier(row, product, errors)
        if modifier is not None:
            modifiers[row.product_id] = {"modifier": modifier, "product": product}
    return modifiers


def _catalog_products(store: Store, ids: list[int], client: BigCommerceClient | None, *, patient: bool
                      ) -> dict[int, dict]:
    client = client or client_for_store(store)
    lookup = client.products_by_ids
    if patient:
        lookup = Retrying(stop=stop_after_attempt(IMPORT_CHECK_ATTEMPTS), wait=_check_retry_wait, reraise=True,
                          retry=retry_if_exception(lambda exc: isinstance(exc, BigCommerceError) and exc.transient),
                          before_sleep=lambda state: logger.warning(
                              "Import check of store %s: BigCommerce lookup failed (attempt %d): %s; retrying",
                              store.store_hash, state.attempt_number, state.outcome.exception())).wraps(lookup)
    catalog: dict[int, dict] = {}
    for start in range(0, len(ids), IMPORT_LOOKUP_BATCH):
        for product in lookup(ids[start:start + IMPORT_LOOKUP_BATCH], include="modifiers"):
            catalog[int(product["id"])] = product
    return catalog


def _row_modifier(row: ImportRow, product: dict, errors: list[dict]) -> dict | None:
    """The product's subscription modifier when the row matches it (errors for the row otherwise; a modifier
    whose options the row does not all cover is still returned, with the error recorded)."""
    modifier = csvfile.subscription_modifier(product)
    if modifier is None:
        row_error(errors, row.number, csvfile.COL_AUTOSHIP,
                  f"Product {row.product_id} has no product modifier whose name contains 'Subscription'; add one "
                  "in BigCommerce (seed 002 'Offers') and export again.")
        return None
    if row.modifier_id_cell and row.modifier_id_cell != str(modifier["id"]):
        row_error(errors, row.number, csvfile.COL_MODIFIER_ID,
                  f"The product's subscription modifier is now {modifier['id']} ('{modifier.get('name')}'), not "
                  f"{row.modifier_id_cell}: export again.")
        return None
    values = {int(v["id"]): v.get("label", "") for v in modifier.get("option_values") or []}
    unknown = [f for f in row.frequencies if f.option_id not in values]
    for option in unknown:
        listed = ", ".join(f"{vid} ('{label}')" for vid, label in values.items()) or "none"
        row_error(errors, row.number, csvfile.COL_FREQUENCY,
                  f"option_id {option.option_id} ('{option.name}') is not an option of the modifier "
                  f"'{modifier.get('name')}' ({modifier['id']}); its options are {listed}.")
    covered = {f.option_id for f in row.frequencies}
    missing = [f"{vid} ('{label}')" for vid, label in values.items() if vid not in covered]
    if missing and not unknown:
        row_error(errors, row.number, csvfile.COL_FREQUENCY,
                  f"The modifier's option(s) {', '.join(missing)} have no frequency: every option a shopper can "
                  "choose needs one.")
    return modifier


def _check_retry_wait(state) -> float:
    """Exponential from PRODUCT_IMPORT_CHECK_RETRY_SECONDS, at least what a rate limit asked for, at most 60 s."""
    first = float(getattr(settings, "PRODUCT_IMPORT_CHECK_RETRY_SECONDS", 2.0))
    asked = getattr(state.outcome.exception(), "retry_after", 0) or 0
    return min(max(first * 2 ** (state.attempt_number - 1), asked), 60.0)
