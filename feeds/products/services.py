"""Writes of the product CSV feature (seed 002 "Product Feed Configuration"): the background catalog export,
the all-or-nothing import of subscription settings, and rolling an import back."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from bigcommerce_app.client import (
    BigCommerceClient,
    BigCommerceError,
    BigCommerceRateLimited,
    client_for_store,
)
from bigcommerce_app.models import Store
from bigcommerce_app.services import audit
from bigcommerce_app.tasks import storefront_content_reconcile_soon
from feeds.models import ProductExportChunk, ProductExportJob, ProductSettingsImport, ProductSubscriptionSetting
from feeds.products import csvfile
from feeds.products.frequency import FrequencyError, frequency_parse, frequency_problems
from feeds.products.selectors import APPLIED_ORDER
from middleware.plumbing.inputs import INT32_MAX, optional_int

logger = logging.getLogger(__name__)

# A job that has not written progress for this long lost its worker: a new export may start.
EXPORT_STALE_AFTER = timedelta(minutes=10)
# One task run works this long, then re-enqueues itself (well inside CELERY_TASK_SOFT_TIME_LIMIT).
EXPORT_RUN_BUDGET_SECONDS = 60.0
EXPORT_MAX_CONSECUTIVE_FAILURES = 5
# Products whose modifiers one import lookup asks for (`id:in`); BigCommerce pages them 10 at a time.
IMPORT_LOOKUP_BATCH = 50
# Subscription products an upload request checks itself (≈ this / 10 BigCommerce calls); more: a worker does.
IMPORT_INLINE_MAX_PRODUCTS = 200
# A check that has not started this long after the upload is refused (the broker was down, the queue stuck), and
# one that started runs at most 31 minutes (its task's hard limit): a CHECKING import undecided after
# selectors.IMPORT_STALE_AFTER has lost its task for good, and the console says so.
IMPORT_START_DEADLINE = timedelta(minutes=10)
IMPORT_CHECK_ATTEMPTS = 5  # per lookup on the worker: ~30 s of backoff (more after a rate limit) before rejecting
MAX_STORED_ERRORS = 2000


class ProductSettingsError(Exception):
    """A request the product CSV feature refuses, with a message for the merchant."""


# --- Export ------------------------------------------------------------------------------------------------

EXPORT_RETENTION_DAYS = 7


def product_exports_prune(*, now=None) -> int:
    """Delete finished exports (and their CSV chunks) older than PRODUCT_EXPORT_RETENTION_DAYS; returns how many
    jobs. A finished export's file is a download for the merchant who asked for it, not a record: the CSV can be
    exported again at any time, and a catalog's worth of chunks per export must not pile up."""
    days = int(getattr(settings, "PRODUCT_EXPORT_RETENTION_DAYS", EXPORT_RETENTION_DAYS))
    cutoff = (now or timezone.now()) - timedelta(days=days)
    finished = ProductExportJob.objects.exclude(status__in=ProductExportJob.ACTIVE).filter(created_at__lt=cutoff)
    deleted = 0
    for job in finished.only("pk").iterator():
        with transaction.atomic():
            # One DELETE for the chunks (nothing depends on them); a cascade from the job would load them first.
            ProductExportChunk.objects.filter(job_id=job.pk).delete()
            ProductExportJob.objects.filter(pk=job.pk).delete()
        deleted += 1
    if deleted:
        logger.info("Retention: deleted %d product exports created before %s", deleted, cutoff.isoformat())
    return deleted


def product_export_start(store: Store, *, requested_by: str = "") -> ProductExportJob:
    """Queue an export; while one is running for the store, that one is returned instead of a second."""
    from feeds.products.tasks import product_export_run

    with transaction.atomic():
        Store.objects.select_for_update().filter(pk=store.pk).first()  # one start at a time per store
        active = ProductExportJob.objects.filter(store=store, status__in=ProductExportJob.ACTIVE).first()
        if active is not None:
            last_sign_of_life = active.heartbeat_at or active.created_at
            if timezone.now() - last_sign_of_life < EXPORT_STALE_AFTER:
                return active
            active.status = ProductExportJob.Status.FAILED
            active.error = "The export stopped making progress (its worker was lost); a new one was started."
            active.finished_at = timezone.now()
            active.save(update_fields=["status", "error", "finished_at"])
        job = ProductExportJob.objects.create(store=store, requested_by=requested_by)
        audit(store, "product_export_started", actor=requested_by, job_id=job.pk)
        transaction.on_commit(lambda: product_export_run.delay(job.pk))
    return job


