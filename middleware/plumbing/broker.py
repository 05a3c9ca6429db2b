"""kombu's Redis transport, with one defect closed: a worker must ride out a broker restart (issue 14, finding 13).

When Redis goes away while a worker holds unacknowledged messages, Celery closes the broker connection and kombu
then closes the channel *after* the transport was detached from its connection; the channel's attempt to hand the
unacked messages back builds a Redis client from `connection.client`, now None, and the AttributeError
('NoneType' object has no attribute 'hostname') is not one of the errors Celery ignores while reconnecting: the
worker exited (bench/soak.py saw it at every Redis restart under load). Here that case is a connection error, which
Celery ignores and then reconnects. Nothing is lost: the messages stay in kombu's `unacked` hash and come back after
the visibility timeout, and every task's row (leases, `next_attempt_at`) is swept from the database anyway.
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict:
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("the broker connection is already closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
