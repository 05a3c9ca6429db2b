"""Ordergroove's rate allowance, shared by every process that calls Ordergroove from one egress IP.

Ordergroove allows 6,000 requests per minute per source IP and answers 429 beyond (ordergroove.md, R-RATE). The
service spends a budget below that (``ORDERGROOVE_RATE_BUDGET_PER_MINUTE``, 90 % of it by default) per egress IP
(``ORDERGROOVE_EGRESS_ID``: processes that leave through the same address share one budget) so that Ordergroove
never has to refuse us, and spends all of it when there is work waiting.

How: a schedule of slots, one every ``interval`` = (60 s + TRANSIT_GUARD_SECONDS) / budget, kept in Redis (GCRA
"virtual scheduling": the time of the next free slot is the only state). A caller *books* the next free slot
atomically (one Lua script, Redis's own clock, so hosts with skewed clocks still agree) and sleeps until it, as
long as that is at most ``max_wait`` seconds away (``ORDERGROOVE_RATE_MAX_WAIT``, the same order as Ordergroove's
own timeout): one Redis round trip per call, callers served in the order they booked, no polling. A call whose
slot would be further away books nothing and gets the wait back as a hint: the delivery is rescheduled through
its ``next_attempt_at`` (DECISIONS §3.13), never slept on.

Guarantee: any 60 s window holds at most ``budget`` bookings, and at most ``budget`` arrivals at Ordergroove while
the transit times of two calls differ by less than TRANSIT_GUARD_SECONDS (the guard costs 1/61 of the budget).

Precedence: purchase posts (and calls someone waits for: storefront lookups, the console's check) are FIRST;
status polls, contact and payment updates are BACKGROUND. A BACKGROUND call books only while FIRST calls are
queued less than ``ORDERGROOVE_RATE_PRIORITY_GAP`` seconds ahead; otherwise it is held back until they have gone.
The periodic sweeper does not even release BACKGROUND deliveries while FIRST calls are queued (``first_queued``).

Why not a library: the well-kept Redis limiters (limits, pyrate-limiter, throttled-py) answer "allowed now or
not"; a caller that must wait has to poll, so N waiting threads make N round trips per freed slot, and none has
priority classes. Booking a future slot (the Reserve of Go's x/time/rate, across processes) is what lets every
worker thread wait its turn with one round trip; that is this module's dozen lines of Lua.

Without Redis (``make run`` with no REDIS_URL: one worker process) and while Redis is unreachable, the same
schedule is kept in this process's memory (each process then holds the whole budget by itself; the embedded
mode runs a single worker process, and without Redis there is no broker feeding several).
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

DOCUMENTED_LIMIT_PER_MINUTE = 6000  # ordergroove.md (R-RATE): per source IP
DEFAULT_BUDGET_PER_MINUTE = 5400  # 90 %: room for clock and transit jitter, and for anything else on that IP
DEFAULT_MAX_WAIT = 5.0
DEFAULT_PRIORITY_GAP = 0.5
WINDOW_SECONDS = 60.0
# A call booked at t reaches Ordergroove at t + transit. Spacing the slots as if the minute were a second longer
# keeps the arrivals in any 60 s window within the budget while transits differ by less than this.
TRANSIT_GUARD_SECONDS = 1.0
REDIS_RETRY_SECONDS = 10.0  # after a Redis error, this process schedules in memory for this long


class Priority(enum.Enum):
    FIRST = "first"  # purchase posts; calls a shopper or merchant waits for
    BACKGROUND = "background"  # status polls, contact details, payment default


@dataclass(frozen=True)
class Grant:
    """``granted``: a slot is booked ``wait`` seconds from now (sleep, then send); ``at`` is that slot on the
    scheduler's clock (Redis's, or this process's), epoch seconds. Otherwise nothing was booked and ``wait`` is
    when to ask again."""

    granted: bool
    wait: float
    at: float = 0.0


def budget_per_minute() -> int:
    return max(1, int(getattr(settings, "ORDERGROOVE_RATE_BUDGET_PER_MINUTE", DEFAULT_BUDGET_PER_MINUTE)))


def interval() -> float:
    """Seconds between two slots."""
    return (WINDOW_SECONDS + TRANSIT_GUARD_SECONDS) / budget_per_minute()


def max_wait() -> float:
    return max(0.0, float(getattr(settings, "ORDERGROOVE_RATE_MAX_WAIT", DEFAULT_MAX_WAIT)))


def priority_gap() -> float:
    return max(0.0, float(getattr(settings, "ORDERGROOVE_RATE_PRIORITY_GAP", DEFAULT_PRIORITY_GAP)))


def egress_id() -> str:
    return str(getattr(settings, "ORDERGROOVE_EGRESS_ID", "") or "default")[:100]


# --- The rule (the Lua script below is the same rule, run inside Redis) -------------------------------------------

def decide(now: float, next_free: float, first_until: float, *, first: bool, step: float, horizon: float,
           gap: float) -> tuple[Grant, float, float]:
    """(grant, new next_free, new first_until) for a caller at `now`. `next_free`: the next free slot;
    `first_until`: the end of the last slot booked by a FIRST call."""
    slot = max(next_free, now)
    if not first and first_until - now > gap:
        return Grant(False, first_until - now - gap), next_free, first_until
    if slot - now > horizon:
        return Grant(False, slot - now - horizon), next_free, first_until
    return Grant(True, slot - now, slot), slot + step, (slot + step if first else first_until)


_BOOK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local step, horizon, gap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
local first = ARGV[3] == '1'
local state = redis.call('HMGET', KEYS[1], 'next', 'first')
local slot = math.max(tonumber(state[1]) or 0, now)
local first_until = tonumber(state[2]) or 0
if not first and first_until - now > gap then
  return {0, string.format('%.6f', first_until - now - gap)}
end
if slot - now > horizon then
  return {0, string.format('%.6f', slot - now - horizon)}
end
local booked = string.format('%.6f', slot + step)
if first then
  redis.call('HSET', KEYS[1], 'next', booked, 'first', booked)
else
  redis.call('HSET', KEYS[1], 'next', booked)
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, string.format('%.6f', slot - now), string.format('%.6f', slot)}
"""

