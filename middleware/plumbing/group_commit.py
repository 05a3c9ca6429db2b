"""Group commit: the request threads of one process that want to write a row at the same moment share one
statement and one commit.

Why: on the webhook intake every request used to pay its own INSERT round trip and its own commit (a WAL flush
on PostgreSQL), and the statement overhead (psycopg, the server's parse/plan/commit) cost more CPU than the row.
Leader/follower, no extra thread: the first thread to arrive while nothing is being written becomes the leader
and flushes what is queued (at low load: just its own row, at once, so nothing waits for a timer); the threads
that arrive meanwhile queue up, and when the flush is done the leader hands each its outcome and passes the
lead to the first one still queued, which flushes everything that queued behind it. So at most one flush per
process is in flight and a batch is whatever arrived during the previous one.

`flush(items)` runs in the leader's thread (its own database connection, outside any transaction) and returns
one outcome per item, in order: a value, or an exception instance that `submit` raises in that item's thread.
If `flush` itself raises, every item of the batch gets `GroupCommitFailed` (chained to the cause): nothing
of a failed batch may be reported as written.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class GroupCommitFailed(Exception):
    """The batch this item belonged to could not be written; the item was not written."""


class _Slot:
    """One waiting item. `wake` is a lock taken at creation: the waiting thread blocks acquiring it again and
    whoever releases it wakes that thread (a C-level lock; threading.Event costs several Python-level locks and
    calls per wait)."""

    __slots__ = ("item", "outcome", "done", "wake")

    def __init__(self, item) -> None:
        self.item = item
        self.outcome = None
        self.done = False
        self.wake = threading.Lock()
        self.wake.acquire()


class GroupCommit(Generic[T, R]):
    def __init__(self, flush: Callable[[list[T]], list[R | BaseException]], *, max_batch: int = 100,
                 name: str = "group commit") -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._name = name
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a lock held at fork time must not stay held

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Slot] = []
        self._busy = False  # a leader is flushing; while False the queue is empty

    def submit(self, item: T) -> R:
        """Write `item` with whatever else is queued; returns its outcome once the batch is committed, or
        raises the exception its outcome is."""
        slot = _Slot(item)
        with self._lock:
            self._queue.append(slot)
            lead = not self._busy
            self._busy = True
        if not lead:
            slot.wake.acquire()  # released once: with the outcome, or with the lead
        if not slot.done:  # this thread leads: its slot is first in the queue
            self._lead(slot)
        if isinstance(slot.outcome, BaseException):
            raise slot.outcome
        return slot.outcome

    def _lead(self, own: _Slot) -> None:
        with self._lock:
            batch = self._queue[:self._max_batch]
            del self._queue[:self._max_batch]
        outcomes = None
        try:
            outcomes = self._run_flush([slot.item for slot in batch])
        finally:
            if outcomes is None:  # interrupted (BaseException): no waiter may hang or believe it was written
                outcomes = [GroupCommitFailed(f"{self._name}: batch interrupted") for _ in batch]
            with self._lock:
                successor = self._queue[0] if self._queue else None
                if successor is None:
                    self._busy = False
            if successor is not None:
                successor.wake.release()
            for slot, outcome in zip(batch, outcomes, strict=True):
                slot.outcome, slot.done = outcome, True
                if slot is not own:
                    slot.wake.release()

    def _run_flush(self, items: list[T]) -> list[R | BaseException]:
        try:
            outcomes = self._flush(items)
            if len(outcomes) != len(items):
                raise RuntimeError(f"{self._name}: flush returned {len(outcomes)} outcomes for {len(items)} items")
            return outcomes
        except Exception as exc:  # noqa: BLE001 - every item of the batch must learn that it was not written
            logger.exception("%s: a batch of %d could not be written", self._name, len(items))
            failures: list[R | BaseException] = []
            for _ in items:
                failure = GroupCommitFailed(f"{self._name}: batch not written ({exc.__class__.__name__})")
                failure.__cause__ = exc
                failures.append(failure)
            return failures
