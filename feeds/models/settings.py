"""Feed settings of a store: SFTP drop-off and schedule."""

from __future__ import annotations

from django.db import models

from middleware.plumbing.fields import EncryptedTextField

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
    # Product webhooks seen and not yet covered by a run (null: nothing pending). The debounced run starts once
    # the catalog has been quiet for a while (last change), or a bounded time after the first change.
    catalog_changed_first_at = models.DateTimeField(null=True, blank=True)
    catalog_changed_at = models.DateTimeField(null=True, blank=True)
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