@dataclass
class ExportProgress:
    done: bool
    resume_in: float | None = None  # seconds until the task should run again; None when finished


def product_export_run(job_id: int, *, budget_seconds: float = EXPORT_RUN_BUDGET_SECONDS,
                       client: BigCommerceClient | None = None) -> ExportProgress:
    """Walk the catalog from the job's next page, one page (≤ 250 products, 10 with modifiers) at a time,
    writing each page's rows before asking for the next. Stops after `budget_seconds` or when BigCommerce asks
    for a longer wait than a worker should sleep, so the caller can re-enqueue (DECISIONS §3.13)."""
    job = ProductExportJob.objects.select_related("store").filter(pk=job_id).first()
    if job is None or job.status not in ProductExportJob.ACTIVE:
        return ExportProgress(done=True)
    store = job.store
    if not store.is_installed:
        _export_fail(job, "The app is not installed on this store any more.")
        return ExportProgress(done=True)
    client = client or client_for_store(store)
    if job.status == ProductExportJob.Status.QUEUED:
        job.status = ProductExportJob.Status.RUNNING
        job.started_at = timezone.now()
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["status", "started_at", "heartbeat_at"])
    started = time.monotonic()
    while True:
        if time.monotonic() - started > budget_seconds:
            return ExportProgress(done=False, resume_in=0)
        requests_before, waits_before = client.requests_made, client.rate_limit_waits
        try:
            body = client.products_page(job.next_page, include="modifiers")
        except BigCommerceRateLimited as exc:
            _export_account(job, client, requests_before, waits_before, extra_waits=1)
            return ExportProgress(done=False, resume_in=exc.retry_after)
        except BigCommerceError as exc:
            _export_account(job, client, requests_before, waits_before)
            if exc.transient and job.consecutive_failures + 1 < EXPORT_MAX_CONSECUTIVE_FAILURES:
                job.consecutive_failures += 1
                job.error = f"Retrying after: {exc}"
                job.save(update_fields=["consecutive_failures", "error"])
                return ExportProgress(done=False, resume_in=min(2 ** job.consecutive_failures, 60))
            _export_fail(job, f"BigCommerce refused the catalog page {job.next_page}: {exc.message or exc}")
            return ExportProgress(done=True)
        job.requests_made += client.requests_made - requests_before
        job.rate_limit_waits += client.rate_limit_waits - waits_before
        _export_page_write(job, body)  # saves the job with the counters above, once per page
        pagination = (body.get("meta") or {}).get("pagination") or {}
        total_pages = int(pagination.get("total_pages") or 1)
        if not body.get("data") or job.next_page > total_pages:
            job.status = ProductExportJob.Status.SUCCEEDED
            job.finished_at = timezone.now()
            job.products_total = job.products_done
            job.error = ""
            job.save()
            audit(store, "product_export_succeeded", job_id=job.pk, products=job.products_done)
            return ExportProgress(done=True)


def _export_page_write(job: ProductExportJob, body: dict) -> None:
    products = body.get("data") or []
    pagination = (body.get("meta") or {}).get("pagination") or {}
    ids = [int(p["id"]) for p in products]
    existing = {row["bc_product_id"]: row for row in ProductSubscriptionSetting.objects.filter(
        store_id=job.store_id, bc_product_id__in=ids).values("bc_product_id", "modifier_id", "autoship_eligible",
                                                            "frequencies")}
    rows = [csvfile.export_row(product, existing.get(int(product["id"]))) for product in products]
    subscription_rows = sum(1 for row in rows if row[3])
    with transaction.atomic():
        ProductExportChunk.objects.update_or_create(
            job=job, page=job.next_page,
            defaults={"rows": len(rows), "text": csvfile.rows_to_text(rows)})
        per_page = int(pagination.get("per_page") or len(products) or 1)
        job.products_done = (job.next_page - 1) * per_page + len(products)
        # The chunk and the counters commit together, so a page retried after a crash is counted once.
        job.subscription_products += subscription_rows
        if pagination.get("total") is not None:
            job.products_total = int(pagination["total"])
        job.total_pages = int(pagination.get("total_pages") or 1)
        job.next_page += 1
        job.consecutive_failures = 0
        job.heartbeat_at = timezone.now()
        job.save()


