"""Rate limits of the storefront endpoints: per client IP (checked before authentication, so token guessing is
limited too) and per customer. Fixed windows counted with one atomic cache increment each, in the Django cache
(Redis in production and CI): O(1) per request whatever the limit, unlike DRF's per-request history lists."""

from __future__ import annotations

import time

from django.core.cache import cache
from rest_framework.exceptions import Throttled

from ordergroove.storefront import conf

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """"60/m" → (60, 60). "0/m" disables nothing: it refuses everything (use a large number to relax)."""
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


def rate_limit_hit(scope: str, ident: str, rate: str) -> None:
    """Count one request; raise Throttled (429 + Retry-After) once the window's allowance is spent."""
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    key = f"{conf.cache_namespace()}:rl:{scope}:{ident}:{period}:{window}"
    try:
        count = cache.incr(key)
    except ValueError:
        # First request of this window (add is atomic: a concurrent first request falls back to incr).
        if cache.add(key, 1, timeout=period + 1):
            count = 1
        else:
            count = cache.incr(key)
    if count > limit:
        raise Throttled(wait=max(1, int((window + 1) * period - now + 0.999)))
