"""Feed runs are durable jobs (middleware.plumbing.jobs): a run the broker refused is marked due and sent by
beat's tick; a run whose worker died (lease expired) is sent again and taken over."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from feeds.feed import services, tasks
from feeds.models import FeedRun
from tests.fakes import broker as fake_broker

pytestmark = pytest.mark.django_db

TASK = "feeds.feed_run_execute"


@pytest.fixture
def broker(monkeypatch):
    return fake_broker.install(monkeypatch)


def _requested(store, broker, django_capture_on_commit_callbacks) -> FeedRun:
    with django_capture_on_commit_callbacks(execute=True):
        run = services.feed_run_request(store, trigger=FeedRun.Trigger.MANUAL)
        services.feed_run_enqueue(run)
    run.refresh_from_db()
    return run


def test_a_run_the_broker_refused_is_sent_by_the_next_tick(store, feed_settings, broker,
                                                           django_capture_on_commit_callbacks):
    broker.down = True
    run = _requested(store, broker, django_capture_on_commit_callbacks)
    assert run.status == FeedRun.Status.QUEUED and run.next_attempt_at is not None  # marked due
    broker.down = False
    tasks.feed_schedule_tick()
    assert broker.ids(TASK) == [run.pk]


def test_a_run_whose_worker_died_is_sent_again_and_taken_over(store, feed_settings, broker,
                                                              django_capture_on_commit_callbacks):
    run = _requested(store, broker, django_capture_on_commit_callbacks)
    now = timezone.now()
    assert FeedRun.claim(run.pk, now=now, started_at=now, heartbeat_at=now)
    tasks.feed_schedule_tick()
    assert broker.ids(TASK) == [run.pk]  # only its first message: its worker is alive

    later = now + FeedRun.job_lease() + timedelta(seconds=1)
    assert services.feed_runs_sweep(now=later) == 1
    assert broker.ids(TASK) == [run.pk, run.pk]
    assert FeedRun.claim(run.pk, now=later)  # the new worker takes it over
    assert FeedRun.objects.get(pk=run.pk).attempts == 2


def test_a_queued_run_too_old_to_run_is_left_to_expire(store, feed_settings, broker,
                                                       django_capture_on_commit_callbacks):
    run = _requested(store, broker, django_capture_on_commit_callbacks)
    assert services.feed_runs_sweep(now=timezone.now() + services.RUN_QUEUE_TIMEOUT + timedelta(seconds=1)) == 0
    assert services.feed_runs_expire(store, now=timezone.now() + services.RUN_QUEUE_TIMEOUT + timedelta(seconds=1))
    run.refresh_from_db()
    assert run.status == FeedRun.Status.FAILED and "No worker picked this run up" in run.error
