"""Tenancy: one Store per BigCommerce store_hash, its users, and the webhooks registered for it."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from middleware.plumbing.fields import EncryptedTextField
from middleware.plumbing.jobs import DurableJob


def new_webhook_token() -> str:
    return secrets.token_urlsafe(32)


class Store(models.Model):
    class Status(models.TextChoices):
        INSTALLED = "installed", "Installed"
        NEEDS_REAUTH = "needs_reauth", "Needs re-authorization"
        UNINSTALLED = "uninstalled", "Uninstalled"

    store_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INSTALLED)
    access_token = EncryptedTextField(blank=True, default="")
    scope = models.TextField(blank=True, default="")
    account_uuid = models.CharField(max_length=64, blank=True, default="")
    owner_id = models.BigIntegerField(null=True, blank=True)
    owner_email = models.EmailField(blank=True, default="")
    # Sent by BigCommerce as the X-Webhook-Token header on every hook we register (bigcommerce.md §3.6).
    webhook_token = EncryptedTextField(blank=True, default="")
    # Storefront origins allowed to call the storefront endpoints (CORS), refreshed on load.
    storefront_origins = models.JSONField(default=list, blank=True)
    installed_at = models.DateTimeField(null=True, blank=True)
    uninstalled_at = models.DateTimeField(null=True, blank=True)
    reauth_required_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store_hash"]

    def __str__(self) -> str:
        return f"store {self.store_hash}"

    @property
    def is_installed(self) -> bool:
        return self.status == self.Status.INSTALLED and bool(self.access_token)


class StoreUser(models.Model):
    """A control-panel user who may open the console: the installer, the owner, and anyone who opened it via
    `load` (multi-user apps). `removed_at` set by the remove-user callback revokes access."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="users")
    bc_user_id = models.BigIntegerField()
    email = models.EmailField(blank=True, default="")
    is_owner = models.BooleanField(default=False)
    locale = models.CharField(max_length=32, blank=True, default="")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_load_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "bc_user_id"], name="uniq_store_user")]

    def __str__(self) -> str:
        return f"user {self.bc_user_id} of {self.store.store_hash}"

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


class WebhookSubscription(models.Model):
    """What we believe BigCommerce holds for one hook scope of one store, refreshed on install/load."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="webhooks")
    scope = models.CharField(max_length=128)
    bc_hook_id = models.BigIntegerField(null=True, blank=True)
    destination = models.URLField(max_length=500)
    is_active = models.BooleanField(default=False)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "scope"], name="uniq_store_hook_scope")]
        ordering = ["scope"]

    def __str__(self) -> str:
        return f"{self.scope} hook of {self.store_id}"


class AuditEvent(models.Model):
    """Lifecycle trail kept after uninstall: who installed, loaded, removed, when tokens were purged."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="audit_events")
    kind = models.CharField(max_length=64)
    actor = models.CharField(max_length=255, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["store", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M}"


class Alert(models.Model):
    """Something the merchant or operator must look at (console banner, log event, e-mail if configured).
    Raised by any app through bigcommerce_app.services.alert_raise; one open alert per dedupe key."""

    class Severity(models.TextChoices):
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=64)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.ERROR)
    message = models.TextField()
    detail = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=255, blank=True, default="")
    occurrences = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # A merchant who has read the banner acknowledges it: it stays open (the condition is not fixed) but is no
    # longer shown. The same condition raised again keeps it acknowledged; a new one is a new alert.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["store", "resolved_at"])]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message[:60]}"


class InboundEvent(DurableJob):
    """One BigCommerce webhook delivery as received (the inbox, patterns-and-peers §2.1): stored before it is
    acknowledged, unique on the payload `hash` per store so that BigCommerce's duplicates are stored once, and
    processed by a worker through the scope's registered handler. A durable job (middleware.plumbing.jobs): a
    periodic sweeper re-enqueues rows left pending (broker down at intake, worker died). `attempts`,
    `next_attempt_at` (when a pending event is due: a deferred or retried one) and `lease_until` (a processing
    event's lease end: crash recovery) come from DurableJob."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    class Signature(models.TextChoices):
        ABSENT = "absent", "No Standard Webhooks headers"
        VALID = "valid", "Valid"
        VALID_STALE = "valid_stale", "Valid, timestamp outside 5 minutes"

    # No index of its own: the (store, hash) unique constraint and (store, -received_at) index lead with it.
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="inbound_events", db_index=False)
    scope = models.CharField(max_length=128)
    resource_id = models.CharField(max_length=64, blank=True, default="")
    event_hash = models.CharField(max_length=128)
    payload = models.JSONField()
    webhook_id = models.CharField(max_length=128, blank=True, default="")
    signature = models.CharField(max_length=16, choices=Signature.choices, default=Signature.ABSENT)
    event_created_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True, default="")

    job_task = "bigcommerce_app.inbound_event_process"
    job_pending, job_running = Status.PENDING, Status.PROCESSING
    job_done, job_failed = Status.DONE, Status.FAILED
    job_final = (Status.DONE, Status.SKIPPED, Status.FAILED)
    job_created_field = "received_at"
    job_finished_field = "processed_at"
    job_error_field = "result"  # the outcome's text, whatever the outcome
    # Backoff for transient failures (BigCommerce 5xx/429/timeouts while fetching the resource); then failed.
    job_retry_delays = (30, 120, 600, 1800, 3600, 3 * 3600)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["store", "event_hash"], name="uniq_inbound_event_hash")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["store", "-received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.scope} #{self.resource_id} ({self.status})"

    @classmethod
    def job_lease(cls) -> timedelta:
        # A live task never loses its claim: the hard time limit kills it before the lease ends.
        return timedelta(seconds=int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 180)) + 30)

    @classmethod
    def job_stale_after(cls) -> timedelta:
        # A pending event nobody picked up this long after receipt lost its message.
        return timedelta(seconds=getattr(settings, "INBOX_STALE_AFTER_SECONDS", 60))


class StorefrontScript(models.Model):
    """What we believe BigCommerce holds for one of our storefront scripts (Scripts API), one row per store and
    placement (`key`), refreshed by the storefront content reconcile (install, load, daily, settings change)."""

    class State(models.TextChoices):
        INSTALLED = "installed", "Installed"
        MISSING = "missing", "Missing"
        REMOVED = "removed", "Removed"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="storefront_scripts")
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    bc_uuid = models.CharField(max_length=64, blank=True, default="")
    visibility = models.CharField(max_length=32, blank=True, default="")
    location = models.CharField(max_length=16, blank=True, default="")
    # sha256 of the script tag as last written to BigCommerce: the console calls a script "outdated" when the tag
    # the service would write now differs (a new script version, a changed setting) and no reconcile ran yet.
    html_digest = models.CharField(max_length=64, blank=True, default="")
    state = models.CharField(max_length=16, choices=State.choices, default=State.MISSING)
    last_action = models.CharField(max_length=255, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "key"], name="uniq_store_storefront_script")]
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} script of {self.store_id}"


class StorefrontPage(models.Model):
    """One web page we created through the Pages API (the Subscription Manager page)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="storefront_pages")
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    bc_page_id = models.BigIntegerField(null=True, blank=True)
    url = models.CharField(max_length=255, blank=True, default="")
    state = models.CharField(max_length=16, choices=StorefrontScript.State.choices,
                             default=StorefrontScript.State.MISSING)
    last_action = models.CharField(max_length=255, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "key"], name="uniq_store_storefront_page")]
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} page of {self.store_id}"
