"""Feed runs: one row per attempt to build and upload a store's product and categories feeds."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from middleware.plumbing.jobs import DurableJob

ACTIVE_STATUSES = ("queued", "running")


class FeedRun(DurableJob):
    """A run of the product + categories feeds. At most one queued/running run per store (database constraint),
    and at most one scheduled run per cron slot (so two beat processes cannot both start one).

    A durable job (middleware.plumbing.jobs): claimed with a lease that each heartbeat renews, swept again when
    its message was lost (still queued FEED_RUN_REQUEUE_SECONDS after the request, or marked due when the broker
    refused it) or its worker died (lease expired). `attempts`, `next_attempt_at` and `lease_until` come from
    DurableJob."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Run now"
        WEBHOOK = "webhook", "Catalog change"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Phase(models.TextChoices):
        WAITING = "waiting", "Waiting for a worker"
        CATALOG = "catalog", "Reading the catalog"
        CATEGORIES = "categories", "Reading category trees"
        UPLOAD = "upload", "Uploading"
        DONE = "done", "Done"

    store = models.ForeignKey("bigcommerce_app.Store", on_delete=models.CASCADE, related_name="feed_runs")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.WAITING)
    # The cron slot (UTC) a scheduled run serves; null for other triggers.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    requested_by = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Liveness of the worker running it: a running run whose heartbeat stopped is taken over or failed.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    catalog_total = models.PositiveIntegerField(null=True, blank=True)  # BigCommerce products (pagination total)
    catalog_read = models.PositiveIntegerField(default=0)  # BigCommerce products read so far
    products = models.PositiveIntegerField(default=0)  # <product> entries written (one per variant)
    categories = models.PositiveIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)  # products feed size
    categories_bytes = models.BigIntegerField(default=0)
    bytes_uploaded = models.BigIntegerField(default=0)
    # [{"name", "remote_path", "bytes"}] of the files that reached the server.
    files = models.JSONField(default=list, blank=True)
    host_key_fingerprint = models.CharField(max_length=100, blank=True, default="")
    warnings = models.JSONField(default=list, blank=True)  # e.g. products left out, and why (capped)
    error = models.TextField(blank=True, default="")

    job_task = "feeds.feed_run_execute"
    job_pending, job_running = Status.QUEUED, Status.RUNNING
    job_done, job_failed = Status.SUCCEEDED, Status.FAILED
    job_final = (Status.SUCCEEDED, Status.FAILED)
    job_finished_field = "finished_at"
    job_error_field = "error"
    job_error_max = 4000
    job_sweep_limit = 100

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["store", "-created_at"]), models.Index(fields=["store", "status"]),
                   models.Index(fields=["status", "-created_at"])]  # across stores: /metrics, every scrape
        constraints = [
            models.UniqueConstraint(fields=["store"], condition=Q(status__in=ACTIVE_STATUSES),
                                    name="feed_run_one_active_per_store"),
            models.UniqueConstraint(fields=["store", "scheduled_for"], condition=Q(trigger="schedule"),
                                    name="feed_run_one_per_cron_slot"),
        ]

    def __str__(self) -> str:
        return f"feed run {self.pk} of {self.store_id} ({self.status})"

    @classmethod
    def job_lease(cls) -> timedelta:
        # A running run whose worker has not reported (heartbeat) for this long is considered lost.
        return timedelta(seconds=getattr(settings, "FEED_RUN_HEARTBEAT_TIMEOUT_SECONDS", 10 * 60))

    @classmethod
    def job_stale_after(cls) -> timedelta:
        # A queued run still unclaimed this long after it was requested lost its message (broker restart, or the
        # worker that took it died or failed before claiming): the sweep sends it again. Claiming is one
        # conditional UPDATE, so a second message for a run that was only waiting behind others does nothing.
        return timedelta(seconds=getattr(settings, "FEED_RUN_REQUEUE_SECONDS", 120))

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return round((end - self.started_at).total_seconds(), 1)

    @property
    def progress_percent(self) -> int | None:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.catalog_total:
            return None
        share = min(self.catalog_read / self.catalog_total, 1.0)
        # Reading the catalog is most of the work; the upload is the last tenth.
        percent = share * 90 + (10 if self.phase == self.Phase.DONE else 0)
        if self.phase == self.Phase.UPLOAD and self.bytes:
            percent = 90 + 10 * min(self.bytes_uploaded / (self.bytes + self.categories_bytes or 1), 1.0)
        return int(percent)
