"""Writes of the product CSV import (seed 002 "Product Feed Configuration"): the all-or-nothing import of
subscription settings (checked in the upload request, or by a worker for a large file) and rolling an import
back. Reading and checking the rows is feeds.products.import_rows."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bigcommerce_app.client import BigCommerceClient, BigCommerceError
from bigcommerce_app.models import Store
from bigcommerce_app.services import audit
from bigcommerce_app.tasks import storefront_content_reconcile_soon
from feeds.models import ProductSettingsImport, ProductSubscriptionSetting
from feeds.products import csvfile
from feeds.products.import_rows import ImportRow, row_error, rows_check_against_catalog, rows_read
from feeds.products.selectors import APPLIED_ORDER
from middleware.plumbing.inputs import INT32_MAX, optional_int

# Subscription products an upload request checks itself (≈ this / 10 BigCommerce calls); more: a worker does.
IMPORT_INLINE_MAX_PRODUCTS = 200
# A check that has not started this long after the upload is refused (the broker was down, the queue stuck), and
# one that started runs at most 31 minutes (its task's hard limit): a CHECKING import undecided after
# selectors.IMPORT_STALE_AFTER has lost its task for good, and the console says so.
IMPORT_START_DEADLINE = timedelta(minutes=10)
MAX_STORED_ERRORS = 2000


class ProductSettingsError(Exception):
    """A request the product CSV feature refuses, with a message for the merchant."""


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
    rows, checkable = rows_read(data, errors, warnings)
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
    with transaction.atomic():
        record = ProductSettingsImport.objects.create(
            store=store, status=ProductSettingsImport.Status.CHECKING, file_name=file_name[:255],
            uploaded_by=uploaded_by, row_count=row_count, warnings=warnings, upload=data,
            check_status=ProductSettingsImport.CheckStatus.PENDING)
        audit(store, "product_settings_import_queued", actor=uploaded_by, import_id=record.pk, rows=row_count)
        # A broker that refuses the message marks the check due: the sweep (product_import_checks_sweep) sends
        # it once the broker is back. One that never ran at all shows stalled after selectors.IMPORT_STALE_AFTER.
        ProductSettingsImport.enqueue_on_commit(record.pk)
    return record


def product_import_checks_sweep() -> int:
    """Send again the checks that lost their message (or were marked due when the broker refused it), whose
    retry is due, or whose worker died: ProductSettingsImport's durable-job sweep."""
    return ProductSettingsImport.sweep()


def product_settings_import_check(import_id: int, *, client: BigCommerceClient | None = None
                                  ) -> ProductSettingsImport | None:
    """The worker's half of a large import: the same checks as in the request, then applied or rejected. The
    check is claimed first (middleware.plumbing.jobs): a second delivery of the task finds it decided, or
    being checked by a live worker, and does nothing; one that comes after IMPORT_START_DEADLINE rejects it
    instead of applying a file the merchant may have given up on (so that every check ends before the console
    calls the import stalled). A check that raises is retried on ProductSettingsImport's schedule."""
    if not ProductSettingsImport.claim(import_id):
        return None
    record = ProductSettingsImport.objects.select_related("store").filter(
        pk=import_id, status=ProductSettingsImport.Status.CHECKING).first()
    if record is None:  # decided meanwhile (rejected when its check was given up)
        ProductSettingsImport.succeed(import_id)
        return None
    try:
        return _import_check_decide(record, client)
    except Exception:
        ProductSettingsImport.retry_or_fail(import_id, failures=record.attempts)
        raise


def _import_check_decide(record: ProductSettingsImport, client: BigCommerceClient | None
                         ) -> ProductSettingsImport | None:
    store = record.store
    if timezone.now() - record.created_at > IMPORT_START_DEADLINE or not store.is_installed:
        return product_settings_import_reject(
            record.pk, "The check did not start in time; nothing was applied — upload the file again."
            if store.is_installed else "The app is not installed on this store any more.")
    errors: list[dict] = []
    warnings: list[str] = []
    rows, checkable = rows_read(bytes(record.upload or b""), errors, warnings)
    return _import_decide(store, rows, checkable, errors, warnings, client=client, record=record)


def product_settings_import_reject(import_id: int, reason: str) -> ProductSettingsImport | None:
    """Decide a CHECKING import as rejected, nothing applied (None if it was decided already)."""
    record = ProductSettingsImport.objects.select_related("store").filter(pk=import_id).defer("upload").first()
    if record is None:
        return None
    with transaction.atomic():
        return _import_record(record.store, record, status=ProductSettingsImport.Status.REJECTED,
                              errors=[{"row": 1, "column": "", "reason": reason}], summary={"errors": 1})


def _import_decide(store: Store, rows: list[ImportRow], checkable: list[ImportRow], errors: list[dict],
                   warnings: list[str],
                   *, client: BigCommerceClient | None, record: ProductSettingsImport | None,
                   file_name: str = "", uploaded_by: str = "") -> ProductSettingsImport | None:
    """Check against the live catalog, then record the import applied or rejected: a new row (`record` None,
    in the upload request) or the CHECKING row a worker decides (None when another delivery decided it first)."""
    catalog: dict[int, dict] = {}
    if checkable:
        try:
            catalog = rows_check_against_catalog(store, checkable, errors, client, patient=record is not None)
        except BigCommerceError as exc:
            row_error(errors, 1, "", f"BigCommerce could not be asked for the products' modifiers "
                                     f"({exc.message or exc}); nothing was applied — try again in a minute.")
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
        new_rows = [_settings_row(store, record, row, catalog.get(row.product_id), current.get(row.product_id))
                    for row in rows]
        applied = {str(settings_row.bc_product_id): settings_row.snapshot() for settings_row in new_rows}
        _settings_upsert(new_rows)
        record.applied = applied
        record.summary = _summary(previous, applied)
        record.save(update_fields=["applied", "summary"])
        audit(store, "product_settings_imported", actor=record.uploaded_by, import_id=record.pk, **record.summary)
        storefront_content_reconcile_soon(store.pk)  # the checkout script's tag lists the one-time options
    return record


def _settings_row(store: Store, record: ProductSettingsImport, row: ImportRow, live: dict | None,
                  current: ProductSubscriptionSetting | None) -> ProductSubscriptionSetting:
    """The settings a row asks for, with the product's live SKU, name and subscription modifier (with no live
    modifier and no modifier id in the row, the product keeps the modifier it had)."""
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
    if not modifier and current is not None and not row.modifier_id_cell:
        settings_row.modifier_id = current.modifier_id
        settings_row.modifier_name = current.modifier_name
    return settings_row


def _import_record(store: Store, record: ProductSettingsImport | None, *, status: str, **fields
                   ) -> ProductSettingsImport | None:
    """Create the import row, or turn the CHECKING row into its decision (inside the caller's transaction,
    locked: of two deciders only the first decides; the other gets None), which also ends its check job. The
    file, whose rows are now in `applied` or whose faults are in `errors`, is dropped."""
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
    ProductSettingsImport.succeed(locked.pk)
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
