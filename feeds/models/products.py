"""Product subscription settings: what the imported CSV says about each product (seed 002), the imports that
produced them (kept for compare and rollback) and the background CSV exports of the catalog."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from middleware.plumbing.jobs import DurableJob

# The worker's check of a large import: its hard time limit (feeds.products.tasks), and so the check's lease.
IMPORT_CHECK_TIME_LIMIT = 1860

# every_period codes (seed 002 "Frequency Options Table"; ordergroove.md §7: 1 days, 2 weeks, 3 months).
EVERY_PERIOD_NAMES = {1: "days", 2: "weeks", 3: "months"}


class ProductSubscriptionSetting(models.Model):
    """One product's subscription configuration from the imported CSV (seed 002, DECISIONS §3.8).

    `frequencies` holds the parsed Frequency cell: a list of
    {"name", "option_id", "every", "every_period", "is_default"} (option_id = modifier option value id,
    every/every_period ints, is_default a bool). every = every_period = 0 is the one-time purchase option.
    """

    store = models.ForeignKey("bigcommerce_app.Store", on_delete=models.CASCADE, related_name="product_settings")
    bc_product_id = models.BigIntegerField()
    sku = models.CharField(max_length=255, blank=True, default="")
    name = models.CharField(max_length=512, blank=True, default="")
    modifier_id = models.BigIntegerField(null=True, blank=True)
    modifier_name = models.CharField(max_length=255, blank=True, default="")
    autoship_eligible = models.BooleanField(default=False)
    frequencies = models.JSONField(default=list, blank=True)
    # Feed `discontinued=1` cancels every subscription of the product: only with an explicit opt-in.
    discontinued = models.BooleanField(default=False)
    # The import that last wrote this row (None: written before imports were recorded, or by code).
    source_import = models.ForeignKey("feeds.ProductSettingsImport", null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "bc_product_id"], name="uniq_product_setting"),
        ]

    def __str__(self) -> str:
        return f"product {self.bc_product_id} of {self.store_id}"

    def frequency_for_option(self, option_value_id: int) -> dict | None:
        for freq in self.frequencies:
            if int(freq.get("option_id", -1)) == int(option_value_id):
                return freq
        return None

    @property
    def default_frequency(self) -> dict | None:
        return next((f for f in self.frequencies if f.get("is_default")), None)

    def snapshot(self) -> dict:
        """The row as plain data: what an import keeps to compare and roll back."""
        return {"bc_product_id": self.bc_product_id, "sku": self.sku, "name": self.name,
                "modifier_id": self.modifier_id, "modifier_name": self.modifier_name,
                "autoship_eligible": self.autoship_eligible, "frequencies": self.frequencies}


class ProductSettingsImport(DurableJob):
    """One uploaded CSV. An applied import keeps, for every product it touched, the settings before
    (`previous`, None = the product had none) and after (`applied`): enough to show what changed and to
    roll it back. A rejected import keeps its errors and changed nothing. A file with more subscription products
    than the upload request can check against the live catalog is CHECKING (its bytes in `upload`) until a worker
    has checked and applied or rejected it.

    That worker's check is a durable job (middleware.plumbing.jobs) with its own status, `check_status`: the
    import's `status` stays what the merchant sees. A lost message, a broker outage or a dead worker delays the
    check, the sweep hands it on. `attempts`, `next_attempt_at` and `lease_until` come from DurableJob."""

    class Status(models.TextChoices):
        CHECKING = "checking", "Checking"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"
        ROLLED_BACK = "rolled_back", "Rolled back"

    class CheckStatus(models.TextChoices):
        NONE = "", "No check"  # decided in the upload request
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Being checked"
        DONE = "done", "Decided"
        FAILED = "failed", "Failed"

    store = models.ForeignKey("bigcommerce_app.Store", on_delete=models.CASCADE, related_name="product_imports")
    status = models.CharField(max_length=16, choices=Status.choices)
    file_name = models.CharField(max_length=255, blank=True, default="")
    uploaded_by = models.CharField(max_length=255, blank=True, default="")
    row_count = models.PositiveIntegerField(default=0)
    # [{"row", "column", "reason"}] (row = line number in the file, header = 1).
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    # {"<bc_product_id>": snapshot or None}
    previous = models.JSONField(default=dict, blank=True)
    applied = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)  # {"added", "changed", "unchanged"}
    upload = models.BinaryField(null=True, blank=True, editable=False)  # the file, while CHECKING only
    created_at = models.DateTimeField(default=timezone.now)
    # When it was applied or rejected: "the most recent applied import" (rollback) is by this, because a large
    # file checked by a worker is applied after imports uploaded later than it.
    decided_at = models.DateTimeField(null=True, blank=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rolled_back_by = models.CharField(max_length=255, blank=True, default="")
    check_status = models.CharField(max_length=16, choices=CheckStatus.choices, blank=True, default="")

    job_task = "feeds.product_settings_import_check"
    job_status_field = "check_status"
    job_pending, job_running = CheckStatus.PENDING, CheckStatus.RUNNING
    job_done, job_failed = CheckStatus.DONE, CheckStatus.FAILED
    job_final = (CheckStatus.DONE, CheckStatus.FAILED)
    job_stale_seconds = 120  # a check nobody picked up this long after the upload lost its message
    job_retry_delays = (60, 300)  # a check that raised (not a catalog error: those reject the file)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["store", "status", "-created_at"]),
                   models.Index(fields=["check_status", "created_at"])]  # the sweep

    def __str__(self) -> str:
        return f"import {self.pk} of {self.store_id} ({self.status})"

    @classmethod
    def job_lease(cls) -> timedelta:
        # The check task's hard time limit and a margin: a live check never loses its claim.
        return timedelta(seconds=IMPORT_CHECK_TIME_LIMIT + 60)


class ProductExportJob(DurableJob):
    """A background walk of the BigCommerce catalog that writes the product CSV (seed 002 "Initiate Export").

    The CSV is kept as one chunk per catalog page (`ProductExportChunk`), so the job never holds the catalog
    in memory, can resume after a worker restart or a long rate-limit wait, and any web process can stream
    the download.

    A durable job (middleware.plumbing.jobs) worked in slices: a worker claims it with a lease that each page
    renews (`heartbeat_at` says when, as before), and a worker that died leaves the lease to expire, after which
    the sweep hands the export on. Between slices the export stays RUNNING for the console but no worker holds
    it (`lease_until` empty) and `next_attempt_at` says when it continues: at once after a slice's time budget
    or a short wait (a countdown message carries the wait), later for a long rate-limit wait (only the sweep
    sends it then). `attempts` counts slices; `consecutive_failures` counts failures in a row, a worker lost
    included."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    store = models.ForeignKey("bigcommerce_app.Store", on_delete=models.CASCADE, related_name="product_exports")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.CharField(max_length=255, blank=True, default="")
    next_page = models.PositiveIntegerField(default=1)
    total_pages = models.PositiveIntegerField(null=True, blank=True)
    products_done = models.PositiveIntegerField(default=0)
    products_total = models.PositiveIntegerField(null=True, blank=True)
    subscription_products = models.PositiveIntegerField(default=0)
    requests_made = models.PositiveIntegerField(default=0)
    rate_limit_waits = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # the worker's last progress report

    job_task = "feeds.product_export_run"
    job_pending, job_running = Status.QUEUED, Status.RUNNING
    job_done, job_failed = Status.SUCCEEDED, Status.FAILED
    job_final = (Status.SUCCEEDED, Status.FAILED)
    job_finished_field = "finished_at"
    job_error_field = "error"
    job_error_max = 4000
    # A worker that has not reported a page for this long is lost (a page, rate-limit waits included, takes
    # seconds); its export is handed on.
    job_lease_seconds = 10 * 60
    job_stale_seconds = 120  # a queued export nobody picked up this long after the request lost its message

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"])]  # the sweep

    def __str__(self) -> str:
        return f"export {self.pk} of {self.store_id} ({self.status})"

    @classmethod
    def between_slices(cls, now: datetime) -> Q:
        """Running for the console, held by no worker, and due: the next slice may start."""
        return (Q(status=cls.Status.RUNNING, lease_until__isnull=True)
                & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)))

    @classmethod
    def claimable(cls, now: datetime) -> Q:
        return super().claimable(now) | cls.between_slices(now)

    @classmethod
    def sweepable(cls, now: datetime, stale_after: timedelta | None = None) -> Q:
        return super().sweepable(now, stale_after) | cls.between_slices(now)

    @classmethod
    def pause(cls, pk: int, *, due_at: datetime, **fields: Any) -> int:
        """End a slice with the export unfinished: the lease released, the next slice due at `due_at`."""
        return cls.objects.filter(pk=pk, status=cls.Status.RUNNING).update(
            lease_until=None, next_attempt_at=due_at, **fields)

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.products_total:
            return 0
        return min(99, int(self.products_done * 100 / self.products_total))

    @property
    def file_name(self) -> str:
        return f"products-{self.store.store_hash}-{self.created_at:%Y%m%d-%H%M%S}.csv"


class ProductExportChunk(models.Model):
    """The CSV rows (no header) of one catalog page of an export; rewriting a page is idempotent."""

    job = models.ForeignKey(ProductExportJob, on_delete=models.CASCADE, related_name="chunks")
    page = models.PositiveIntegerField()
    rows = models.PositiveIntegerField(default=0)
    text = models.TextField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "page"], name="uniq_export_chunk")]
        ordering = ["page"]

    def __str__(self) -> str:
        return f"page {self.page} of export {self.job_id}"
