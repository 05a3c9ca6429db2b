"""Rate limits of the storefront endpoints: per client IP (requests with bad tokens count too) and per customer.

Fixed windows counted in the shared cache (Redis in production and CI), so the limits hold across processes.
With Redis, each process counts locally and syncs its counts in batches (one Lua script call, over the storefront's
own connection (redis_link.py), that does ``INCRBY key n`` and sets the window's expiry on a new key, for every
pending counter of the process at once): a Redis round trip per request would cost more than the rest of the
signature endpoint together. A request is admitted without a
round trip only while, for each of its counters, this process's view (the Redis count at its last sync plus its
own unsynced requests) is at most half the limit, it holds fewer than ``batch`` unsynced requests of that counter
(``batch`` = min(STOREFRONT_RATE_SYNC_BATCH, limit // 10), at least 1) and its last sync is younger than
STOREFRONT_RATE_SYNC_SECONDS; otherwise the request syncs first and is decided on the exact Redis count.

Accuracy bound: a refusal is always exact (it is decided on Redis's count, which includes this process's requests).
Admissions may overshoot by the requests other processes admitted locally and have not synced yet: at most
``limit + (P - 1) * (batch - 1)`` requests per window with P processes (60/m: batch 6, so with 4 workers at most
75; limits under 20 per window are exact). Counters are attempts, as before: refused requests count too.

Other cache backends (development's database cache, tests' locmem) use the Django cache API per request. If Redis
is unreachable the limiter logs, keeps counting in this process (each process then enforces the full limit on its
own: shoppers are not locked out because a counter store is down, floods still are limited) and retries Redis
after STOREFRONT_RATE_SYNC_SECONDS rather than per request.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time

import redis
from django.core.cache import cache
from rest_framework.exceptions import Throttled

from ordergroove.storefront import conf
from ordergroove.storefront.redis_link import RedisLink, storefront_redis

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_counts_lock = threading.Lock()


def parse_rate(rate: str) -> tuple[int, int]:
    """"60/m" → (60, 60): at most 60 requests per 60-second window."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower() or "m"]


def client_ip(meta: dict) -> str:
    """REMOTE_ADDR of a request's META, or the address the nearest trusted proxy saw. A client-supplied
    X-Forwarded-For is never trusted beyond the configured number of proxies (it would let anyone dodge the per-IP
    limit)."""
    proxies = conf.trusted_proxies()
    remote = meta.get("REMOTE_ADDR", "")
    if proxies <= 0:
        return remote
    chain = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    return chain[-proxies] if len(chain) >= proxies else remote


_counts: dict[int, _LocalCounts] = {}  # per RedisLink (one per server and prefix), per process


def _redis_counts() -> tuple[RedisLink, _LocalCounts] | None:
    """The default cache's Redis and this process's counters for it; None when the cache is not Redis."""
    link = storefront_redis()
    if link is None:
        return None
    counts = _counts.get(id(link))
    if counts is None:
        with _counts_lock:
            counts = _counts.setdefault(id(link), _LocalCounts())
    return link, counts


