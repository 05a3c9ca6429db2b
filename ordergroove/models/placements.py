"""Recurring-order placements: one row per Ordergroove order (`orderOgId`) and store.

The row is the idempotency key of `POST /ordergroove/order-placement` (DECISIONS §3.10): it is claimed before
anything is created in BigCommerce, keeps the BigCommerce order id as soon as the order exists, and stores the
exact XML answer so that a repeated placement gets the first answer back byte for byte.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OrderPlacement(models.Model):
    class State(models.TextChoices):
        PROCESSING = "processing", "Processing"
        SUCCEEDED = "succeeded", "Placed"
        FAILED = "failed", "Failed"

    store = models.ForeignKey("bigcommerce_app.Store", on_delete=models.CASCADE, related_name="og_placements")
    og_order_id = models.CharField("Ordergroove order id (orderOgId)", max_length=64)
    og_order_public_id = models.CharField("orderPublicId", max_length=64, blank=True, default="")
    merchant_user_id = models.CharField("customerPartnerId", max_length=64, blank=True, default="")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PROCESSING)
    # Set as soon as BigCommerce created the order, before it is charged, so a crash never loses it.
    bc_order_id = models.BigIntegerField(null=True, blank=True)
    bc_order_status = models.CharField(max_length=32, blank=True, default="")
    # The answer given to Ordergroove: SUCCESS, or ERROR with an Ordergroove error code (ordergroove.md §8.4).
    answer_code = models.CharField(max_length=16, blank=True, default="")
    error_code = models.CharField(max_length=8, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    answer_xml = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=1)
    # A PROCESSING claim is honoured until then; afterwards another request may take the placement over.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    request_sha256 = models.CharField(max_length=64, blank=True, default="")
    currency = models.CharField(max_length=3, blank=True, default="")
    total = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    free_shipping = models.BooleanField(default=False)
    coupon_codes = models.JSONField(default=list, blank=True)
    # Summary of the order as placed (lines, amounts) and of earlier attempts; no card data.
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["store", "og_order_id"], name="uniq_og_placement_per_store"),
        ]
        indexes = [
            models.Index(fields=["store", "bc_order_id"]),
            models.Index(fields=["store", "merchant_user_id"]),
            models.Index(fields=["store", "og_order_public_id"]),
        ]

    def __str__(self) -> str:
        return f"placement of OG order {self.og_order_id} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state != self.State.PROCESSING
