"""Ordergroove webhook events (seed 003 envelope), stored once per event `id` and store."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OrdergrooveEvent(models.Model):
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
    processed_at = models.DateTimeField(null=True, blank=True)
    processing_error = models.TextField(blank=True, default="")

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
            models.Index(fields=["processed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
