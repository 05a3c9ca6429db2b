"""Durable jobs: a database row is the job, the broker only carries its id.

One mechanism for every table whose rows are work to do (webhook events, Ordergroove deliveries, Ordergroove
events, feed runs, product-import checks). The row is the source of truth; a lost message, a dead worker or a
broker outage delays a job but never loses it:

- enqueue: the row's id goes to its Celery task; when the broker refuses it the row is marked due
  (`next_attempt_at = now`) for the sweep (`enqueue`, `enqueue_on_commit`, `mark_due`, `enqueue_or_mark_due`);
- claim: one conditional UPDATE takes a due row (pending and due, or running with an expired lease) and gives
  it a lease, so duplicate messages, concurrent workers and retries cannot run it twice; the same statement on
  PostgreSQL and SQLite (no SELECT ... FOR UPDATE, no SKIP LOCKED);
- outcome: `succeed`, `fail`, `retry_later`, `retry_or_fail` (the schedule lives in the row: `attempts`,
  `next_attempt_at` and the model's error text, never in broker countdowns), `finish` for any other status,
  `unclaim` for a claim that turned out not to be an attempt (held back: nothing was done);
- sweep: a periodic task re-enqueues what is due (retries whose time came, rows marked due, rows still waiting
  for their first run `job_stale_after` after creation: the message was lost) and what a dead worker left
  (running, lease expired);
- replay: a finished (failed) job is made due again and enqueued once the transaction commits, the condition
  in the UPDATE (a double click cannot reset a running job);
- visible states: `job_state` (queued, scheduled, running, stalled, done, failed) for consoles.

How a model adopts it
---------------------
Inherit `DurableJob` (abstract: it adds `attempts`, `next_attempt_at`, `lease_until`; a model that already has
them with these definitions needs no migration) and configure it with class attributes; the model keeps its own
status names, its own error/result and finished fields, and their meaning::

    class Delivery(DurableJob):
        class Status(models.TextChoices):
            PENDING = "pending"; SENDING = "sending"; SUCCEEDED = "succeeded"; FAILED = "failed"
        status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
        created_at = models.DateTimeField(default=timezone.now)
        completed_at = models.DateTimeField(null=True, blank=True)
        last_error = models.TextField(blank=True, default="")

        job_task = "ordergroove.delivery_send"     # registered Celery task name, called with (pk,)
        job_pending, job_running = Status.PENDING, Status.SENDING
        job_done, job_failed = Status.SUCCEEDED, Status.FAILED
        job_final = (Status.SUCCEEDED, Status.FAILED)  # statuses that set job_finished_field
        job_created_field = "created_at"           # what job_stale_after counts from
        job_finished_field = "completed_at"        # set on a final status, cleared otherwise (None: no field)
        job_error_field = "last_error"             # where `error=` goes (None: no field)
        job_lease_seconds = 60                     # or override job_lease() to read settings at call time
        job_stale_seconds = 60                     # or override job_stale_after(); None: never re-enqueue unseen
        job_retry_delays = (60, 240, 86400)        # retry_or_fail's schedule

Then the task is thin and idempotent::

    @shared_task(name="ordergroove.delivery_send")
    def delivery_send(pk):
        if not Delivery.claim(pk):
            return "not-claimed"
        ...                                        # work, then Delivery.succeed(pk) / retry_or_fail(...) / fail(...)

and a periodic task calls `Delivery.sweep()`. Enqueueing by registered name (`job_task`) means the services
that create jobs never import their tasks module: no services <-> tasks import cycle.

Every write is one UPDATE by primary key (plus the caller's own `**fields`, written in the same statement), so
adopting the mechanism adds no query to a hot path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from celery import current_app
from django.db import models, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


class JobState(models.TextChoices):
    """What a console shows of a job, whatever the model calls its statuses."""

    QUEUED = "queued", "Queued"  # pending and due: a worker takes it next
    SCHEDULED = "scheduled", "Scheduled"  # pending, due later (a retry or a deferral)
    RUNNING = "running", "Running"  # claimed, lease live
    STALLED = "stalled", "Stalled"  # claimed, lease expired: its worker died; the sweep hands it on
    DONE = "done", "Done"  # any other final status than failed
    FAILED = "failed", "Failed"


def enqueue_or_mark_due(task, object_id: int, *, pending: QuerySet, what: str) -> bool:
    """`task.apply_async((object_id,))`, or mark the rows of `pending` due when the broker fails.

    For a job table that does not inherit DurableJob. `pending` selects the row only while it is still waiting
    for its first enqueue (so a row already being processed or retried keeps its schedule)."""
    try:
        task.apply_async((object_id,), retry=False)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure; the row is safe in the database
        logger.warning("Could not enqueue %s %s (%s): the sweeper will", what, object_id, exc.__class__.__name__)
        pending.update(next_attempt_at=timezone.now())
        return False


_TASK_IMPORT_LOCK = threading.Lock()


def task_named(name: str):
    """The registered Celery task `name` (the project's app): enqueue by name, import no tasks module.

    A worker imports every app's tasks module at boot; a web process imports them here, the first time a name
    is not registered yet (Celery's own autodiscovery, as the worker runs it)."""
    tasks = current_app.tasks
    if name not in tasks:
        # One thread imports, the others wait for it: a second thread would find the tasks modules already in
        # sys.modules but half executed, their tasks not registered yet (NotRegistered under a threaded web server).
        with _TASK_IMPORT_LOCK:
            if name not in tasks:
                current_app.loader.import_default_modules()
    return tasks[name]


class DurableJob(models.Model):
    attempts = models.PositiveIntegerField(default=0)
    # A pending job's due time (a retry, a deferral, "the broker refused it": now); None = waiting for its
    # first run, enqueued at creation.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A running job's claim end: a worker that died leaves it to expire and the sweep hands the job on.
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    # --- configuration (class attributes; see the module docstring) ---
    job_task: ClassVar[str] = ""
    job_status_field: ClassVar[str] = "status"
    job_pending: ClassVar[str] = "pending"
    job_running: ClassVar[str] = "running"
    job_done: ClassVar[str] = "done"
    job_failed: ClassVar[str] = "failed"
    job_final: ClassVar[tuple[str, ...]] = ("done", "failed")
    job_created_field: ClassVar[str] = "created_at"
    job_finished_field: ClassVar[str | None] = None
    job_error_field: ClassVar[str | None] = None
    job_error_max: ClassVar[int] = 2000
    job_lease_seconds: ClassVar[float] = 300
    job_stale_seconds: ClassVar[float | None] = 60
    job_retry_delays: ClassVar[tuple[float, ...]] = ()
    job_sweep_limit: ClassVar[int] = 500

    @classmethod
    def job_lease(cls) -> timedelta:
        return timedelta(seconds=cls.job_lease_seconds)

    @classmethod
    def job_stale_after(cls) -> timedelta | None:
        return None if cls.job_stale_seconds is None else timedelta(seconds=cls.job_stale_seconds)

    @classmethod
    def job_retry_schedule(cls) -> tuple[float, ...]:
        return tuple(cls.job_retry_delays)

    # --- enqueue ---

    @classmethod
    def enqueue(cls, pk: int) -> bool:
        """Hand the job to its task. Never blocks or fails the caller when the broker is down: the row is marked
        due (if still waiting for its first run) and the sweep enqueues it once the broker is back."""
        task = task_named(cls.job_task)  # outside the try: an unregistered name is a bug, not an outage
        try:
            task.apply_async((pk,), retry=False)
            return True
        except Exception as exc:  # noqa: BLE001 - any broker failure; the row is safe in the database
            logger.warning("Could not enqueue %s %s (%s): the sweeper will", cls.__name__, pk,
                           exc.__class__.__name__)
            cls.mark_due([pk])
            return False

    @classmethod
    def enqueue_on_commit(cls, pk: int) -> None:
        """Enqueue once the current transaction commits (at once in autocommit): a worker never gets an id
        whose row it cannot see yet."""
        transaction.on_commit(lambda: cls.enqueue(pk))

    @classmethod
    def mark_due(cls, pks: Iterable[int], *, now: datetime | None = None) -> int:
        """Make jobs that wait for their first run due now (their message did not reach the broker); a job
        already running or scheduled keeps its schedule."""
        return cls._default_manager.filter(
            pk__in=list(pks), **{cls.job_status_field: cls.job_pending}, next_attempt_at__isnull=True,
        ).update(next_attempt_at=now or timezone.now())

    # --- claim ---

    @classmethod
    def claimable(cls, now: datetime) -> Q:
        """Pending and due, or running with an expired lease (its worker died)."""
        status = cls.job_status_field
        pending = Q(**{status: cls.job_pending}) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        return pending | Q(**{status: cls.job_running, "lease_until__lt": now})

    @classmethod
    def claim(cls, pk: int, *, now: datetime | None = None, lease: timedelta | None = None, **fields: Any) -> bool:
        """Take the job (one conditional UPDATE): running, leased, one more attempt, plus `fields`. False when
        it is not due or another worker holds it."""
        now = now or timezone.now()
        return bool(cls._default_manager.filter(cls.claimable(now), pk=pk).update(
            **{cls.job_status_field: cls.job_running}, lease_until=now + (lease or cls.job_lease()),
            attempts=F("attempts") + 1, **fields))

    @classmethod
    def claimed_fields(cls, now: datetime | None = None) -> dict[str, Any]:
        """The fields of a job created already claimed (attempt 1 running), for a worker that creates a job and
        runs it at once: spares the claim UPDATE."""
        now = now or timezone.now()
        return {cls.job_status_field: cls.job_running, "attempts": 1, "lease_until": now + cls.job_lease()}

    @classmethod
    def extend_lease(cls, pk: int, *, now: datetime | None = None, **fields: Any) -> bool:
        """A long job's heartbeat: its lease runs from now again (False: it is no longer running)."""
        now = now or timezone.now()
        return bool(cls._default_manager.filter(pk=pk, **{cls.job_status_field: cls.job_running}).update(
            lease_until=now + cls.job_lease(), **fields))

    @classmethod
    def unclaim(cls, pk: int, *, next_attempt_at: datetime | None = None, **fields: Any) -> int:
        """Undo a claim that was no attempt (held back before anything was done): pending again, the attempt
        not counted, due at `next_attempt_at`."""
        return cls._default_manager.filter(pk=pk, **{cls.job_status_field: cls.job_running}).update(
            **{cls.job_status_field: cls.job_pending}, lease_until=None, attempts=F("attempts") - 1,
            next_attempt_at=next_attempt_at, **fields)

    # --- outcome ---

    @classmethod
    def finish(cls, pk: int, status: str, *, error: str | None = None, next_attempt_at: datetime | None = None,
               now: datetime | None = None, **fields: Any) -> int:
        """Record an outcome: `status`, the lease released, `next_attempt_at`, the finished field set for a
        final status (cleared otherwise), `error` in the model's error field, plus `fields`; one UPDATE."""
        values: dict[str, Any] = {cls.job_status_field: status, "lease_until": None,
                                  "next_attempt_at": next_attempt_at}
        if cls.job_finished_field:
            values[cls.job_finished_field] = (now or timezone.now()) if status in cls.job_final else None
        if error is not None and cls.job_error_field:
            values[cls.job_error_field] = error[:cls.job_error_max]
        values.update(fields)
        return cls._default_manager.filter(pk=pk).update(**values)

    @classmethod
    def succeed(cls, pk: int, status: str | None = None, **fields: Any) -> int:
        return cls.finish(pk, status or cls.job_done, **fields)

    @classmethod
    def fail(cls, pk: int, error: str | None = None, **fields: Any) -> int:
        return cls.finish(pk, cls.job_failed, error=error, **fields)

    @classmethod
    def retry_later(cls, pk: int, *, delay: float | None = None, at: datetime | None = None,
                    error: str | None = None, **fields: Any) -> int:
        """Pending again, due after `delay` seconds (or `at`)."""
        if at is None:
            at = timezone.now() + timedelta(seconds=delay or 0)
        return cls.finish(pk, cls.job_pending, next_attempt_at=at, error=error, **fields)

    @classmethod
    def retry_delay(cls, failures: int, delays: tuple[float, ...] | None = None) -> float | None:
        """The wait after the `failures`-th failure in a row (1-based), or None when the schedule is spent."""
        delays = cls.job_retry_schedule() if delays is None else delays
        return delays[failures - 1] if 0 < failures <= len(delays) else None

    @classmethod
    def retry_or_fail(cls, pk: int, *, failures: int, error: str | None = None,
                      delays: tuple[float, ...] | None = None, at_least: float = 0, **fields: Any) -> str:
        """After a transient failure: retried per the schedule (waiting at least `at_least` seconds, e.g. a
        Retry-After), or failed once it is spent. Returns the status written."""
        delay = cls.retry_delay(failures, delays)
        if delay is None:
            cls.fail(pk, error, **fields)
            return cls.job_failed
        cls.retry_later(pk, delay=max(delay, at_least), error=error, **fields)
        return cls.job_pending

    # --- sweep and replay ---

    @classmethod
    def sweepable(cls, now: datetime, stale_after: timedelta | None = None) -> Q:
        """Due retries and rows marked due, rows never picked up `stale_after` after creation (message lost),
        and running rows whose lease expired (worker died)."""
        status = cls.job_status_field
        due = (Q(**{status: cls.job_pending, "next_attempt_at__lte": now})
               | Q(**{status: cls.job_running, "lease_until__lt": now}))
        if stale_after is not None:
            due |= Q(**{status: cls.job_pending, "next_attempt_at__isnull": True,
                        f"{cls.job_created_field}__lte": now - stale_after})
        return due

    @classmethod
    def sweep(cls, *, limit: int | None = None, rows: QuerySet | None = None, order_by: Iterable = (),
              enqueue: Callable[[int], bool] | None = None, stale_after: timedelta | None = None,
              now: datetime | None = None) -> int:
        """Re-enqueue up to `limit` sweepable jobs of `rows` (default: all), in `order_by` order (default: oldest
        first); stops at the first enqueue the broker refuses (the next sweep tries again). Returns how many
        were found."""
        now = now or timezone.now()
        stale_after = stale_after if stale_after is not None else cls.job_stale_after()
        rows = cls._default_manager.all() if rows is None else rows
        order = tuple(order_by) or (cls.job_created_field, "pk")
        ids = list(rows.filter(cls.sweepable(now, stale_after)).order_by(*order)
                   .values_list("pk", flat=True)[:limit or cls.job_sweep_limit])
        enqueue = enqueue or cls.enqueue
        for pk in ids:
            if not enqueue(pk):
                break  # broker still down
        return len(ids)

    @classmethod
    def replay(cls, pk: int, *, from_statuses: Iterable[str] | None = None,
               enqueue: Callable[[int], bool] | None = None, **fields: Any) -> bool:
        """Make a finished job (by default: failed) pending and due again and enqueue it once committed; the
        condition is in the UPDATE, so a second replay of the same job (double click, two operators) does
        nothing. False when the job was not in `from_statuses`."""
        statuses = list(from_statuses) if from_statuses is not None else [cls.job_failed]
        values: dict[str, Any] = {cls.job_status_field: cls.job_pending, "next_attempt_at": None,
                                  "lease_until": None}
        if cls.job_finished_field:
            values[cls.job_finished_field] = None
        values.update(fields)
        reset = cls._default_manager.filter(pk=pk, **{f"{cls.job_status_field}__in": statuses}).update(**values)
        if reset:
            enqueue = enqueue or cls.enqueue
            transaction.on_commit(lambda: enqueue(pk))
        return bool(reset)

    # --- what a console shows ---

    def job_state(self, now: datetime | None = None) -> str:
        now = now or timezone.now()
        status = getattr(self, self.job_status_field)
        if status == self.job_pending:
            due = self.next_attempt_at is None or self.next_attempt_at <= now
            return JobState.QUEUED if due else JobState.SCHEDULED
        if status == self.job_running:
            stalled = self.lease_until is not None and self.lease_until < now
            return JobState.STALLED if stalled else JobState.RUNNING
        return JobState.FAILED if status == self.job_failed else JobState.DONE
