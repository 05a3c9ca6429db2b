"""The storefront hot path's way to Redis: the default cache's server, db and key prefix, through one redis-py
connection per process and thread.

Why not the cache API or a redis.Redis client: with redis-py 8, Django's RedisCache builds a redis.Redis per call
(about 0.9 M instructions for one GET, more than the signature endpoint's whole work), and even a long-lived client
spends about 0.1 M instructions per command in its pool checkout/release and observability hooks. A redis-py
Connection used directly keeps everything that matters of the library (connect, AUTH, SELECT, timeouts, TLS for
rediss://, hiredis reply parsing, error replies raised as exceptions) for about 30 k instructions a command.
Commands are packed by hiredis's C packer directly (what redis-py's HiredisRespSerializer calls after a Python pass
over every argument: ~3 k instructions per argument, most of a rate-limit sync of a few dozen counters).

A connection is never shared: one per thread (gunicorn's gthread workers), dropped in a forked child, and
disconnected after any error, so the next call reconnects (a Redis restart costs the calls in flight, nothing more).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.core.signals import setting_changed
from hiredis import pack_command

SOCKET_TIMEOUT = 0.5  # seconds: a hung Redis must not hold a storefront request (callers degrade on RedisError)


@dataclass(eq=False)
class RedisLink:
    url: str
    prefix: str  # the default cache's KEY_PREFIX: the storefront's keys live beside the cache's
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def __post_init__(self) -> None:
        self._pool = redis.ConnectionPool.from_url(self.url, socket_timeout=SOCKET_TIMEOUT,
                                                   socket_connect_timeout=SOCKET_TIMEOUT)

    def call(self, *args):
        """One command and its reply; redis.RedisError (after disconnecting) when Redis does not answer well."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # Made as the pool would make it (same class and options), but never returned to it.
            connection = self._local.connection = self._pool.connection_class(**self._pool.connection_kwargs)
        try:
            try:
                packed = pack_command(args)  # str (UTF-8), bytes, int and float, as redis-py's packer
            except TypeError as exc:
                raise redis.DataError(str(exc)) from exc  # what redis-py raises for an unpackable argument
            connection.send_packed_command([packed])
            return connection.read_response()
        except BaseException:
            connection.disconnect()
            raise

    def forget_connections(self) -> None:
        self._local = threading.local()


_links: dict[tuple[str, str], RedisLink] = {}
_links_lock = threading.Lock()
_memo: list = []  # [RedisLink or None] for the current settings


def storefront_redis() -> RedisLink | None:
    """The link to the default cache's Redis (first server of its LOCATION), or None when the cache is not Redis
    (development's database cache, some tests' locmem): callers then use the Django cache API."""
    if _memo:
        return _memo[0]
    config = settings.CACHES.get("default", {})
    link = None
    if str(config.get("BACKEND", "")).endswith("RedisCache"):
        location = config.get("LOCATION")
        location = location[0] if isinstance(location, list | tuple) else str(location).split(",")[0]
        key = (location, str(config.get("KEY_PREFIX", "")))
        with _links_lock:
            link = _links.get(key)
            if link is None:
                link = _links[key] = RedisLink(url=key[0], prefix=key[1])
    _memo[:] = [link]
    return link


def _forget(**_kwargs) -> None:
    _memo.clear()


def _after_fork_in_child() -> None:
    # The parent's sockets must not be shared with a child (replies would interleave).
    for link in list(_links.values()):
        link.forget_connections()


setting_changed.connect(_forget, dispatch_uid="ordergroove.storefront.redis_link")
os.register_at_fork(after_in_child=_after_fork_in_child)
