"""Writes of the product CSV export (seed 002 "Initiate Export"): the background walk of the catalog that writes
the CSV one page at a time, and the pruning of finished exports. The import of the CSV is feeds.products.imports."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from celery import signature
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bigcommerce_app.client import (
    BigCommerceClient,
    BigCommerceError,
    BigCommerceRateLimited,
    client_for_store,
)
from bigcommerce_app.models import Store
from bigcommerce_app.services import audit
from feeds.models import ProductExportChunk, ProductExportJob, ProductSubscriptionSetting
from feeds.products import csvfile

logger = logging.getLogger(__name__)

# A job that has not written progress for this long lost its worker: a new export may start.
EXPORT_STALE_AFTER = timedelta(minutes=10)
# One task run works this long, then re-enqueues itself (well inside CELERY_TASK_SOFT_TIME_LIMIT).
EXPORT_RUN_BUDGET_SECONDS = 60.0
EXPORT_MAX_CONSECUTIVE_FAILURES = 5
# The worker's slice of an export (feeds.products.tasks), sent by its registered name: the tasks module calls
# this one.
EXPORT_TASK = "feeds.product_export_run"

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
        transaction.on_commit(lambda: signature(EXPORT_TASK).delay(job.pk))
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
