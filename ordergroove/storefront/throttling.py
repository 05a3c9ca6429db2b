"""Rate limits of the storefront endpoints: per client IP (requests with bad tokens count too) and per customer.

Fixed windows in the shared cache (Redis in production and CI). With Redis, all of a request's counters are
bumped in ONE round trip (a pipeline of ``SET key 0 EX ttl NX`` + ``INCR key`` per counter) over a per-process
connection pool: Django's cache API would cost two round trips and a new client object per counter, which made the
limiter most of the endpoint's cost. Other cache backends (development's database cache, tests' locmem) use the
Django cache API. If Redis is unreachable the limiter lets requests through and logs: shoppers are not locked out
of their subscriptions because a counter store is down.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.exceptions import Throttled

from ordergroove.storefront import conf

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def parse_rate(rate: str) -> tuple[int, int]:
    """"60/m" → (60, 60): at most 60 requests per 60-second window."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower() or "m"]


def client_ip(request) -> str:
    """REMOTE_ADDR, or the address the nearest trusted proxy saw. A client-supplied X-Forwarded-For is
    never trusted beyond the configured number of proxies (it would let anyone dodge the per-IP limit)."""
    proxies = conf.trusted_proxies()
    remote = request.META.get("REMOTE_ADDR", "")
    if proxies <= 0:
        return remote
    chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    return chain[-proxies] if len(chain) >= proxies else remote


def _redis_client() -> tuple[redis.Redis, str] | None:
    """The default cache's Redis (same server, db and key prefix), one client per process; None otherwise."""
    config = settings.CACHES.get("default", {})
    if not str(config.get("BACKEND", "")).endswith("RedisCache"):
        return None
    location = config.get("LOCATION")
    location = location[0] if isinstance(location, list | tuple) else str(location).split(",")[0]
    prefix = str(config.get("KEY_PREFIX", ""))
    with _clients_lock:
        client = _clients.get(location)
        if client is None:
            client = redis.Redis.from_url(location, socket_timeout=0.5, socket_connect_timeout=0.5)
            _clients[location] = client
    return client, prefix


def rate_limits_hit(limits: list[tuple[str, str, str]]) -> None:
    """Count one request against each (scope, ident, rate); raise Throttled (429 + Retry-After) when any
    window's allowance is spent. The Retry-After is the longest wait among the exceeded limits."""
    now = time.time()
    counters = []
    for scope, ident, rate in limits:
        limit, period = parse_rate(rate)
        window = int(now // period)
        key = f"{conf.cache_namespace()}:rl:{scope}:{ident}:{period}:{window}"
        counters.append((key, limit, period, window))
    counts = _count_redis(counters) if (backend := _redis_client()) else None
    if backend and counts is None:
        return  # Redis down: fail open (logged)
    if counts is None:
        counts = [_count_django(key, period) for key, _limit, period, _window in counters]
    waits = [max(1, int((window + 1) * period - now + 0.999))
             for (_key, limit, period, window), count in zip(counters, counts, strict=True) if count > limit]
    if waits:
        raise Throttled(wait=max(waits))


def _count_redis(counters) -> list[int] | None:
    client, prefix = _redis_client()
    pipe = client.pipeline(transaction=False)
    for key, _limit, period, _window in counters:
        full = f"{prefix}:rl:{key}"
        pipe.set(full, 0, ex=period + 1, nx=True)
        pipe.incr(full)
    try:
        results = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("Storefront rate limiter: Redis unavailable (%s); request allowed", exc.__class__.__name__)
        return None
    return [int(results[i]) for i in range(1, len(results), 2)]


def _count_django(key: str, period: int) -> int:
    try:
        return cache.incr(key)
    except ValueError:
        # First request of this window (add is atomic: a concurrent first request falls back to incr).
        if cache.add(key, 1, timeout=period + 1):
            return 1
        return cache.incr(key)