def _export_account(job: ProductExportJob, client: BigCommerceClient, requests_before: int, waits_before: int,
                    *, extra_waits: int = 0) -> None:
    job.requests_made += client.requests_made - requests_before
    job.rate_limit_waits += client.rate_limit_waits - waits_before + extra_waits
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["requests_made", "rate_limit_waits", "heartbeat_at"])


def _export_fail(job: ProductExportJob, message: str) -> None:
    job.status = ProductExportJob.Status.FAILED
    job.error = message
    job.finished_at = timezone.now()
    job.save()
    audit(job.store, "product_export_failed", job_id=job.pk, error=message)


# --- Import ------------------------------------------------------------------------------------------------

@dataclass
class _Row:
    number: int
    product_id: int
    sku: str
    name: str
    modifier_id_cell: str
    autoship: bool
    frequencies: list = field(default_factory=list)


def _error(errors: list[dict], row: int, column: str, reason: str) -> None:
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
        _error(errors, number, column, "The cell contains a NUL character (\\0): remove it and upload again.")
    return [c.replace("\x00", "") for c in cells]


def _read_file(data: bytes, errors: list[dict], warnings: list[str]) -> tuple[list[_Row], list[_Row]]:
    """(valid rows, rows worth checking against the catalog: a product id and a readable Frequency, even when
    another cell of the row is wrong, so that one upload reports every error)."""
    try:
        text = csvfile.decode(data)
        positions, records = csvfile.read_rows(text)
        raw_rows = list(records)
    except (csvfile.CsvFileError, UnicodeDecodeError) as exc:
        reason = str(exc) if isinstance(exc, csvfile.CsvFileError) else "The file is neither UTF-8 nor Windows-1252."
        _error(errors, 1, "", reason)
        return [], []

    def cell(cells: list[str], column: str) -> str:
        index = positions.get(column)
        return cells[index] if index is not None and index < len(cells) else ""

    rows: list[_Row] = []
    checkable: list[_Row] = []
    seen: dict[int, int] = {}
    for number, raw_cells in raw_rows:
        cells = _cells_without_nul(number, raw_cells, positions, errors)
        row_ok = cells is raw_cells
        pid_text = cell(cells, csvfile.COL_PRODUCT_ID).strip()
        product_id = optional_int(pid_text, minimum=1, maximum=INT32_MAX)
        if product_id is None:
            _error(errors, number, csvfile.COL_PRODUCT_ID,
                   f"'{pid_text[:40]}' is not a BigCommerce product id (a positive whole number)."
                   if pid_text else "The product id is missing.")
            row_ok = False
        elif product_id in seen:
            _error(errors, number, csvfile.COL_PRODUCT_ID,
                   f"Product {product_id} is already listed on row {seen[product_id]}.")
            row_ok = False
        else:
            seen[product_id] = number
        autoship_text = cell(cells, csvfile.COL_AUTOSHIP)
        autoship = _parse_bool(autoship_text)
        if autoship is None:
            _error(errors, number, csvfile.COL_AUTOSHIP,
                   f"'{autoship_text.strip()[:40]}' is not TRUE or FALSE." if autoship_text.strip()
                   else "Autoship Eligible is empty: set TRUE or FALSE.")
            row_ok = False
        frequencies = None
        try:
            frequencies = frequency_parse(cell(cells, csvfile.COL_FREQUENCY))
        except FrequencyError as exc:
            _error(errors, number, csvfile.COL_FREQUENCY, str(exc))
            row_ok = False
        if frequencies is not None and autoship:
            problems, row_warnings = frequency_problems(frequencies)
            for problem in problems:
                _error(errors, number, csvfile.COL_FREQUENCY, problem)
            warnings.extend(f"Row {number}: {warning}" for warning in row_warnings)
            row_ok = row_ok and not problems
        row = _Row(number=number, product_id=product_id or 0, sku=cell(cells, csvfile.COL_SKU).strip(),
                   name=cell(cells, csvfile.COL_NAME).strip(),
                   modifier_id_cell=cell(cells, csvfile.COL_MODIFIER_ID).strip(),
                   autoship=bool(autoship), frequencies=frequencies or [])
        if row_ok:
            rows.append(row)
        if product_id is not None and frequencies is not None and autoship and seen.get(product_id) == number:
            checkable.append(row)
    if not raw_rows:
        _error(errors, 1, "", "The file has a header but no product rows.")
    return rows, checkable


