"""Product subscription settings: what the imported CSV says about each product (seed 002)."""

from __future__ import annotations

from django.db import models


class ProductSubscriptionSetting(models.Model):
    """One product's subscription configuration from the imported CSV (seed 002, DECISIONS §3.8).

    `frequencies` holds the parsed Frequency cell: a list of
    {"name", "option_id", "every", "every_period", "is_default"} (option_id = modifier option value id).
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
