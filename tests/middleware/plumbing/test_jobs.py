"""The durable-job mechanism (middleware/plumbing/jobs.py) on a job table of its own, created inside the test's
transaction: claim with a lease, the retry schedule in the row, sweep, replay, enqueue-or-mark-due and the
visible states. Runs on PostgreSQL and on SQLite (TEST_DATABASE=sqlite)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps.registry import Apps
from django.db import connection, models
from django.utils import timezone

from middleware.plumbing import jobs
from middleware.plumbing.jobs import DurableJob, JobState

_apps = Apps()  # the probe model stays out of the project's registry (and its migrations)


class Probe(DurableJob):
    class Status(models.TextChoices):
        WAITING = "waiting"
        WORKING = "working"
        OK = "ok"
        SKIPPED = "skipped"
        BROKEN = "broken"

    status = models.CharField(max_length=16, default=Status.WAITING)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    problem = models.TextField(blank=True, default="")
    note = models.TextField(blank=True, default="")

    job_task = "tests.jobs_probe"
    job_lease_seconds, job_stale_seconds, job_retry_delays = 60, 120, (10, 100)
    job_pending, job_running, job_done, job_failed = Status.WAITING, Status.WORKING, Status.OK, Status.BROKEN
    job_final = (Status.OK, Status.SKIPPED, Status.BROKEN)
    job_finished_field, job_error_field = "ended_at", "problem"

    class Meta:
        apps = _apps
        app_label = "jobs_probe"


@pytest.fixture
def probe(db):
    sql, params = connection.schema_editor().table_sql(Probe)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)  # rolled back with the test's transaction
    return Probe


class Broker:
    def __init__(self) -> None:
        self.sent: list[int] = []
        self.down = False

    def apply_async(self, args, retry=True):
        assert retry is False  # never wait for a broker that is down: the row is safe
        if self.down:
            raise ConnectionError("broker down")
        self.sent.append(args[0])


@pytest.fixture
def broker(monkeypatch):
    fake = Broker()
    monkeypatch.setattr(jobs, "task_named", lambda name: fake if name == "tests.jobs_probe" else None)
    return fake


def _get(job: Probe) -> Probe:
    return Probe.objects.get(pk=job.pk)


def test_a_due_job_is_claimed_once(probe):
    job = Probe.objects.create()
    assert Probe.claim(job.pk, note="claimed")
    assert not Probe.claim(job.pk)  # a duplicate message, a second worker
    job = _get(job)
    assert (job.status, job.attempts, job.note) == ("working", 1, "claimed")
    assert job.lease_until > timezone.now() + timedelta(seconds=55)


def test_a_scheduled_job_is_claimed_only_once_due(probe):
    job = Probe.objects.create(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert not Probe.claim(job.pk)
    assert Probe.claim(job.pk, now=timezone.now() + timedelta(minutes=6))


def test_a_job_whose_lease_expired_is_claimed_again(probe):
    job = Probe.objects.create()
    Probe.claim(job.pk)
    assert not Probe.claim(job.pk, now=timezone.now() + timedelta(seconds=30))  # its worker is alive
    assert Probe.claim(job.pk, now=timezone.now() + timedelta(seconds=61))  # its worker died
    assert _get(job).attempts == 2


def test_retries_follow_the_schedule_in_the_row_then_the_job_fails(probe):
    job = Probe.objects.create()
    statuses = []
    for failures in (1, 2, 3):
        Probe.objects.filter(pk=job.pk).update(next_attempt_at=None)
        assert Probe.claim(job.pk)
        statuses.append(Probe.retry_or_fail(job.pk, failures=failures, error=f"timeout {failures}"))
        if failures == 1:
            waited = _get(job).next_attempt_at - timezone.now()
            assert timedelta(seconds=8) < waited <= timedelta(seconds=10)
    assert statuses == ["waiting", "waiting", "broken"]
    job = _get(job)
    assert (job.status, job.attempts, job.problem) == ("broken", 3, "timeout 3")
    assert job.ended_at is not None and job.lease_until is None and job.next_attempt_at is None


def test_a_retry_waits_at_least_what_the_vendor_asked(probe):
    job = Probe.objects.create()
    Probe.claim(job.pk)
    Probe.retry_or_fail(job.pk, failures=1, at_least=300)
    assert _get(job).next_attempt_at > timezone.now() + timedelta(seconds=290)


def test_an_outcome_releases_the_lease_and_sets_the_finished_field_of_final_statuses(probe):
    job = Probe.objects.create()
    Probe.claim(job.pk)
    Probe.succeed(job.pk, note="all good")
    job = _get(job)
    assert (job.status, job.note, job.lease_until) == ("ok", "all good", None)
    assert job.ended_at is not None
    Probe.finish(job.pk, Probe.Status.WAITING, error="x" * 5000)
    job = _get(job)
    assert job.ended_at is None and len(job.problem) == 2000


def test_a_claim_that_was_no_attempt_is_undone(probe):
    job = Probe.objects.create()
    Probe.claim(job.pk)
    later = timezone.now() + timedelta(seconds=5)
    assert Probe.unclaim(job.pk, next_attempt_at=later)
    job = _get(job)
    assert (job.status, job.attempts, job.lease_until, job.next_attempt_at) == ("waiting", 0, None, later)
    assert not Probe.unclaim(job.pk)  # not running any more


def test_a_heartbeat_extends_the_lease_of_a_running_job_only(probe):
    job = Probe.objects.create()
    assert not Probe.extend_lease(job.pk)
    Probe.claim(job.pk)
    assert Probe.extend_lease(job.pk, now=timezone.now() + timedelta(minutes=10))
    assert _get(job).lease_until > timezone.now() + timedelta(minutes=10)


def test_a_job_created_claimed_is_running_its_first_attempt(probe):
    job = Probe.objects.create(**Probe.claimed_fields())
    assert (job.status, job.attempts) == ("working", 1)
    assert not Probe.claim(job.pk)


def test_the_sweep_re_enqueues_due_stale_and_abandoned_jobs_only(probe, broker):
    now = timezone.now()
    fresh = Probe.objects.create()
    stale = Probe.objects.create(created_at=now - timedelta(minutes=5))
    due = Probe.objects.create(next_attempt_at=now - timedelta(seconds=1))
    later = Probe.objects.create(next_attempt_at=now + timedelta(hours=1))
    abandoned = Probe.objects.create(status="working", lease_until=now - timedelta(seconds=1))
    running = Probe.objects.create(status="working", lease_until=now + timedelta(minutes=3))
    done = Probe.objects.create(status="ok", created_at=now - timedelta(hours=1))

    assert Probe.sweep() == 3

    assert sorted(broker.sent) == sorted([stale.pk, due.pk, abandoned.pk])
    assert not {fresh.pk, later.pk, running.pk, done.pk} & set(broker.sent)


def test_the_sweep_takes_the_callers_rows_order_limit_and_enqueue(probe):
    old = timezone.now() - timedelta(hours=1)
    first, _, third = (Probe.objects.create(next_attempt_at=old, note=note) for note in "abc")
    enqueued: list[int] = []
    found = Probe.sweep(rows=Probe.objects.exclude(note="b"), order_by=["-pk"], limit=5,
                        enqueue=lambda pk: enqueued.append(pk) or True)
    assert found == 2 and enqueued == [third.pk, first.pk]
    assert Probe.sweep(limit=1, enqueue=lambda pk: enqueued.append(pk) or True) == 1
    assert enqueued[2:] == [first.pk]  # by default the oldest first


def test_the_sweep_stops_at_the_first_refusal_of_the_broker(probe, broker):
    old = timezone.now() - timedelta(hours=1)
    for _ in range(3):
        Probe.objects.create(next_attempt_at=old)
    broker.down = True
    assert Probe.sweep() == 3  # found three, stopped after the first refusal
    assert broker.sent == []


def test_enqueue_hands_the_id_to_the_task(probe, broker):
    job = Probe.objects.create()
    assert Probe.enqueue(job.pk)
    assert broker.sent == [job.pk] and _get(job).next_attempt_at is None


def test_a_refused_enqueue_marks_a_waiting_job_due_and_leaves_others_alone(probe, broker):
    waiting = Probe.objects.create()
    scheduled_at = timezone.now() + timedelta(hours=1)
    scheduled = Probe.objects.create(next_attempt_at=scheduled_at)
    running = Probe.objects.create(status="working")
    broker.down = True
    assert not any([Probe.enqueue(waiting.pk), Probe.enqueue(scheduled.pk), Probe.enqueue(running.pk)])
    assert _get(waiting).next_attempt_at is not None
    assert _get(scheduled).next_attempt_at == scheduled_at
    assert _get(running).next_attempt_at is None
    assert Probe.sweep() == 1  # the waiting job is due: the next sweep hands it over


def test_enqueue_on_commit_waits_for_the_commit(probe, broker, django_capture_on_commit_callbacks):
    job = Probe.objects.create()
    with django_capture_on_commit_callbacks(execute=True):
        Probe.enqueue_on_commit(job.pk)
        assert broker.sent == []
    assert broker.sent == [job.pk]


def test_enqueue_or_mark_due_for_a_table_of_its_own(probe):
    job = Probe.objects.create()
    broker = Broker()
    assert jobs.enqueue_or_mark_due(broker, job.pk, pending=Probe.objects.filter(pk=job.pk), what="probe")
    broker.down = True
    assert not jobs.enqueue_or_mark_due(broker, job.pk, pending=Probe.objects.filter(pk=job.pk), what="probe")
    assert broker.sent == [job.pk] and _get(job).next_attempt_at is not None


def test_replay_makes_a_failed_job_due_again_once(probe, broker, django_capture_on_commit_callbacks):
    job = Probe.objects.create(status="broken", ended_at=timezone.now(), attempts=3,
                               next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert Probe.replay(job.pk, note="replayed")
        assert not Probe.replay(job.pk)  # a double click
    job = _get(job)
    assert (job.status, job.ended_at, job.next_attempt_at, job.note) == ("waiting", None, None, "replayed")
    assert broker.sent == [job.pk]


def test_replay_leaves_pending_and_running_jobs_alone(probe, broker, django_capture_on_commit_callbacks):
    running = Probe.objects.create(status="working", lease_until=timezone.now() + timedelta(minutes=1))
    skipped = Probe.objects.create(status="skipped")
    with django_capture_on_commit_callbacks(execute=True):
        assert not Probe.replay(running.pk, from_statuses=Probe.job_final)
        assert not Probe.replay(skipped.pk)  # only failed ones by default
        assert Probe.replay(skipped.pk, from_statuses=Probe.job_final)
    assert _get(running).lease_until is not None
    assert broker.sent == [skipped.pk]


def test_the_visible_states(probe):
    now = timezone.now()
    states = [Probe(status="waiting").job_state(now),
              Probe(status="waiting", next_attempt_at=now + timedelta(seconds=1)).job_state(now),
              Probe(status="working", lease_until=now + timedelta(seconds=1)).job_state(now),
              Probe(status="working", lease_until=now - timedelta(seconds=1)).job_state(now),
              Probe(status="ok").job_state(now), Probe(status="skipped").job_state(now),
              Probe(status="broken").job_state(now)]
    assert states == [JobState.QUEUED, JobState.SCHEDULED, JobState.RUNNING, JobState.STALLED, JobState.DONE,
                      JobState.DONE, JobState.FAILED]


def test_the_retry_delay_of_each_failure():
    assert [Probe.retry_delay(n) for n in (0, 1, 2, 3)] == [None, 10, 100, None]
    assert Probe.retry_delay(1, (5,)) == 5


RACE_SCRIPT = """
import threading
import django
django.setup()
from middleware.plumbing.jobs import task_named
names = ["ordergroove.og_event_process", "feeds.feed_run_execute", "ordergroove.delivery_send",
         "feeds.product_export_run"]
barrier = threading.Barrier(16)
errors = []
def enqueue(i):
    barrier.wait()
    try:
        task_named(names[i % len(names)])
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=enqueue, args=(i,)) for i in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(errors), errors[:1])
"""


def test_threads_of_a_fresh_web_process_enqueueing_at_once_all_find_their_tasks():
    """A web process imports the tasks modules on its first enqueue by name: sixteen threads doing that at the same
    moment must all find their task (the soak once got NotRegistered, a 500, from the second thread)."""
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "middleware.settings.test", "PYTHONPATH": str(root)}
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", RACE_SCRIPT], cwd=root, env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.stdout.strip().splitlines()[-1:] == ["0 []"], result.stdout[-2000:] + result.stderr[-2000:]