def _check_against_catalog(store: Store, rows: list[_Row], errors: list[dict], client: BigCommerceClient | None,
                           *, patient: bool = False) -> dict[int, dict]:
    """Option ids must exist on the product's subscription modifier (live catalog). Returns the modifier of
    each subscription-eligible product. `patient` (a worker checking a large file): a lookup that fails for a
    while (5xx, no answer, a long rate-limit wait) is tried again with backoff rather than rejecting a file
    that took minutes to check; in the upload request it is not, to keep the request short."""
    eligible = [row for row in rows if row.autoship]
    if not eligible:
        return {}
    client = client or client_for_store(store)
    lookup = client.products_by_ids
    if patient:
        lookup = Retrying(stop=stop_after_attempt(IMPORT_CHECK_ATTEMPTS), wait=_check_retry_wait, reraise=True,
                          retry=retry_if_exception(lambda exc: isinstance(exc, BigCommerceError) and exc.transient),
                          before_sleep=lambda state: logger.warning(
                              "Import check of store %s: BigCommerce lookup failed (attempt %d): %s; retrying",
                              store.store_hash, state.attempt_number, state.outcome.exception())).wraps(lookup)
    catalog: dict[int, dict] = {}
    ids = [row.product_id for row in eligible]
    for start in range(0, len(ids), IMPORT_LOOKUP_BATCH):
        for product in lookup(ids[start:start + IMPORT_LOOKUP_BATCH], include="modifiers"):
            catalog[int(product["id"])] = product
    modifiers: dict[int, dict] = {}
    for row in eligible:
        product = catalog.get(row.product_id)
        if product is None:
            _error(errors, row.number, csvfile.COL_PRODUCT_ID,
                   f"Product {row.product_id} does not exist in the BigCommerce catalog.")
            continue
        modifier = csvfile.subscription_modifier(product)
        if modifier is None:
            _error(errors, row.number, csvfile.COL_AUTOSHIP,
                   f"Product {row.product_id} has no product modifier whose name contains 'Subscription'; add one "
                   "in BigCommerce (seed 002 'Offers') and export again.")
            continue
        if row.modifier_id_cell and row.modifier_id_cell != str(modifier["id"]):
            _error(errors, row.number, csvfile.COL_MODIFIER_ID,
                   f"The product's subscription modifier is now {modifier['id']} ('{modifier.get('name')}'), not "
                   f"{row.modifier_id_cell}: export again.")
            continue
        values = {int(v["id"]): v.get("label", "") for v in modifier.get("option_values") or []}
        unknown = [f for f in row.frequencies if f.option_id not in values]
        for option in unknown:
            listed = ", ".join(f"{vid} ('{label}')" for vid, label in values.items()) or "none"
            _error(errors, row.number, csvfile.COL_FREQUENCY,
                   f"option_id {option.option_id} ('{option.name}') is not an option of the modifier "
                   f"'{modifier.get('name')}' ({modifier['id']}); its options are {listed}.")
        covered = {f.option_id for f in row.frequencies}
        missing = [f"{vid} ('{label}')" for vid, label in values.items() if vid not in covered]
        if missing and not unknown:
            _error(errors, row.number, csvfile.COL_FREQUENCY,
                   f"The modifier's option(s) {', '.join(missing)} have no frequency: every option a shopper can "
                   "choose needs one.")
        modifiers[row.product_id] = {"modifier": modifier, "product": product}
    return modifiers


