"""Reads of the settings console: the store's settings as the page and the JSON API show them (secrets only
as hints)."""

from __future__ import annotations

from bigcommerce_app.models import Store
from feeds import cron
from feeds.models import FeedSettings
from feeds.sftp import SftpConfigError, host_key_fingerprint_of_line
from middleware.plumbing.fields import secret_hint
from ordergroove.console.serializers import FEED_FIELDS, FEED_SECRETS, OG_FIELDS, OG_SECRETS
from ordergroove.models import ENVIRONMENT_PRESETS, OrdergrooveSettings


def settings_rows(store: Store) -> tuple[OrdergrooveSettings, FeedSettings]:
    """Both settings rows of the store (created on install; created here too for stores installed before)."""
    og_settings, _ = OrdergrooveSettings.objects.get_or_create(store=store)
    feed_settings, _ = FeedSettings.objects.get_or_create(store=store)
    return og_settings, feed_settings


def schedule_read(feed_settings: FeedSettings) -> dict:
    fields = {name: getattr(feed_settings, name) for name in cron.FIELDS}
    schedule = cron.Schedule(fields=fields, time_zone=feed_settings.time_zone)
    return {"scheduled": feed_settings.is_scheduled, "expression": feed_settings.cron_expression,
            "time_zone": feed_settings.time_zone, "description": schedule.description,
            "next_run": schedule.next_run, "next_run_words": schedule.next_run_words}


def settings_read(store: Store) -> dict:
    og_settings, feed_settings = settings_rows(store)
    data: dict = {}
    for name in OG_FIELDS:
        if name in OG_SECRETS:
            data[f"{name}_hint"] = secret_hint(getattr(og_settings, name))
        else:
            data[name] = getattr(og_settings, name)
    for name in FEED_FIELDS:
        if name in FEED_SECRETS:
            data[f"{name}_hint"] = secret_hint(getattr(feed_settings, name))
        else:
            data[name] = getattr(feed_settings, name)
    try:
        data["sftp_host_key_fingerprint"] = (host_key_fingerprint_of_line(feed_settings.sftp_host_key)
                                             if feed_settings.sftp_host_key else "")
    except SftpConfigError:
        data["sftp_host_key_fingerprint"] = ""
    data["schedule"] = schedule_read(feed_settings)
    data["environment_presets"] = ENVIRONMENT_PRESETS
    data["updated_at"] = max(og_settings.updated_at, feed_settings.updated_at)
    return data
