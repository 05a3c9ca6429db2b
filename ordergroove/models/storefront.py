"""How the service delivers the storefront side of seed 002 for a store (issue 13, DECISIONS §4)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

# A store-relative web page URL as BigCommerce's Pages API takes it: "/words-and/slashes/".
PAGE_URL_VALIDATOR = RegexValidator(r"^/[A-Za-z0-9/_-]{1,200}$",
                                    "A path on the store starting with /, letters, digits, - _ and / only.")


class StorefrontSettings(models.Model):
    class Mode(models.TextChoices):
        SERVICE = "service", "Installed by the app (no theme edits)"
        THEME_MANAGED = "theme_managed", "Theme-managed (seed 002's manual theme edits; the app installs nothing)"
        OFF = "off", "Off (nothing on the storefront)"

    store = models.OneToOneField("bigcommerce_app.Store", on_delete=models.CASCADE,
                                 related_name="storefront_settings")
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.SERVICE)
    og_auth_enabled = models.BooleanField("og_auth cookie", default=True)
    payment_guard_enabled = models.BooleanField("Payment-method delete guard", default=True)
    subscription_page_enabled = models.BooleanField("Subscription Manager page", default=False)
    checkout_guards_enabled = models.BooleanField("Checkout guards", default=True)
    subscription_page_url = models.CharField(max_length=201, default="/account/manage-subscriptions/",
                                             validators=[PAGE_URL_VALIDATOR])
    subscription_page_title = models.CharField(max_length=100, default="Subscriptions")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"storefront settings of {self.store_id}"