def _check_retry_wait(state) -> float:
    """Exponential from PRODUCT_IMPORT_CHECK_RETRY_SECONDS, at least what a rate limit asked for, at most 60 s."""
    first = float(getattr(settings, "PRODUCT_IMPORT_CHECK_RETRY_SECONDS", 2.0))
    asked = getattr(state.outcome.exception(), "retry_after", 0) or 0
    return min(max(first * 2 ** (state.attempt_number - 1), asked), 60.0)


def product_settings_import(store: Store, *, data: bytes, file_name: str = "", uploaded_by: str = "",
                            client: BigCommerceClient | None = None) -> ProductSettingsImport:
    """Validate every row; apply all of them or none. The result (applied or rejected, with every error by
    row, column and reason) is recorded and returned.

    The live check asks BigCommerce for the modifiers of every subscription product, 10 products a call (the
    limit with `include=modifiers`); past PRODUCT_IMPORT_INLINE_MAX_PRODUCTS of them that outlasts a web request
    (and the store's rate limit), so the file is kept and checked by a worker: the import is returned CHECKING
    and becomes applied or rejected there (product_settings_import_check)."""
    file_name = "".join(ch for ch in file_name if ch.isprintable())[:255]
    if import_too_large_for_a_request(data):
        return _import_queue(store, data=data, file_name=file_name, uploaded_by=uploaded_by,
                             row_count=data.count(b"\n"), warnings=[])
    errors: list[dict] = []
    warnings: list[str] = []
    rows, checkable = _read_file(data, errors, warnings)
    lookups = sum(1 for row in checkable if row.autoship)
    if lookups > int(getattr(settings, "PRODUCT_IMPORT_INLINE_MAX_PRODUCTS", IMPORT_INLINE_MAX_PRODUCTS)):
        return _import_queue(store, data=data, file_name=file_name, uploaded_by=uploaded_by, row_count=len(rows),
                             warnings=warnings)
    return _import_decide(store, rows, checkable, errors, warnings, client=client, record=None,
                          file_name=file_name, uploaded_by=uploaded_by)


def import_too_large_for_a_request(data: bytes) -> bool:
    """Reading and checking every row costs ~0.15 ms each (a 400,000-row file held a request for 62 s): past
    PRODUCT_IMPORT_INLINE_MAX_BYTES or PRODUCT_IMPORT_INLINE_MAX_ROWS lines the request only stores the file and
    a worker reads it (line breaks over-count rows whose cells hold line breaks: such a file merely goes to the
    worker a little early)."""
    return (len(data) > int(getattr(settings, "PRODUCT_IMPORT_INLINE_MAX_BYTES", 512 * 1024))
            or data.count(b"\n") > int(getattr(settings, "PRODUCT_IMPORT_INLINE_MAX_ROWS", 2000)))


def _import_queue(store: Store, *, data: bytes, file_name: str, uploaded_by: str, row_count: int,
                  warnings: list[str]) -> ProductSettingsImport:
    from feeds.products.tasks import product_settings_import_check as check_task

    with transaction.atomic():
        record = ProductSettingsImport.objects.create(
            store=store, status=ProductSettingsImport.Status.CHECKING, file_name=file_name[:255],
            uploaded_by=uploaded_by, row_count=row_count, warnings=warnings, upload=data)
        audit(store, "product_settings_import_queued", actor=uploaded_by, import_id=record.pk, rows=row_count)
        # A broker that refuses the message leaves the import CHECKING; the console shows it stalled after
        # selectors.IMPORT_STALE_AFTER and the merchant uploads again (nothing was applied).
        transaction.on_commit(lambda: _enqueue_check(check_task, record.pk))
    return record


