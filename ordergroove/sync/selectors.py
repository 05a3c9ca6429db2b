"""Reads of the sync: a store's Ordergroove settings (read through their owner, ordergroove.store_settings), kept
per worker process for a few seconds.

Why: every order's purchase post needs them twice (prepare, send), and each load is an ORM SELECT plus the
Fernet decryption of the hash key and API key, ~11% of the worker's time per post (bench/webhooks.py).

Bound on staleness: a settings change saved in another process (the console runs in the web process) reaches a
worker within ORDERGROOVE_SETTINGS_CACHE_SECONDS (default 5 s); a save or delete in this process drops the entry
at once and again once its transaction commits. Only configured settings are kept, so a store that is not
configured yet is read again on every call and its first configuration is honoured immediately. The cached row
is shared between the worker's threads: callers must treat it as read-only.
"""

from __future__ import annotations

import os
import time

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ordergroove.models import OrdergrooveSettings
from ordergroove.store_settings.selectors import og_settings_get as og_settings_read

SETTINGS_CACHE_SECONDS = 5.0
SETTINGS_CACHE_MAX = 10_000  # distinct stores per process; past it the cache starts over

_settings: dict[int, tuple[float, OrdergrooveSettings]] = {}


def og_settings_get(store_id: int) -> OrdergrooveSettings | None:
    """The store's OrdergrooveSettings (decrypted), or None when the store has none."""
    now = time.monotonic()
    hit = _settings.get(store_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = og_settings_read(store_id)
    if row is not None and row.is_configured:
        if len(_settings) >= SETTINGS_CACHE_MAX:
            _settings.clear()
        ttl = getattr(settings, "ORDERGROOVE_SETTINGS_CACHE_SECONDS", None)
        if ttl is None:
            ttl = os.environ.get("ORDERGROOVE_SETTINGS_CACHE_SECONDS") or SETTINGS_CACHE_SECONDS
        _settings[store_id] = (now + float(ttl), row)
    else:
        _settings.pop(store_id, None)
    return row


def og_settings_forget(store_id: int | None = None) -> None:
    """Drop one store's entry (or all): after a change, and between tests."""
    if store_id is None:
        _settings.clear()
    else:
        _settings.pop(store_id, None)


@receiver([post_save, post_delete], sender=OrdergrooveSettings, dispatch_uid="og_sync_settings_forget")
def _og_settings_changed(sender, instance: OrdergrooveSettings, **kwargs) -> None:
    store_id = instance.store_id
    og_settings_forget(store_id)
    # Inside a transaction another thread could read the old row again before the commit: forget it then too.
    transaction.on_commit(lambda: og_settings_forget(store_id))
