"""Reads of the storefront endpoints: the store behind a customer token (cached per worker), the storefront
origins allowed by CORS, and a customer's subscriber status (cached, from Ordergroove's REST API)."""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError

from bigcommerce_app.models import Store
from ordergroove.client import OrdergrooveClient, Outcome
from ordergroove.models import OrdergrooveSettings
from ordergroove.store_settings.selectors import og_settings_get
from ordergroove.storefront import conf
from ordergroove.storefront.redis_link import storefront_redis

logger = logging.getLogger(__name__)

SUBSCRIBER_ACTIVE, SUBSCRIBER_INACTIVE, NON_SUBSCRIBER = 1, 0, -1

_lock = threading.Lock()
_stores: dict[str, tuple[float, StorefrontStore | None]] = {}
_origins: tuple[float, frozenset[str]] | None = None


@dataclass(frozen=True)
class StorefrontStore:
    store: Store
    og_settings: OrdergrooveSettings | None

    @functools.cached_property  # per cached store (a snapshot for a few seconds), not per request
    def configured(self) -> bool:
        return self.og_settings is not None and self.og_settings.is_configured

    @functools.cached_property  # per cached store, not per request
    def origins(self) -> frozenset[str]:
        return frozenset(self.store.storefront_origins or [])


def storefront_store_get(store_hash: str) -> StorefrontStore | None:
    """The installed store for a customer token, or None. Kept in this worker for a few seconds: the hash key
    never leaves process memory (no shared cache), and an uninstall takes effect within that time."""
    now = time.monotonic()
    with _lock:
        hit = _stores.get(store_hash)
    if hit and hit[0] > now:
        return hit[1]
    store = Store.objects.filter(store_hash=store_hash).first()
    value = None
    if store is not None and store.is_installed:
        value = StorefrontStore(store=store, og_settings=og_settings_get(store))
    with _lock:
        if len(_stores) > 10_000:
            _stores.clear()
        _stores[store_hash] = (now + conf.store_cache_seconds(), value)
    return value


def storefront_origins_all() -> frozenset[str]:
    """Origins of every installed store: a CORS preflight carries no token, so it cannot name its store."""
    global _origins
    now = time.monotonic()
    with _lock:
        cached = _origins
    if cached and cached[0] > now:
        return cached[1]
    origins: set[str] = set()
    for row in Store.objects.filter(status=Store.Status.INSTALLED).values_list("storefront_origins", flat=True):
        origins.update(row or [])
    value = frozenset(origins)
    with _lock:
        _origins = (now + conf.store_cache_seconds(), value)
    return value


def storefront_caches_clear() -> None:
    """Forget the per-worker lookups (tests; after settings change in the same process)."""
    global _origins
    with _lock:
        _stores.clear()
        _origins = None
    subscriber_status_copies_forget()


class SubscriberStatusUnavailable(Exception):
    """Ordergroove did not give a usable answer in time: the caller answers an error, never a guess."""


def subscriber_status_cache_key(store_hash: str, customer_id: int | str) -> str:
    return f"{conf.cache_namespace()}:subscriber_status:{store_hash}:{customer_id}"


def subscriber_status_get(sf: StorefrontStore, customer_id: int | str, *, budget: float | None = None) -> int:
    """DECISIONS §3.9: any live subscription → 1; an Ordergroove customer without one → 0; no such customer → -1.
    At most two Ordergroove calls sharing one timeout budget (the 5 s Ordergroove timeout)."""
    key = subscriber_status_cache_key(sf.store.store_hash, customer_id)
    cached = _cache_call(_status_read, key)
    if cached is not None:
        return cached
    deadline = time.monotonic() + (settings.ORDERGROOVE_TIMEOUT if budget is None else budget)
    live = OrdergrooveClient(sf.og_settings, timeout=_remaining(deadline)).live_subscriptions(customer_id)
    if live.outcome is not Outcome.SUCCESS:
        raise SubscriberStatusUnavailable(live.error or f"HTTP {live.status}")
    results = (live.data or {}).get("results") if isinstance(live.data, dict) else None
    if results is None:
        raise SubscriberStatusUnavailable("Ordergroove's subscription list has no results")
    if any(bool(s.get("live", True)) for s in results):
        status = SUBSCRIBER_ACTIVE
    else:
        found = OrdergrooveClient(sf.og_settings, timeout=_remaining(deadline)).customer(customer_id)
        if found.status == 404:
            status = NON_SUBSCRIBER
        elif found.outcome is Outcome.SUCCESS:
            status = SUBSCRIBER_INACTIVE
        else:
            raise SubscriberStatusUnavailable(found.error or f"HTTP {found.status}")
    _cache_call(subscriber_status_cache_set, key, status)
    return status


def _status_read(key: str) -> int | None:
    now = time.time()
    copy = _statuses.get(key)
    if copy is not None and copy[1] > now:
        return copy[0]
    link = storefront_redis()
    if link is None:
        cached = cache.get(key)
        return None if cached is None else int(cached)
    raw = link.call("GET", f"{link.prefix}:{key}")  # one round trip (redis_link.py says why not the cache API)
    try:
        status, expires = (int(part) for part in raw.split(b"|"))
    except (AttributeError, ValueError):  # no entry (None), or not one this code wrote
        return None
    _remember(key, status, expires, now)
    return status


def subscriber_status_cache_set(key: str, status: int, ttl: int | None = None) -> None:
    """Remember a status for `ttl` seconds (default: STOREFRONT_SUBSCRIBER_STATUS_TTL) where _status_read looks.
    In Redis the value carries its own expiry ("<status>|<expires, Unix s>") so that a process may keep a copy
    exactly as long as the shared entry lives (_statuses)."""
    ttl = conf.subscriber_status_ttl() if ttl is None else ttl
    link = storefront_redis()
    if link is None:
        cache.set(key, status, ttl)
        return
    now = time.time()
    expires = int(now) + ttl
    link.call("SET", f"{link.prefix}:{key}", f"{int(status)}|{expires}", "EX", ttl)
    _remember(key, int(status), expires, now)


# This process's copies of statuses read from (or written to) Redis: key -> (status, expires at, Unix s). A copy
# never outlives the Redis entry it came from (same expiry), and nothing removes an entry early, so a copy answers
# what Redis would: the round trip is paid once per worker and customer per STOREFRONT_SUBSCRIBER_STATUS_TTL.
_statuses: dict[str, tuple[int, float]] = {}


def subscriber_status_copies_forget() -> None:
    """Drop this process's copies (bench/storefront_instructions.py counts a Redis hit with it)."""
    _statuses.clear()


def _remember(key: str, status: int, expires: float, now: float) -> None:
    if expires <= now:
        return
    if len(_statuses) > 10_000:  # bounded: the copies of one TTL's worth of customers at most, then start over
        _statuses.clear()
    _statuses[key] = (status, expires)


def _cache_call(method, *args):
    """A cache read or write that survives the cache being down: the status is then asked of Ordergroove on each
    call (still bounded by the per-customer rate limit, which counts in process while Redis is down) instead of
    every call answering 500."""
    try:
        return method(*args)
    except (redis.RedisError, DatabaseError) as exc:
        logger.warning("Storefront subscriber-status cache unavailable (%s): asking Ordergroove uncached",
                       exc.__class__.__name__)
        return None


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0.05:
        raise SubscriberStatusUnavailable("Ordergroove did not answer in time")
    return left