def _enqueue_check(task, import_id: int) -> None:
    try:
        task.apply_async((import_id,), retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure: shown as stalled, nothing half-applied
        logger.warning("Could not enqueue the check of product import %s (%s)", import_id, exc.__class__.__name__)


def product_settings_import_check(import_id: int, *, client: BigCommerceClient | None = None
                                  ) -> ProductSettingsImport | None:
    """The worker's half of a large import: the same checks as in the request, then applied or rejected. A
    second delivery of the task finds it decided and does nothing; one that comes after IMPORT_START_DEADLINE
    rejects it instead of applying a file the merchant may have given up on (so that every check ends before the
    console calls the import stalled)."""
    record = ProductSettingsImport.objects.select_related("store").filter(
        pk=import_id, status=ProductSettingsImport.Status.CHECKING).first()
    if record is None:
        return None
    store = record.store
    if timezone.now() - record.created_at > IMPORT_START_DEADLINE or not store.is_installed:
        return product_settings_import_reject(
            record.pk, "The check did not start in time; nothing was applied — upload the file again."
            if store.is_installed else "The app is not installed on this store any more.")
    errors: list[dict] = []
    warnings: list[str] = []
    rows, checkable = _read_file(bytes(record.upload or b""), errors, warnings)
    return _import_decide(store, rows, checkable, errors, warnings, client=client, record=record)


def product_settings_import_reject(import_id: int, reason: str) -> ProductSettingsImport | None:
    """Decide a CHECKING import as rejected, nothing applied (None if it was decided already)."""
    record = ProductSettingsImport.objects.select_related("store").filter(pk=import_id).defer("upload").first()
    if record is None:
        return None
    with transaction.atomic():
        return _import_record(record.store, record, status=ProductSettingsImport.Status.REJECTED,
                              errors=[{"row": 1, "column": "", "reason": reason}], summary={"errors": 1})


def _import_decide(store: Store, rows: list[_Row], checkable: list[_Row], errors: list[dict], warnings: list[str],
                   *, client: BigCommerceClient | None, record: ProductSettingsImport | None,
                   file_name: str = "", uploaded_by: str = "") -> ProductSettingsImport | None:
    """Check against the live catalog, then record the import applied or rejected: a new row (`record` None,
    in the upload request) or the CHECKING row a worker decides (None when another delivery decided it first)."""
    catalog: dict[int, dict] = {}
    if checkable:
        try:
            catalog = _check_against_catalog(store, checkable, errors, client, patient=record is not None)
        except BigCommerceError as exc:
            _error(errors, 1, "", f"BigCommerce could not be asked for the products' modifiers ({exc.message or exc});"
                                  " nothing was applied — try again in a minute.")
    row_count = len({r.number for r in rows} | {e["row"] for e in errors if e["row"] > 1})
    if errors:
        errors.sort(key=lambda e: (e["row"], csvfile.COLUMNS.index(e["column"]) if e["column"] in csvfile.COLUMNS
                                   else -1))
        with transaction.atomic():
            return _import_record(store, record, status=ProductSettingsImport.Status.REJECTED,
                                  file_name=file_name[:255], uploaded_by=uploaded_by, row_count=row_count,
                                  errors=errors[:MAX_STORED_ERRORS], warnings=warnings,
                                  summary={"errors": len(errors)})
    with transaction.atomic():
        Store.objects.select_for_update().filter(pk=store.pk).first()  # imports and rollbacks take turns
        ids = [row.product_id for row in rows]
        current = {s.bc_product_id: s for s in ProductSubscriptionSetting.objects.filter(
            store=store, bc_product_id__in=ids)}
        previous = {str(pid): (current[pid].snapshot() if pid in current else None) for pid in ids}
        record = _import_record(store, record, status=ProductSettingsImport.Status.APPLIED,
                                file_name=file_name[:255], uploaded_by=uploaded_by, row_count=len(rows),
                                warnings=warnings, previous=previous)
        if record is None:
            return None
        applied: dict[str, dict] = {}
        new_rows = []
        for row in rows:
            live = catalog.get(row.product_id)
            modifier = live["modifier"] if live else None
            product = live["product"] if live else {}
            settings_row = ProductSubscriptionSetting(
                store=store, bc_product_id=row.product_id,
                sku=(product.get("sku") or row.sku)[:255], name=(product.get("name") or row.name)[:512],
                modifier_id=modifier["id"] if modifier else optional_int(row.modifier_id_cell, minimum=1,
                                                                         maximum=INT32_MAX),
                modifier_name=(modifier.get("name", "") if modifier else "")[:255],
                autoship_eligible=row.autoship, frequencies=[f.as_dict() for f in row.frequencies],
                source_import=record)
            if not modifier and current.get(row.product_id) is not None and not row.modifier_id_cell:
                settings_row.modifier_id = current[row.product_id].modifier_id
                settings_row.modifier_name = current[row.product_id].modifier_name
            new_rows.append(settings_row)
            applied[str(row.product_id)] = settings_row.snapshot()
        _settings_upsert(new_rows)
        record.applied = applied
        record.summary = _summary(previous, applied)
        record.save(update_fields=["applied", "summary"])
        audit(store, "product_settings_imported", actor=record.uploaded_by, import_id=record.pk, **record.summary)
        storefront_content_reconcile_soon(store.pk)  # the checkout script's tag lists the one-time options
    return record


def _import_record(store: Store, record: ProductSettingsImport | None, *, status: str, **fields
                   ) -> ProductSettingsImport | None:
    """Create the import row, or turn the CHECKING row into its decision (inside the caller's transaction,
    locked: of two deliveries of the check only the first decides; the other gets None). The file, whose
    rows are now in `applied` or whose faults are in `errors`, is dropped."""
    if record is None:
        return ProductSettingsImport.objects.create(store=store, status=status, decided_at=timezone.now(), **fields)
    locked = ProductSettingsImport.objects.select_for_update().filter(
        pk=record.pk, status=ProductSettingsImport.Status.CHECKING).defer("upload").first()
    if locked is None:
        return None
    locked.status, locked.upload, locked.decided_at = status, None, timezone.now()
    for name in ("row_count", "errors", "warnings", "summary", "previous"):
        if name in fields:
            setattr(locked, name, fields[name])
    locked.save()
    return locked


_UPSERT_FIELDS = ["sku", "name", "modifier_id", "modifier_name", "autoship_eligible", "frequencies",
                  "source_import", "updated_at"]


def _settings_upsert(rows: list[ProductSubscriptionSetting]) -> None:
    now = timezone.now()
    for row in rows:
        row.updated_at = now
    for start in range(0, len(rows), 1000):
        ProductSubscriptionSetting.objects.bulk_create(
            rows[start:start + 1000], update_conflicts=True, unique_fields=["store", "bc_product_id"],
            update_fields=_UPSERT_FIELDS)


def _summary(previous: dict, applied: dict) -> dict:
    added = sum(1 for pid in applied if previous.get(pid) is None)
    changed = sum(1 for pid in applied if previous.get(pid) is not None and previous[pid] != applied[pid])
    return {"added": added, "changed": changed, "unchanged": len(applied) - added - changed}


def product_settings_rollback(store: Store, import_id: int, *, actor: str = "") -> ProductSettingsImport:
    """Put back what the most recent applied import replaced (products it added lose their settings)."""
    with transaction.atomic():
        Store.objects.select_for_update().filter(pk=store.pk).first()
        record = ProductSettingsImport.objects.filter(store=store, pk=import_id).first()
        if record is None:
            raise ProductSettingsError("That import does not exist.")
        if record.status != ProductSettingsImport.Status.APPLIED:
            raise ProductSettingsError(f"Import #{record.pk} was {record.get_status_display().lower()}: there is "
                                       "nothing to roll back.")
        latest = ProductSettingsImport.objects.filter(
            store=store, status=ProductSettingsImport.Status.APPLIED).order_by(*APPLIED_ORDER).first()
        if latest.pk != record.pk:
            raise ProductSettingsError(f"Only the most recent applied import can be rolled back; import #{latest.pk} "
                                       f"was applied after #{record.pk}. Roll that one back first.")
        gone = [int(pid) for pid, snap in record.previous.items() if snap is None]
        ProductSubscriptionSetting.objects.filter(store=store, bc_product_id__in=gone).delete()
        earlier = ProductSettingsImport.objects.filter(
            store=store, status=ProductSettingsImport.Status.APPLIED).exclude(pk=record.pk).order_by(
            *APPLIED_ORDER).first()
        restored = [ProductSubscriptionSetting(store=store, source_import=earlier, **snap)
                    for snap in record.previous.values() if snap is not None]
        _settings_upsert(restored)
        record.status = ProductSettingsImport.Status.ROLLED_BACK
        record.rolled_back_at = timezone.now()
        record.rolled_back_by = actor
        record.save(update_fields=["status", "rolled_back_at", "rolled_back_by"])
        audit(store, "product_settings_rolled_back", actor=actor, import_id=record.pk,
              restored=len(restored), removed=len(gone))
        storefront_content_reconcile_soon(store.pk)
    return record