_PEEK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local first_until = tonumber(redis.call('HGET', KEYS[1], 'first')) or 0
return string.format('%.6f', first_until - now)
"""


class _Memory:
    """The schedule in this process (no Redis): same rule, a lock instead of Redis's atomicity."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}

    def book(self, key: str, *, first: bool, step: float, horizon: float, gap: float) -> Grant:
        with self._lock:
            now = time.time()
            next_free, first_until = self._state.get(key, (0.0, 0.0))
            grant, next_free, first_until = decide(now, next_free, first_until, first=first, step=step,
                                                   horizon=horizon, gap=gap)
            self._state[key] = (next_free, first_until)
            return grant

    def first_queued(self, key: str) -> float:
        with self._lock:
            return self._state.get(key, (0.0, 0.0))[1] - time.time()


_memory = _Memory()
_redis: dict[str, tuple[redis.Redis, object, object]] = {}
_redis_lock = threading.Lock()
_redis_down_until = 0.0
os.register_at_fork(after_in_child=_redis.clear)  # a forked worker opens its own connections


def _redis_scripts() -> tuple[object, object] | None:
    """(book, peek) bound to settings.REDIS_URL's server, one client per process; None without Redis."""
    url = getattr(settings, "REDIS_URL", None)
    if not url or time.monotonic() < _redis_down_until:
        return None
    entry = _redis.get(url)
    if entry is None:
        with _redis_lock:
            entry = _redis.get(url)
            if entry is None:
                client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
                entry = _redis[url] = (client, client.register_script(_BOOK), client.register_script(_PEEK))
    return entry[1], entry[2]


def _redis_failed(exc: Exception) -> None:
    global _redis_down_until
    _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
    logger.warning("Ordergroove allowance: Redis unreachable (%s); this process schedules its calls in memory "
                   "for %.0f s", exc.__class__.__name__, REDIS_RETRY_SECONDS)


def _key() -> str:
    return f"ordergroove:allowance:{egress_id()}"


def book(priority: Priority, *, wait_at_most: float | None = None) -> Grant:
    """Book the next slot of this egress IP's budget if it is at most `wait_at_most` seconds away (default
    ORDERGROOVE_RATE_MAX_WAIT). The caller sleeps `grant.wait` before sending, or, if not granted, sends nothing."""
    horizon = max_wait() if wait_at_most is None else max(0.0, min(wait_at_most, max_wait()))
    first = priority is Priority.FIRST
    step, gap = interval(), priority_gap()
    scripts = _redis_scripts()
    if scripts is not None:
        ttl_ms = int(1000 * (horizon + WINDOW_SECONDS + 60))
        try:
            answer = scripts[0](keys=[_key()], args=[repr(step), repr(horizon), "1" if first else "0", repr(gap),
                                                     ttl_ms])
            return Grant(bool(int(answer[0])), max(0.0, float(answer[1])), float(answer[2]) if answer[0] else 0.0)
        except redis.RedisError as exc:
            _redis_failed(exc)
    return _memory.book(_key(), first=first, step=step, horizon=horizon, gap=gap)


def first_queued() -> bool:
    """Whether FIRST calls are queued further ahead than the priority gap: BACKGROUND calls would be held back."""
    scripts = _redis_scripts()
    if scripts is not None:
        try:
            return float(scripts[1](keys=[_key()])) > priority_gap()
        except redis.RedisError as exc:
            _redis_failed(exc)
    return _memory.first_queued(_key()) > priority_gap()
