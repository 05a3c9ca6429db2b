"""Ordergroove webhook events (seed 003 envelope), stored once per event `id` and store."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from middleware.plumbing.jobs import DurableJob


class OrdergrooveEvent(DurableJob):
    """One Ordergroove webhook delivery, stored once, then acted on by a worker: a durable job
    (middleware.plumbing.jobs), so a lost message, a broker outage or a dead worker delays it but never loses
    it. `attempts`, `next_attempt_at` and `lease_until` come from DurableJob."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    store = models.ForeignKey("bigcommerce_app.Store", on_delete=models.CASCADE, related_name="og_events")
    event_id = models.CharField(max_length=128)
    event_type = models.CharField(max_length=64)
    # "order", "subscription", "subscriber", "item", … (the part of `type` before the dot).
    resource = models.CharField(max_length=32, blank=True, default="")
    # data.object.public_id: the Ordergroove order / subscription public id.
    public_id = models.CharField(max_length=64, blank=True, default="")
    # The Ordergroove order public id this event concerns (order events: public_id; item events: order).
    og_order_public_id = models.CharField(max_length=64, blank=True, default="")
    # merchant_user_id = BigCommerce customer id (DECISIONS §3.6).
    merchant_user_id = models.CharField(max_length=64, blank=True, default="")
    # order_merchant_id: the BigCommerce order id once Ordergroove knows it.
    bc_order_id = models.BigIntegerField(null=True, blank=True)
    status_display = models.CharField(max_length=64, blank=True, default="")
    message = models.TextField(blank=True, default="")
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # When the event was acted on (its alert raised or resolved); None until then, and for a failed one.
    processed_at = models.DateTimeField(null=True, blank=True)
    processing_error = models.TextField(blank=True, default="")

    job_task = "ordergroove.og_event_process"
    job_pending, job_running = Status.PENDING, Status.PROCESSING
    job_done, job_failed = Status.PROCESSED, Status.FAILED
    job_final = (Status.PROCESSED,)  # processed_at is set for these only
    job_created_field = "received_at"
    job_finished_field = "processed_at"
    job_error_field = "processing_error"
    job_stale_seconds = 60  # a pending event nobody picked up this long after receipt lost its message
    # Acting on an event is a write of our own (an alert): a failure is the database's, retried over hours.
    job_retry_delays = (60, 300, 1800, 3600, 6 * 3600)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["store", "event_id"], name="uniq_og_event_per_store"),
        ]
        indexes = [
            models.Index(fields=["store", "-received_at"]),
            models.Index(fields=["store", "merchant_user_id"]),
            models.Index(fields=["store", "og_order_public_id"]),
            models.Index(fields=["store", "bc_order_id"]),
            models.Index(fields=["status", "received_at"]),  # the sweep: pending or running events, oldest first
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"

    @classmethod
    def job_lease(cls) -> timedelta:
        # A live task never loses its claim: the hard time limit kills it before the lease ends.
        return timedelta(seconds=int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 180)) + 30)
