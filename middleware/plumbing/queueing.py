"""Handing a stored row's id to Celery without ever losing it.

The row is the source of truth: when the broker cannot take the message, the row is marked due
(`next_attempt_at = now`) and the app's periodic sweeper enqueues it once the broker is back.
"""

from __future__ import annotations

import logging

from django.db.models import QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


def enqueue_or_mark_due(task, object_id: int, *, pending: QuerySet, what: str) -> bool:
    """`task.apply_async((object_id,))`, or mark the rows of `pending` due when the broker fails.

    `pending` selects the row only while it is still waiting for its first enqueue (so a row already being
    processed or retried keeps its schedule)."""
    try:
        task.apply_async((object_id,), retry=False)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure; the row is safe in the database
        logger.warning("Could not enqueue %s %s (%s): the sweeper will", what, object_id, exc.__class__.__name__)
        pending.update(next_attempt_at=timezone.now())
        return False
