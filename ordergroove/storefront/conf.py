"""Tunables of the storefront endpoints. Each reads a Django setting of the same name, else the environment
variable of that name, else the default, so operators can tune them without code changes."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.signals import setting_changed

# Read once per process: looking up an unset Django setting raises and catches AttributeError inside Django, and
# the storefront hot path reads several tunables per request. Overriding a setting (tests) empties the memo.
_memo: dict[str, str] = {}


def _value(name: str, default: str) -> str:
    try:
        return _memo[name]
    except KeyError:
        pass
    value = getattr(settings, name, None)
    if value in (None, ""):
        value = os.environ.get(name) or default
    _memo[name] = str(value)
    return _memo[name]


def _forget(**_kwargs) -> None:
    _memo.clear()
    _numbers.clear()


_numbers: dict[str, float] = {}


def _number(name: str, default: str, kind: type) -> float:
    """_value converted once (int or float), for the tunables read on every storefront request."""
    try:
        return _numbers[name]
    except KeyError:
        pass
    _numbers[name] = kind(_value(name, default))
    return _numbers[name]


setting_changed.connect(_forget, dispatch_uid="ordergroove.storefront.conf")


def rate_per_customer() -> str:
    """Requests per customer per window, e.g. "60/m" (s, m, h)."""
    return _value("STOREFRONT_RATE_PER_CUSTOMER", "60/m")


def rate_per_ip() -> str:
    return _value("STOREFRONT_RATE_PER_IP", "600/m")


def subscriber_status_ttl() -> int:
    """Seconds a customer's subscriber status is cached (DECISIONS §3.9 "cache briefly")."""
    return int(_value("STOREFRONT_SUBSCRIBER_STATUS_TTL", "120"))


def store_cache_seconds() -> float:
    """Seconds a worker reuses a store + Ordergroove settings lookup (keeps the hot path free of queries)."""
    return float(_value("STOREFRONT_STORE_CACHE_SECONDS", "10"))


def trusted_proxies() -> int:
    """How many reverse proxies append to X-Forwarded-For in front of the service (0 = use REMOTE_ADDR)."""
    return int(_number("STOREFRONT_TRUSTED_PROXIES", "0", int))


def cache_namespace() -> str:
    return _value("STOREFRONT_CACHE_NAMESPACE", "sf")


JWT_LEEWAY_SECONDS = 60
JWT_MAX_LIFETIME_SECONDS = 15 * 60  # BigCommerce issues 15-minute customer tokens (bigcommerce.md §2)


def rate_sync_seconds() -> float:
    """Longest time a process keeps rate-limit counts to itself before syncing them to Redis (throttling.py)."""
    return _number("STOREFRONT_RATE_SYNC_SECONDS", "0.5", float)


def rate_sync_batch() -> int:
    """Most unsynced requests a process admits per counter before syncing (capped at limit // 10)."""
    return int(_number("STOREFRONT_RATE_SYNC_BATCH", "20", int))
