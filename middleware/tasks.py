"""Service-level tasks."""

import time

from celery import shared_task
from django.core.cache import cache

HEARTBEAT_KEY = "middleware:worker-heartbeat"


@shared_task(name="middleware.heartbeat")
def heartbeat() -> float:
    """Beat → broker → worker round trip; /readyz reports its age so operators see a stalled worker or beat."""
    now = time.time()
    cache.set(HEARTBEAT_KEY, now, timeout=3600)
    return now
