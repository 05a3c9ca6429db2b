"""Writes of the inbox after intake (intake.py stores the events): process (claim + dispatch to the scope's handler
+ record the outcome), sweep and replay. InboundEvent is a durable job (middleware.plumbing.jobs): the claim, the
retry schedule, the sweep and the replay are the mechanism's, configured on the model.

Handlers are registered by other apps (bigcommerce_app.registry) and receive the InboundEvent. They signal
outcomes other than "done" by raising EventSkipped / EventDeferred; a transient vendor failure (VendorError
with `transient`) retries the event with backoff; anything else fails it with the reason kept for the console.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.utils import timezone

from bigcommerce_app import registry
from bigcommerce_app.models import InboundEvent, Store
from middleware.plumbing.http import VendorError

logger = logging.getLogger(__name__)

# Backoff for transient failures (the schedule is the model's: InboundEvent.job_retry_delays); then failed.
RETRY_DELAYS = InboundEvent.job_retry_delays


class EventSkipped(Exception):  # noqa: N818 - an outcome, not an error
    """Raised by a handler: nothing to do for this event (e.g. an order this service placed itself)."""


class EventDeferred(Exception):  # noqa: N818 - an outcome, not an error
    """Raised by a handler: look again later (e.g. an order still awaiting payment)."""

    def __init__(self, reason: str, *, retry_in: float):
        super().__init__(reason)
        self.retry_in = retry_in


def inbound_event_enqueue(event_id: int) -> bool:
    """Hand the event to a worker. Never blocks or fails the caller when the broker is down: the row is
    marked due and the sweeper enqueues it once the broker is back."""
    return InboundEvent.enqueue(event_id)


# --- Process ------------------------------------------------------------------------------------------------

def inbound_event_process(event_id: int) -> str:
    """Claim the event (one conditional UPDATE, so duplicates of the task cannot both run it), dispatch it to
    its scope's handler and record the outcome. Returns the resulting status."""
    if not InboundEvent.claim(event_id):
        return "not-claimed"
    event = InboundEvent.objects.select_related("store").get(pk=event_id)
    handler = registry.handler_for(event.scope)
    if handler is None:
        return _finish(event, InboundEvent.Status.SKIPPED, f"no handler for {event.scope}")
    if event.store.status == Store.Status.UNINSTALLED:
        return _finish(event, InboundEvent.Status.SKIPPED, "store uninstalled")
    try:
        result = handler(event)
    except EventSkipped as exc:
        return _finish(event, InboundEvent.Status.SKIPPED, str(exc))
    except EventDeferred as exc:
        return _finish(event, InboundEvent.Status.PENDING, str(exc),
                       next_attempt_at=timezone.now() + timedelta(seconds=exc.retry_in))
    except (VendorError, SoftTimeLimitExceeded, OperationalError, InterfaceError) as exc:
        # A lost database connection (a failover, pg_terminate_backend) mid-handler is as transient as a vendor
        # timeout: the handler's own transaction rolled back, so the event is retried, never failed for good.
        transient = not isinstance(exc, VendorError) or exc.transient
        reason = _failure_reason(exc)
        _drop_broken_connection()
        delay = InboundEvent.retry_delay(event.attempts) if transient else None
        if delay is not None:
            retry_after = getattr(exc, "retry_after", None)
            if retry_after:
                delay = max(delay, float(retry_after))
            return _finish(event, InboundEvent.Status.PENDING, f"will retry: {reason}",
                           next_attempt_at=timezone.now() + timedelta(seconds=delay))
        return _finish(event, InboundEvent.Status.FAILED, reason)
    except Exception as exc:
        logger.exception("Handler for %s event %s failed", event.scope, event.pk)
        return _finish(event, InboundEvent.Status.FAILED, f"{exc.__class__.__name__}: {exc}")
    return _finish(event, InboundEvent.Status.DONE, str(result or ""))


CHUNK_BUDGET_SECONDS = 30  # a chunk task hands what is left back to the broker after this long


def inbound_events_process(event_ids: list[int]) -> int:
    """Process a chunk of events published together by the intake relay. A slow chunk (vendor timeouts) does
    not hold the rest hostage past CHUNK_BUDGET_SECONDS nor near the task time limit: the remaining ids go
    back to the broker one by one (or, broker down, are marked due for the sweeper). Returns how many ran."""
    started = time.monotonic()
    for done, event_id in enumerate(event_ids):
        if time.monotonic() - started > CHUNK_BUDGET_SECONDS:
            for rest in event_ids[done:]:
                inbound_event_enqueue(rest)
            return done
        inbound_event_process(event_id)
    return len(event_ids)


def _failure_reason(exc: Exception) -> str:
    if isinstance(exc, VendorError):
        return str(exc)
    if isinstance(exc, SoftTimeLimitExceeded):
        return "time limit exceeded"
    return f"database unavailable ({exc.__class__.__name__})"


def _drop_broken_connection() -> None:
    """After a lost connection, let the next query (the outcome's UPDATE) open a fresh one. Inside an outer
    transaction (tests) the connection is not ours to close."""
    connection = connections[DEFAULT_DB_ALIAS]
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def _finish(event: InboundEvent, status: str, result: str, *, next_attempt_at=None) -> str:
    InboundEvent.finish(event.pk, status, error=result, next_attempt_at=next_attempt_at)
    if status == InboundEvent.Status.FAILED:
        logger.warning("Inbound event %s (%s) failed: %s", event.pk, event.scope, result)
    return status


# --- Sweep and replay ---------------------------------------------------------------------------------------

def inbound_events_sweep(*, stale_after: timedelta | None = None, limit: int = 500) -> int:
    """Re-enqueue events that are due: retried/deferred ones whose time came, ones the broker never got
    (marked due at intake), ones still pending `stale_after` after receipt (message lost), and ones whose
    worker died mid-processing (lease expired)."""
    return InboundEvent.sweep(limit=limit, stale_after=stale_after, enqueue=inbound_event_enqueue)


def bulk_replay_limit() -> int:
    """Failed rows one "replay all" replays (one console request stays short); the answer says how many remain."""
    return int(getattr(settings, "CONSOLE_BULK_REPLAY_LIMIT", 500))


def inbound_events_replay_failed(store: Store) -> tuple[int, int]:
    """Process the store's failed events again, oldest first, each as inbound_event_replay does. Returns
    (replayed, still failed): at most bulk_replay_limit() per call."""
    failed = InboundEvent.objects.filter(store=store, status=InboundEvent.Status.FAILED)
    limit = bulk_replay_limit()
    replayed = 0
    for event in failed.order_by("received_at", "pk")[:limit]:
        if _event_replay(event.pk):
            replayed += 1
    return replayed, failed.count()


def inbound_event_replay(event: InboundEvent) -> InboundEvent:
    """Process a finished (failed, skipped or done) event again, from the console."""
    _event_replay(event.pk)
    event.refresh_from_db()
    return event


def _event_replay(event_id: int) -> bool:
    """Reset a finished event to pending and enqueue it once committed; False when it is pending or processing
    already. The condition is in the UPDATE, not in a copy read earlier: a second replay of the same event (a
    double click, two operators, a retried API call) must not reset the lease of a worker that is processing it."""
    return InboundEvent.replay(event_id, from_statuses=InboundEvent.job_final, enqueue=inbound_event_enqueue,
                               result="replay requested")
