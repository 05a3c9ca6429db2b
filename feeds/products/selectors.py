"""Reads of the product CSV feature: export jobs and their file, import history and what an import changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone

from bigcommerce_app.models import Store
from feeds.models import ProductExportChunk, ProductExportJob, ProductSettingsImport, ProductSubscriptionSetting
from feeds.products import csvfile

# Excel opens a UTF-8 CSV correctly only with a byte-order mark; the importer strips it.
BOM = "\ufeff"


def exports_recent(store: Store, limit: int = 5) -> list[ProductExportJob]:
    return list(ProductExportJob.objects.filter(store=store).select_related("store")[:limit])


def export_get(store: Store, job_id: int) -> ProductExportJob | None:
    return ProductExportJob.objects.filter(store=store, pk=job_id).select_related("store").first()


def export_as_dict(job: ProductExportJob) -> dict:
    return {"id": job.pk, "status": job.status, "percent": job.percent, "products_done": job.products_done,
            "products_total": job.products_total, "subscription_products": job.subscription_products,
            "requests_made": job.requests_made, "rate_limit_waits": job.rate_limit_waits, "error": job.error,
            "requested_by": job.requested_by, "created_at": job.created_at, "started_at": job.started_at,
            "finished_at": job.finished_at, "file_name": job.file_name,
            "download_url": (f"/console/api/products/exports/{job.pk}/download"
                             if job.status == ProductExportJob.Status.SUCCEEDED else None)}


def export_csv_stream(job: ProductExportJob) -> Iterator[str]:
    """The CSV, page after page, straight from the database (never the whole file in memory)."""
    yield BOM + csvfile.header_text()
    chunks = ProductExportChunk.objects.filter(job=job).order_by("page").values_list("text", flat=True)
    yield from chunks.iterator(chunk_size=20)


def imports_recent(store: Store, limit: int = 10) -> list[ProductSettingsImport]:
    return list(ProductSettingsImport.objects.filter(store=store).defer("previous", "applied", "upload")[:limit])


def import_get(store: Store, import_id: int) -> ProductSettingsImport | None:
    return ProductSettingsImport.objects.filter(store=store, pk=import_id).defer("upload").first()


# Newest decision first: a large import checked by a worker is applied after imports uploaded later than it.
APPLIED_ORDER = ("-decided_at", "-pk")


def latest_applied_import_id(store: Store) -> int | None:
    return (ProductSettingsImport.objects.filter(store=store, status=ProductSettingsImport.Status.APPLIED)
            .order_by(*APPLIED_ORDER).values_list("pk", flat=True).first())


def import_changes(record: ProductSettingsImport, *, limit: int | None = 200) -> list[dict]:
    """Products the import added or changed, with the settings before and after (compare view)."""
    changes = []
    for pid, after in record.applied.items():
        before = record.previous.get(pid)
        if before == after:
            continue
        changes.append({"bc_product_id": int(pid), "change": "added" if before is None else "changed",
                        "before": before, "after": after})
        if limit is not None and len(changes) >= limit:
            break
    return changes


# services.IMPORT_START_DEADLINE (10 min) + the check task's hard limit (31 min), with a margin.
IMPORT_STALE_AFTER = timedelta(minutes=45)


def import_is_stalled(record: ProductSettingsImport, *, now=None) -> bool:
    """A CHECKING import no worker can decide any more: nothing was applied, the file has to be uploaded again."""
    return (record.status == ProductSettingsImport.Status.CHECKING
            and (now or timezone.now()) - record.created_at > IMPORT_STALE_AFTER)


def import_as_dict(record: ProductSettingsImport, *, with_changes: bool = False) -> dict:
    data = {"id": record.pk, "status": record.status, "stalled": import_is_stalled(record),
            "file_name": record.file_name,
            "uploaded_by": record.uploaded_by, "row_count": record.row_count, "errors": record.errors,
            "error_total": record.summary.get("errors", len(record.errors)), "warnings": record.warnings,
            "summary": record.summary, "created_at": record.created_at, "rolled_back_at": record.rolled_back_at}
    if with_changes:
        data["changes"] = import_changes(record)
    return data


def product_settings_list(store: Store, *, offset: int = 0, limit: int = 100) -> tuple[int, list[dict]]:
    rows = ProductSubscriptionSetting.objects.filter(store=store).order_by("bc_product_id")
    return rows.count(), [row.snapshot() for row in rows[offset:offset + limit]]
