"""Ordergroove settings of a store. Deliveries, placements and events are added by their issues."""

from __future__ import annotations

from django.db import models

from middleware.plumbing.fields import EncryptedTextField

# Environment presets (DECISIONS §1, ordergroove.md §1, seed 002 "Push to Production").
ENVIRONMENT_PRESETS = {
    "staging": {
        "api_url": "https://staging.restapi.ordergroove.com",
        "legacy_api_url": "https://staging.v2.ordergroove.com",
        "subscription_api_url": "https://staging.sc.ordergroove.com/subscription/create",
        "static_domain": "https://staging.static.ordergroove.com",
        "sftp_host": "staging.feeds.ordergroove.com",
    },
    "production": {
        "api_url": "https://restapi.ordergroove.com",
        "legacy_api_url": "https://api.ordergroove.com",
        "subscription_api_url": "https://sc.ordergroove.com/subscription/create",
        "static_domain": "https://static.ordergroove.com",
        "sftp_host": "feeds.ordergroove.com",
    },
}


class OrdergrooveSettings(models.Model):
    class Environment(models.TextChoices):
        STAGING = "staging", "Staging"
        PRODUCTION = "production", "Production"

    class Owner(models.TextChoices):
        BIGCOMMERCE = "bigcommerce", "BigCommerce"
        ORDERGROOVE = "ordergroove", "Ordergroove"

    class PaymentSource(models.TextChoices):
        BIGCOMMERCE = "bigcommerce", "BigCommerce stored instruments"
        GATEWAY = "gateway", "Payment gateway Customers API"

    store = models.OneToOneField("bigcommerce_app.Store", on_delete=models.CASCADE, related_name="og_settings")
    merchant_id = models.CharField("Ordergroove merchant (public) ID", max_length=64, blank=True, default="")
    hash_key = EncryptedTextField(blank=True, default="")
    api_key = EncryptedTextField("Application API key", blank=True, default="")
    environment = models.CharField(max_length=16, choices=Environment.choices, default=Environment.STAGING)
    api_url = models.URLField(blank=True, default=ENVIRONMENT_PRESETS["staging"]["api_url"])
    legacy_api_url = models.URLField(blank=True, default=ENVIRONMENT_PRESETS["staging"]["legacy_api_url"])
    subscription_api_url = models.URLField(
        blank=True, default=ENVIRONMENT_PRESETS["staging"]["subscription_api_url"])
    static_domain = models.URLField(blank=True, default=ENVIRONMENT_PRESETS["staging"]["static_domain"])
    subscriptions_owned_by = models.CharField(max_length=16, choices=Owner.choices, default=Owner.BIGCOMMERCE)
    incentive_groups_enabled = models.BooleanField(default=False)
    global_offer_id = models.CharField(max_length=64, blank=True, default="")
    free_shipping_enabled = models.BooleanField(default=False)
    free_shipping_coupon = models.CharField(max_length=255, blank=True, default="")
    delete_coupons_after_use = models.BooleanField(default=False)
    webhook_verification_key = EncryptedTextField(blank=True, default="")
    # Seed 004: where the store's vaulted cards live when BigCommerce does not expose them.
    payment_data_source = models.CharField(
        max_length=16, choices=PaymentSource.choices, default=PaymentSource.BIGCOMMERCE)
    gateway_base_url = models.URLField(blank=True, default="")
    gateway_api_key = EncryptedTextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Ordergroove settings of {self.store.store_hash}"

    @property
    def is_configured(self) -> bool:
        """Enough to sign customer-scope requests and reach Ordergroove."""
        return bool(self.merchant_id and self.hash_key and self.api_url)
