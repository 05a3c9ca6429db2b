"""Reads of the settings console: the store's settings as the page and the JSON API show them (secrets only
as hints), composed from the two settings owners' read APIs."""

from __future__ import annotations

from bigcommerce_app.models import Store
from feeds import cron
from feeds.models import FeedSettings
from feeds.sftp import SftpConfigError, host_key_fingerprint_of_line
from feeds.store_settings.selectors import feed_settings_for
from feeds.store_settings.validation import FEED_FIELDS, FEED_SECRETS
from middleware.plumbing.fields import secret_hint
from ordergroove.models import OrdergrooveSettings
from ordergroove.store_settings.selectors import ENVIRONMENT_PRESETS, og_settings_for
from ordergroove.store_settings.validation import OG_FIELDS, OG_SECRETS


def settings_rows(store: Store) -> tuple[OrdergrooveSettings, FeedSettings]:
    """Both settings rows of the store, from their owners (created on install; by the owners' reads too for
    stores installed before)."""
    return og_settings_for(store), feed_settings_for(store)


def schedule_read(feed_settings: FeedSettings) -> dict:
    fields = {name: getattr(feed_settings, name) for name in cron.FIELDS}
    schedule = cron.Schedule(fields=fields, time_zone=feed_settings.time_zone)
    return {"scheduled": feed_settings.is_scheduled, "expression": feed_settings.cron_expression,
            "time_zone": feed_settings.time_zone, "description": schedule.description,
            "next_run": schedule.next_run, "next_run_words": schedule.next_run_words}


def _fields_read(row, fields: tuple[str, ...], secrets: tuple[str, ...]) -> dict:
    return {(f"{name}_hint" if name in secrets else name):
            (secret_hint(getattr(row, name)) if name in secrets else getattr(row, name)) for name in fields}


def settings_read(store: Store) -> dict:
    og_settings, feed_settings = settings_rows(store)
    data = {**_fields_read(og_settings, OG_FIELDS, OG_SECRETS),
            **_fields_read(feed_settings, FEED_FIELDS, FEED_SECRETS)}
    try:
        data["sftp_host_key_fingerprint"] = (host_key_fingerprint_of_line(feed_settings.sftp_host_key)
                                             if feed_settings.sftp_host_key else "")
    except SftpConfigError:
        data["sftp_host_key_fingerprint"] = ""
    data["schedule"] = schedule_read(feed_settings)
    data["environment_presets"] = ENVIRONMENT_PRESETS
    data["updated_at"] = max(og_settings.updated_at, feed_settings.updated_at)
    return data
