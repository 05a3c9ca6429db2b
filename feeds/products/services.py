"""Writes of the product CSV export (seed 002 "Initiate Export"): the background walk of the catalog that writes
the CSV one page at a time, and the pruning of finished exports. The import of the CSV is feeds.products.imports."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, PositiveIntegerField, Q, TextField, Value, When
from django.db.models.functions import Coalesce
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
from middleware.plumbing import jobs

logger = logging.getLogger(__name__)

# One slice (task run) works this long, then the export continues in a new one (well inside
# CELERY_TASK_SOFT_TIME_LIMIT).
EXPORT_RUN_BUDGET_SECONDS = 60.0
# Failures in a row (BigCommerce errors, workers lost) after which the export fails.
EXPORT_MAX_CONSECUTIVE_FAILURES = 5
# The longest wait before the next slice that rides a countdown message; a longer one (a long rate-limit reset)
# waits in the row for the every-minute sweep, so nothing long sits in the broker or sleeps in a worker.
EXPORT_DIRECT_WAIT_SECONDS = 30.0
EXPORT_WORKER_LOST = "The worker running this export stopped reporting progress; another one took it over."

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
    """Queue an export; while one is queued or running for the store, that one is returned instead of a second
    (a lost message or a dead worker delays it: the sweep hands it on)."""
    with transaction.atomic():
        Store.objects.select_for_update().filter(pk=store.pk).first()  # one start at a time per store
        active = ProductExportJob.objects.filter(store=store, status__in=ProductExportJob.ACTIVE).first()
        if active is not None:
            return active
        job = ProductExportJob.objects.create(store=store, requested_by=requested_by)
        audit(store, "product_export_started", actor=requested_by, job_id=job.pk)
        # A broker that refuses the message marks the export due: the sweep (product_exports_sweep) sends it.
        ProductExportJob.enqueue_on_commit(job.pk)
    return job


def product_exports_sweep(*, now: datetime | None = None) -> int:
    """Send the exports whose message was lost or refused by the broker, whose next slice is due (a long
    rate-limit wait ended, or its countdown message was lost), or whose worker died (lease expired)."""
    return ProductExportJob.sweep(now=now)


@dataclass
class ExportProgress:
    done: bool
    resume_in: float | None = None  # seconds until the task should run again; None when finished


def product_export_continue(job_id: int, progress: ExportProgress) -> bool:
    """After an unfinished slice: a short wait rides a countdown message; a long one stays in the row (its
    next_attempt_at) for the sweep, as does the continuation the broker refused (DECISIONS §3.13: a long wait is
    rescheduled, not slept, and never held in the broker). True when a message was sent."""
    wait = max(progress.resume_in or 0, 0)
    if progress.done or wait > EXPORT_DIRECT_WAIT_SECONDS:
        return False
    try:
        jobs.task_named(ProductExportJob.job_task).apply_async((job_id,), countdown=wait, retry=False)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure; the row says the slice is due
        logger.warning("Could not enqueue export %s (%s): the sweeper will", job_id, exc.__class__.__name__)
        return False


def product_export_run(job_id: int, *, budget_seconds: float = EXPORT_RUN_BUDGET_SECONDS,
                       client: BigCommerceClient | None = None) -> ExportProgress:
    """One slice of an export: claim it (middleware.plumbing.jobs: queued, between slices, or left by a dead
    worker), then walk the catalog from the job's next page, one page (≤ 250 products, 10 with modifiers) at a
    time, writing each page's rows (and renewing the lease) before asking for the next. Stops after
    `budget_seconds` or when BigCommerce asks for a longer wait than a worker should sleep, recording when the
    next slice is due (product_export_continue sends it). Done (nothing to continue) when not claimed."""
    now = timezone.now()
    if not ProductExportJob.claim(job_id, now=now, **_export_claim_fields(now)):
        return ExportProgress(done=True)  # finished, or another worker holds it
    job = ProductExportJob.objects.select_related("store").get(pk=job_id)
    if not job.store.is_installed:
        _export_fail(job, "The app is not installed on this store any more.")
        return ExportProgress(done=True)
    if job.consecutive_failures >= EXPORT_MAX_CONSECUTIVE_FAILURES:
        _export_fail(job, f"The export stopped making progress: {job.consecutive_failures} failures in a row, "
                          f"the last: {job.error}")
        return ExportProgress(done=True)
    client = client or client_for_store(job.store)
    try:
        return _export_walk(job, client, budget_seconds)
    except _ExportLost:
        return ExportProgress(done=True)


def _export_claim_fields(now: datetime) -> dict:
    """What a claim writes besides the lease: the start time once, a sign of life, and a takeover from a dead
    worker (running, lease expired; read before the UPDATE sets them) counted as a failure in a row."""
    lost = Q(status=ProductExportJob.Status.RUNNING, lease_until__lt=now)
    return {"started_at": Coalesce(F("started_at"), Value(now)), "heartbeat_at": now, "next_attempt_at": None,
            "consecutive_failures": Case(When(lost, then=F("consecutive_failures") + 1),
                                         default=F("consecutive_failures"), output_field=PositiveIntegerField()),
            "error": Case(When(lost, then=Value(EXPORT_WORKER_LOST)), default=F("error"), output_field=TextField())}


class _ExportLost(Exception):
    """The export stopped running while this worker wrote a page (failed, or deleted): the page rolls back."""


def _export_walk(job: ProductExportJob, client: BigCommerceClient, budget_seconds: float) -> ExportProgress:
    started = time.monotonic()
    while True:
        if time.monotonic() - started > budget_seconds:
            return _export_pause(job, 0)
        requests_before, waits_before = client.requests_made, client.rate_limit_waits
        try:
            body = client.products_page(job.next_page, include="modifiers")
        except BigCommerceRateLimited as exc:
            _export_account(job, client, requests_before, waits_before, extra_waits=1)
            return _export_pause(job, exc.retry_after)
        except BigCommerceError as exc:
            _export_account(job, client, requests_before, waits_before)
            if exc.transient and job.consecutive_failures + 1 < EXPORT_MAX_CONSECUTIVE_FAILURES:
                job.consecutive_failures += 1
                job.error = f"Retrying after: {exc}"
                return _export_pause(job, min(2 ** job.consecutive_failures, 60), "consecutive_failures", "error")
            _export_fail(job, f"BigCommerce refused the catalog page {job.next_page}: {exc.message or exc}")
            return ExportProgress(done=True)
        _export_account(job, client, requests_before, waits_before)
        _export_page_write(job, body)  # writes the counters above with the page, once per page
        pagination = (body.get("meta") or {}).get("pagination") or {}
        total_pages = int(pagination.get("total_pages") or 1)
        if not body.get("data") or job.next_page > total_pages:
            ProductExportJob.succeed(job.pk, products_total=job.products_done, error="", heartbeat_at=timezone.now())
            audit(job.store, "product_export_succeeded", job_id=job.pk, products=job.products_done)
            return ExportProgress(done=True)


def _export_page_write(job: ProductExportJob, body: dict) -> None:
    products = body.get("data") or []
    pagination = (body.get("meta") or {}).get("pagination") or {}
    ids = [int(p["id"]) for p in products]
    existing = {row["bc_product_id"]: row for row in ProductSubscriptionSetting.objects.filter(
        store_id=job.store_id, bc_product_id__in=ids).values("bc_product_id", "modifier_id", "autoship_eligible",
                                                            "frequencies")}
    rows = [csvfile.export_row(product, existing.get(int(product["id"]))) for product in products]
    with transaction.atomic():
        ProductExportChunk.objects.update_or_create(
            job=job, page=job.next_page,
            defaults={"rows": len(rows), "text": csvfile.rows_to_text(rows)})
        per_page = int(pagination.get("per_page") or len(products) or 1)
        job.products_done = (job.next_page - 1) * per_page + len(products)
        # The chunk and the counters commit together, so a page retried after a crash is counted once.
        job.subscription_products += sum(1 for row in rows if row[3])
        if pagination.get("total") is not None:
            job.products_total = int(pagination["total"])
        job.total_pages = int(pagination.get("total_pages") or 1)
        job.next_page += 1
        job.consecutive_failures = 0
        now = timezone.now()
        # Each page renews the lease: a live worker never loses its export, however long the walk.
        if not ProductExportJob.extend_lease(job.pk, now=now, heartbeat_at=now, **_export_fields(
                job, *PAGE_FIELDS)):
            raise _ExportLost


PAGE_FIELDS = ("products_done", "subscription_products", "products_total", "total_pages", "next_page",
               "consecutive_failures", "requests_made", "rate_limit_waits")


def _export_fields(job: ProductExportJob, *names: str) -> dict:
    return {name: getattr(job, name) for name in names}


def _export_account(job: ProductExportJob, client: BigCommerceClient, requests_before: int, waits_before: int,
                    *, extra_waits: int = 0) -> None:
    """Count the slice's requests and rate-limit waits on the job; written with the page or the pause."""
    job.requests_made += client.requests_made - requests_before
    job.rate_limit_waits += client.rate_limit_waits - waits_before + extra_waits


def _export_pause(job: ProductExportJob, resume_in: float, *names: str) -> ExportProgress:
    """End the slice unfinished: a short wait is due at once (its countdown message carries the wait), a long
    one is due after it (the sweep sends it then)."""
    now = timezone.now()
    due_at = now + timedelta(seconds=resume_in if resume_in > EXPORT_DIRECT_WAIT_SECONDS else 0)
    ProductExportJob.pause(job.pk, due_at=due_at, heartbeat_at=now,
                           **_export_fields(job, "requests_made", "rate_limit_waits", *names))
    return ExportProgress(done=False, resume_in=resume_in)


def _export_fail(job: ProductExportJob, message: str) -> None:
    ProductExportJob.fail(job.pk, message, heartbeat_at=timezone.now(),
                          **_export_fields(job, "requests_made", "rate_limit_waits"))
    audit(job.store, "product_export_failed", job_id=job.pk, error=message)
