"""Outbound Ordergroove calls ("outbox", patterns-and-peers §2.2): one Delivery per call we owe Ordergroove, one
DeliveryAttempt per try; the purchase-post record per order; the contact and payment values last sent per
customer (so unchanged values are not sent again)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from middleware.plumbing.fields import EncryptedTextField
from middleware.plumbing.jobs import DurableJob

# DECISIONS §3.13: 5xx/timeouts → 3 tries within 10 minutes (now, +1 min, +5 min), then one at +24 h, then failed.
RETRY_DELAYS = (60, 240, 24 * 3600)
DELIVERY_LEASE_SECONDS = 60  # > the 5 s Ordergroove timeout with margin; a dead worker's claim expires after it
STALE_PENDING_SECONDS = 60  # an enqueued delivery nobody picked up (message lost) is re-enqueued after this


class Delivery(DurableJob):
    """One call we owe Ordergroove: a durable job (middleware.plumbing.jobs) claimed before the call, its retry
    schedule in the row. `attempts`, `next_attempt_at` and `lease_until` (while SENDING: the claim's end; a
    worker that died mid-call leaves it to expire and the sweeper re-sends, which is safe: a repeated purchase
    post answers 409, which counts as delivered) come from DurableJob."""

    class Kind(models.TextChoices):
        PURCHASE_POST = "purchase_post", "Purchase post"
        PURCHASE_POST_STATUS = "purchase_post_status", "Purchase post status"
        CONTACT_DETAILS = "contact_details", "Set contact details"
        PAYMENT_DEFAULT = "payment_default", "Update payment default"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Succeeded"
        DUPLICATE = "duplicate", "Already received (409)"
        PARTIAL = "partial", "Partly succeeded (207)"
        FAILED = "failed", "Failed"
        SUPERSEDED = "superseded", "Superseded by a newer change"

    FINAL = (Status.SUCCEEDED, Status.DUPLICATE, Status.PARTIAL, Status.FAILED, Status.SUPERSEDED)

    store = models.ForeignKey("bigcommerce_app.Store", on_delete=models.CASCADE, related_name="og_deliveries")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # Idempotency key within (store, kind): the BigCommerce order id for purchase posts and their status.
    key = models.CharField(max_length=128)
    merchant_user_id = models.CharField(max_length=64, blank=True, default="")
    merchant_order_id = models.CharField(max_length=64, blank=True, default="")
    source_event = models.ForeignKey("bigcommerce_app.InboundEvent", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="og_deliveries")
    # The call's arguments (JSON). Encrypted at rest: it holds the stored-instrument token and card expiry.
    request = EncryptedTextField(blank=True, default="")
    notes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Attempts made before the last replay: the retry schedule starts over after a replay.
    retry_base = models.PositiveIntegerField(default=0)
    last_status_code = models.IntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["store", "kind", "key"], name="uniq_og_delivery_key")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["store", "-created_at"]),
            models.Index(fields=["store", "kind", "merchant_user_id"]),
        ]

    job_task = "ordergroove.delivery_send"
    job_pending, job_running = Status.PENDING, Status.SENDING
    job_done, job_failed = Status.SUCCEEDED, Status.FAILED
    job_final = FINAL
    job_finished_field = "completed_at"
    job_error_field = "last_error"

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @classmethod
    def job_lease(cls) -> timedelta:
        return timedelta(seconds=getattr(settings, "ORDERGROOVE_DELIVERY_LEASE_SECONDS", DELIVERY_LEASE_SECONDS))

    @classmethod
    def job_stale_after(cls) -> timedelta:
        return timedelta(seconds=getattr(settings, "ORDERGROOVE_STALE_PENDING_SECONDS", STALE_PENDING_SECONDS))

    @classmethod
    def job_retry_schedule(cls) -> tuple[float, ...]:
        return tuple(getattr(settings, "ORDERGROOVE_RETRY_DELAYS", RETRY_DELAYS))


class DeliveryAttempt(models.Model):
    """One try of a delivery: what was sent (secrets masked by the client), what came back, how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.IntegerField(null=True, blank=True)
    # client.Outcome value, or "lost" when the worker died before recording the answer.
    outcome = models.CharField(max_length=16, blank=True, default="")
    error = models.TextField(blank=True, default="")
    request_summary = models.JSONField(default=dict, blank=True)
    response_excerpt = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="uniq_og_delivery_attempt")]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class PurchasePost(models.Model):
    """The purchase post of one BigCommerce order: at most one per order, whatever the duplicates, retries or
    crashes (the unique constraint is the guarantee), and Ordergroove's asynchronous result once fetched."""

    class StatusState(models.TextChoices):
        NOT_SENT = "not_sent", "Not sent yet"
        WAITING = "waiting", "Waiting for Ordergroove"
        EARLIER = "earlier", "Received earlier (409); result id unknown"
        RECEIVED = "received", "Result received"
        NOT_FOUND = "not_found", "Unknown to Ordergroove"
        GAVE_UP = "gave_up", "No result after 24 h"

    class PaymentSource(models.TextChoices):
        """Where the posted `payment` came from (DECISIONS §3.6: the instrument the order was paid with)."""

        NONE = "", "No payment sent"
        ORDER_TRANSACTION = "order_transaction", "The order's transaction"
        DEFAULT_INSTRUMENT = "default_instrument", "The customer's default instrument"

    store = models.ForeignKey("bigcommerce_app.Store", on_delete=models.CASCADE, related_name="og_purchase_posts")
    bc_order_id = models.BigIntegerField()
    merchant_user_id = models.CharField(max_length=64)
    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, related_name="purchase_post")
    has_subscriptions = models.BooleanField(default=False)
    subscribed_products = models.JSONField(default=list, blank=True)
    payment_source = models.CharField(max_length=24, choices=PaymentSource.choices, blank=True, default="")
    subs_req_id = models.CharField(max_length=64, blank=True, default="")
    status_state = models.CharField(max_length=16, choices=StatusState.choices, default=StatusState.NOT_SENT)
    status_checked_at = models.DateTimeField(null=True, blank=True)
    result_customer = models.CharField(max_length=64, blank=True, default="")
    result_payment = models.CharField(max_length=64, blank=True, default="")
    result_shipping_address = models.CharField(max_length=64, blank=True, default="")
    result_subscriptions = models.JSONField(default=list, blank=True)
    result_errors = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["store", "bc_order_id"], name="uniq_og_purchase_post_order")]

    def __str__(self) -> str:
        return f"purchase post of order {self.bc_order_id}"


class CustomerSyncState(models.Model):
    """What Ordergroove last accepted for a customer: contact values and the default payment token."""

    store = models.ForeignKey("bigcommerce_app.Store", on_delete=models.CASCADE, related_name="og_customer_states")
    merchant_user_id = models.CharField(max_length=64)
    email = models.CharField(max_length=255, blank=True, default="")
    phone_number = models.CharField(max_length=64, blank=True, default="")
    contact_sent_at = models.DateTimeField(null=True, blank=True)
    # A fingerprint of the payment last sent (token + expiry), not the token itself.
    payment_fingerprint = models.CharField(max_length=64, blank=True, default="")
    payment_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "merchant_user_id"], name="uniq_og_customer_state")]

    def __str__(self) -> str:
        return f"customer {self.merchant_user_id} of {self.store_id}"
