"""Feed settings of a store (SFTP drop-off and schedule) and its product subscription settings."""

from __future__ import annotations

from django.db import models

from middleware.fields import EncryptedTextField

FEED_TIME_ZONE = "America/Chicago"  # US Central, seed 002's "CST" (DECISIONS §3.12)


class FeedSettings(models.Model):
    store = models.OneToOneField("bigcommerce_app.Store", on_delete=models.CASCADE, related_name="feed_settings")
    sftp_host = models.CharField(max_length=255, blank=True, default="staging.feeds.ordergroove.com")
    sftp_port = models.PositiveIntegerField(default=22)
    sftp_username = models.CharField(max_length=255, blank=True, default="")
    sftp_password = EncryptedTextField(blank=True, default="")
    sftp_private_key = EncryptedTextField(blank=True, default="")
    # Pinned host key, OpenSSH form "<type> <base64>" (RejectPolicy: unknown or different key refuses).
    sftp_host_key = models.TextField(blank=True, default="")
    # Cron fields as in seed 002; "*" everywhere means "not scheduled".
    cron_minute = models.CharField(max_length=64, default="*")
    cron_hour = models.CharField(max_length=64, default="*")
    cron_day_of_month = models.CharField(max_length=64, default="*")
    cron_month = models.CharField(max_length=64, default="*")
    cron_day_of_week = models.CharField(max_length=64, default="*")
    time_zone = models.CharField(max_length=64, default=FEED_TIME_ZONE)
    incremental_updates_enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"feed settings of {self.store_id}"

    @property
    def cron_expression(self) -> str:
        return " ".join([self.cron_minute, self.cron_hour, self.cron_day_of_month, self.cron_month,
                         self.cron_day_of_week])

    @property
    def is_scheduled(self) -> bool:
        return self.cron_expression.split() != ["*"] * 5


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