def rate_limits_hit(limits: list[tuple[str, str, str]]) -> None:
    """Count one request against each (scope, ident, rate); raise Throttled (429 + Retry-After) when any
    window's allowance is spent. The Retry-After is the longest wait among the exceeded limits."""
    now = time.time()
    namespace = conf.cache_namespace()
    # (namespace, scope, ident, period, window): the counter's identity; its cache key is made from it only when
    # it is synced or counted through the Django cache (formatting a key per request was a good part of the cost).
    counters = []
    for scope, ident, rate in limits:
        limit, period = _parse_rate_cached(rate)
        counters.append(((namespace, scope, ident, period, int(now // period)), limit))
    backend = _redis_counts()
    if backend is not None:
        counts = backend[1].count(backend[0], counters, now)
    else:
        counts = [_count_django(_key(counter), counter[3]) for counter, _limit in counters]
    waits = None
    for (counter, limit), count in zip(counters, counts, strict=True):
        if count > limit:
            period, window = counter[3], counter[4]
            wait = max(1, int((window + 1) * period - now + 0.999))
            waits = wait if waits is None else max(waits, wait)
    if waits is not None:
        raise Throttled(wait=waits)


def _key(counter: tuple[str, str, str, int, int]) -> str:
    namespace, scope, ident, period, window = counter
    return f"{namespace}:rl:{scope}:{ident}:{period}:{window}"


@functools.lru_cache(maxsize=64)
def _parse_rate_cached(rate: str) -> tuple[int, int]:
    return parse_rate(rate)


class _LocalCounts:
    """This process's counters: per counter (rate_limits_hit) [count at last sync, unsynced requests, window end
    (wall s), ttl, Redis key, batch (the limit's at the window's first request)]. One lock: gunicorn's threaded
    workers share it; the Redis round trip runs outside it.

    A sync touches only the counters with unsynced requests (``_pending``), and ended windows are swept only once
    the earliest window end has passed: the state holds every counter of the current window (one per active
    customer), and walking all of it on each sync cost more than the sync's round trip."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[tuple, list] = {}
        self._pending: dict[tuple, list] = {}
        self._sweep_at = 0.0  # earliest window end in _state (wall s)
        self._last_sync = time.monotonic()
        self._redis_down_until = 0.0

    def count(self, link: RedisLink, counters, now: float) -> list[int]:
        sync_seconds = conf.rate_sync_seconds()
        views = []
        mono = time.monotonic()
        with self._lock:
            sync = mono - self._last_sync >= sync_seconds
            state, pending = self._state, self._pending
            for counter, limit in counters:
                entry = state.get(counter)
                if entry is None:
                    period, window = counter[3], counter[4]
                    # Its Redis key and batch are worked out once per counter and window, not per request / sync.
                    entry = state[counter] = [0, 0, (window + 1) * period, period + 1,
                                              f"{link.prefix}:rl:{_key(counter)}",
                                              max(1, min(conf.rate_sync_batch(), limit // 10))]
                    if not self._sweep_at or entry[2] < self._sweep_at:
                        self._sweep_at = entry[2]
                if not entry[1]:
                    pending[counter] = entry
                entry[1] += 1
                view = entry[0] + entry[1]
                views.append(view)
                if 2 * view > limit or entry[1] >= entry[5]:
                    sync = True
            if not sync or mono < self._redis_down_until:
                return views
            # Push every pending counter of this process (amortizes the round trip over all of them).
            batch = [(counter, entry[1], entry[3], entry[4]) for counter, entry in pending.items()]
            for entry in pending.values():
                entry[1] = 0
            pending.clear()
            self._last_sync = mono
        keys = [counter for counter, _limit in counters]
        try:
            results = _sync(link, [key for _counter, _delta, _ttl, key in batch],
                            [x for _counter, delta, ttl, _redis_key in batch for x in (delta, ttl)])
        except redis.RedisError as exc:
            logger.warning("Storefront rate limiter: Redis unavailable (%s); counting in this process only",
                           exc.__class__.__name__)
            with self._lock:
                self._redis_down_until = time.monotonic() + sync_seconds
                for counter, delta, _ttl, _redis_key in batch:
                    if (entry := self._state.get(counter)) is not None:
                        entry[1] += delta
                        self._pending[counter] = entry
                self._forget_ended(now, keep_pending=False)
                return [self._state[counter][0] + self._state[counter][1] if counter in self._state else view
                        for counter, view in zip(keys, views, strict=True)]
        with self._lock:
            for (counter, _delta, _ttl, _redis_key), total in zip(batch, results, strict=True):
                if (entry := self._state.get(counter)) is not None:
                    entry[0] = int(total)
            counts = [self._state[counter][0] + self._state[counter][1] if counter in self._state else view
                      for counter, view in zip(keys, views, strict=True)]
            self._forget_ended(now, keep_pending=True)
        return counts

    def _forget_ended(self, now: float, *, keep_pending: bool) -> None:
        # Ended windows are never counted again (their Redis keys expire on their own); with Redis down their
        # unsynced counts are dropped too, so the state stays bounded by one window's traffic.
        if now < self._sweep_at:
            return
        sweep_at = 0.0
        for counter, entry in list(self._state.items()):
            if entry[2] <= now and not (keep_pending and entry[1]):
                del self._state[counter]
                self._pending.pop(counter, None)
            elif not sweep_at or entry[2] < sweep_at:
                sweep_at = entry[2]
        self._sweep_at = sweep_at


# One script call per sync, whatever the number of pending counters: as a pipeline of SET NX + INCRBY per counter,
# redis-py's command packing and reply parsing cost more than the rest of the signature endpoint.
_SYNC_LUA = """
local totals = {}
for i, key in ipairs(KEYS) do
  totals[i] = redis.call('INCRBY', key, ARGV[2 * i - 1])
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[2 * i]) end
end
return totals
"""
# EVALSHA names a script by its SHA-1 (Redis's script cache key; not a security use).
_SYNC_SHA = hashlib.sha1(_SYNC_LUA.encode(), usedforsecurity=False).hexdigest()


def _sync(link: RedisLink, keys: list[str], args: list[int]) -> list[int]:
    try:
        return link.call("EVALSHA", _SYNC_SHA, len(keys), *keys, *args)
    except redis.exceptions.NoScriptError:  # first call on this server, or after a restart / SCRIPT FLUSH
        return link.call("EVAL", _SYNC_LUA, len(keys), *keys, *args)


def _count_django(key: str, period: int) -> int:
    try:
        return cache.incr(key)
    except ValueError:
        # First request of this window (add is atomic: a concurrent first request falls back to incr).
        if cache.add(key, 1, timeout=period + 1):
            return 1
        return cache.incr(key)
