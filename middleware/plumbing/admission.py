"""Admission control for the webhook intake: a delivery that has already waited too long in its web process's
queue is answered 503 at once, before Django sees it, instead of being stored after BigCommerce gave up on it.

Why: gunicorn's gthread worker hands every readable connection to an unbounded thread-pool queue. Past the
process's capacity that queue, and with it every answer's latency, grows for as long as the overload lasts:
soon every delivery is answered after BigCommerce's timeout (undocumented; bigcommerce.md §3.4 says design for
1-2 s), so each counts as failed although it was stored, the domain is blocklisted and all of them come again.
Judging each request by how long it sat in the queue (CoDel's rule: sojourn time, not queue length, which says
nothing about how fast the queue drains) keeps the answered ones inside the deadline, and the 503 is cheap
because it is answered from the WSGI layer: no Django request, no body parsing, no database.

The contract holds: a shed delivery never reached the view, so nothing is stored and nothing acknowledged;
BigCommerce delivers it again (60 s later, then on its retry schedule). Only the intake path is shed.

How: ThreadWorker is gunicorn's gthread worker with its documented `get_thread_pool` hook returning a pool that
stamps when each connection joined the queue (one request per hand-over in gthread); `shed_late` wraps the WSGI
application. Under another server (runserver, the test live server) there is no stamp and nothing is shed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from gunicorn.workers.gthread import ThreadWorker as _GthreadWorker

logger = logging.getLogger(__name__)

_queued = threading.local()  # .at: time.monotonic() when the request being served joined the queue


class QueueStampedPool(ThreadPoolExecutor):
    """A thread pool whose tasks know when they were submitted (queued_seconds(), from inside the task)."""

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        return super().submit(_stamped, time.monotonic(), fn, *args, **kwargs)


def _stamped(submitted: float, fn: Callable, *args, **kwargs):
    _queued.at = submitted
    try:
        return fn(*args, **kwargs)
    finally:
        _queued.at = None


def queued_seconds() -> float | None:
    """How long the request this thread serves waited for a thread; None outside a QueueStampedPool."""
    submitted = getattr(_queued, "at", None)
    return None if submitted is None else time.monotonic() - submitted


class ThreadWorker(_GthreadWorker):
    """gunicorn `--worker-class middleware.plumbing.admission.ThreadWorker`: gthread, with queue-stamped requests."""

    def get_thread_pool(self) -> ThreadPoolExecutor:
        return QueueStampedPool(max_workers=self.cfg.threads)


_OVERLOADED = json.dumps({"error": "overloaded: the delivery was not stored, send it again"}).encode()
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(_OVERLOADED))), ("Retry-After", "1")]
LOG_EVERY = 10.0  # seconds: shed deliveries are counted and logged at most this often, not one line each


def shed_late(application: Callable, *, paths: Iterable[str], max_queue_seconds: float) -> Callable:
    """`application`, except that a POST to one of `paths` that waited in the queue longer than
    `max_queue_seconds` is answered 503 without running it. `max_queue_seconds` <= 0: no shedding."""
    if max_queue_seconds <= 0:
        return application
    shed_paths = frozenset(paths)
    counter = {"shed": 0, "logged_at": time.monotonic()}
    lock = threading.Lock()

    def admit(environ: dict, start_response: Callable):
        submitted = getattr(_queued, "at", None)
        if (submitted is not None and time.monotonic() - submitted > max_queue_seconds
                and environ.get("PATH_INFO") in shed_paths and environ.get("REQUEST_METHOD") == "POST"):
            start_response("503 Service Unavailable", list(_HEADERS))  # gunicorn discards the unread body
            _count(counter, lock, max_queue_seconds)
            return [_OVERLOADED]
        return application(environ, start_response)

    return admit


def _count(counter: dict, lock: threading.Lock, max_queue_seconds: float) -> None:
    with lock:
        counter["shed"] += 1
        now = time.monotonic()
        if now - counter["logged_at"] < LOG_EVERY:
            return
        shed, counter["shed"], counter["logged_at"] = counter["shed"], 0, now
    logger.warning("Overloaded: %d webhook deliveries waited over %.2f s for a thread and were answered 503 "
                   "(not stored; BigCommerce sends them again)", shed, max_queue_seconds)
