"""The feed schedule: cron fields read in US Central time (DST included), one run per due slot even with two
beat processes, and the staleness alert."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from bigcommerce_app.models import Alert
from feeds.feed import scheduling, services
from feeds.models import FeedRun

CHI = ZoneInfo("America/Chicago")


def chi(*args, fold=0) -> datetime:
    return datetime(*args, tzinfo=CHI, fold=fold)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# (expression, now, expected last slot at or before now, as Chicago wall time) ---------------------------------
LAST_SLOT_TABLE = [
    # Plain daily run at 02:30 Central: in winter (CST, UTC-6) and summer (CDT, UTC-5).
    ("30 2 * * *", chi(2026, 1, 15, 2, 30), chi(2026, 1, 15, 2, 30)),
    ("30 2 * * *", chi(2026, 1, 15, 2, 29), chi(2026, 1, 14, 2, 30)),
    ("30 2 * * *", chi(2026, 7, 15, 3, 0), chi(2026, 7, 15, 2, 30)),
    # Spring forward (2026-03-08 02:00 CST → 03:00 CDT): 02:30 does not exist; it runs once, at 03:00 CDT.
    ("30 2 * * *", chi(2026, 3, 8, 3, 5), chi(2026, 3, 8, 3, 0)),
    ("30 2 * * *", chi(2026, 3, 9, 2, 31), chi(2026, 3, 9, 2, 30)),
    # Fall back (2026-11-01 02:00 CDT → 01:00 CST): 01:30 happens twice; a fixed-hour schedule runs once.
    ("30 1 * * *", chi(2026, 11, 1, 1, 45, fold=0), chi(2026, 11, 1, 1, 30, fold=0)),
    ("30 1 * * *", chi(2026, 11, 1, 1, 45, fold=1), chi(2026, 11, 1, 1, 30, fold=0)),
    # ... while an interval schedule keeps its rhythm through the repeated hour.
    ("*/30 * * * *", chi(2026, 11, 1, 1, 10, fold=1), chi(2026, 11, 1, 1, 0, fold=1)),
    # Weekly (Monday 06:00), monthly (1st at 00:00), yearly (Jan 1st).
    ("0 6 * * 1", chi(2026, 5, 20, 12, 0), chi(2026, 5, 18, 6, 0)),
    ("0 0 1 * *", chi(2026, 5, 20, 12, 0), chi(2026, 5, 1, 0, 0)),
    ("0 0 1 1 *", chi(2026, 5, 20, 12, 0), chi(2026, 1, 1, 0, 0)),
    # Every minute.
    ("* * * * 1-5", chi(2026, 5, 20, 12, 7, 42), chi(2026, 5, 20, 12, 7)),
]


@pytest.mark.parametrize(("expression", "now", "expected"), LAST_SLOT_TABLE)
def test_last_slot_table(expression, now, expected):
    assert scheduling.last_slot(expression, "America/Chicago", now) == expected.astimezone(UTC)


NEXT_SLOT_TABLE = [
    ("30 2 * * *", chi(2026, 3, 7, 12, 0), chi(2026, 3, 8, 3, 0)),  # spring forward
    ("30 1 * * *", chi(2026, 11, 1, 1, 40, fold=0), chi(2026, 11, 2, 1, 30)),  # no second 01:30
    ("0 2 * * *", chi(2026, 10, 31, 12, 0), chi(2026, 11, 1, 2, 0)),  # 02:00 CST exists once
    ("15 14 * * *", chi(2026, 6, 1, 14, 15), chi(2026, 6, 2, 14, 15)),
]


@pytest.mark.parametrize(("expression", "now", "expected"), NEXT_SLOT_TABLE)
def test_next_slot_table(expression, now, expected):
    assert scheduling.next_slot(expression, "America/Chicago", now) == expected.astimezone(UTC)


def test_fall_back_runs_a_daily_schedule_once():
    """Tick every minute through the night of 2026-11-01: a 01:30 schedule becomes due exactly once."""
    now, slots = utc(2026, 11, 1, 5, 0), set()
    while now < utc(2026, 11, 1, 9, 0):
        slot = scheduling.due_slot("30 1 * * *", "America/Chicago", now, grace=timedelta(minutes=15))
        if slot:
            slots.add(slot)
        now += timedelta(minutes=1)
    assert slots == {chi(2026, 11, 1, 1, 30, fold=0).astimezone(UTC)}


def test_spring_forward_runs_a_skipped_time_once():
    now, slots = utc(2026, 3, 8, 6, 0), set()
    while now < utc(2026, 3, 8, 10, 0):
        slot = scheduling.due_slot("30 2 * * *", "America/Chicago", now, grace=timedelta(minutes=15))
        if slot:
            slots.add(slot)
        now += timedelta(minutes=1)
    assert slots == {chi(2026, 3, 8, 3, 0).astimezone(UTC)}


def test_not_scheduled():
    assert scheduling.last_slot("* * * * *", "America/Chicago", utc(2026, 1, 1)) is None
    assert scheduling.next_slot("* * * * *", "America/Chicago", utc(2026, 1, 1)) is None


def test_old_slots_are_not_replayed():
    assert scheduling.due_slot("0 3 * * *", "America/Chicago", chi(2026, 1, 1, 3, 14), grace=timedelta(minutes=15))
    assert scheduling.due_slot("0 3 * * *", "America/Chicago", chi(2026, 1, 1, 3, 16),
                               grace=timedelta(minutes=15)) is None


# --- the tick, with the database ----------------------------------------------------------------------------------

def schedule(feed_settings, minute="30", hour="2", dom="*", month="*", dow="*"):
    feed_settings.cron_minute, feed_settings.cron_hour = minute, hour
    feed_settings.cron_day_of_month, feed_settings.cron_month, feed_settings.cron_day_of_week = dom, month, dow
    feed_settings.save()


@pytest.mark.django_db
def test_tick_creates_one_run_for_a_due_slot(store, feed_settings):
    schedule(feed_settings)
    assert services.feed_schedule_tick(now=chi(2026, 1, 15, 2, 29).astimezone(UTC)) == []
    [run] = services.feed_schedule_tick(now=chi(2026, 1, 15, 2, 30, 5).astimezone(UTC))
    assert run.trigger == "schedule" and run.scheduled_for == chi(2026, 1, 15, 2, 30).astimezone(UTC)
    # Later ticks in the grace window, and after the run finished, do not start the slot again.
    assert services.feed_schedule_tick(now=chi(2026, 1, 15, 2, 31).astimezone(UTC)) == []
    FeedRun.objects.filter(pk=run.pk).update(status="succeeded")
    assert services.feed_schedule_tick(now=chi(2026, 1, 15, 2, 40).astimezone(UTC)) == []
    assert FeedRun.objects.filter(store=store).count() == 1


@pytest.mark.django_db
def test_all_stars_is_not_scheduled(store, feed_settings):
    schedule(feed_settings, "*", "*")
    assert services.feed_schedule_tick(now=utc(2026, 1, 15, 8, 30)) == []


@pytest.mark.django_db
def test_a_slot_waits_for_an_active_manual_run(store, feed_settings):
    schedule(feed_settings)
    manual = services.feed_run_request(store, trigger=FeedRun.Trigger.MANUAL)
    assert services.feed_schedule_tick(now=chi(2026, 1, 15, 2, 30).astimezone(UTC)) == []
    FeedRun.objects.filter(pk=manual.pk).update(status="succeeded")
    [run] = services.feed_schedule_tick(now=chi(2026, 1, 15, 2, 35).astimezone(UTC))
    assert run.trigger == "schedule"


@pytest.mark.django_db(transaction=True)
def test_two_beats_start_a_due_store_once(store, feed_settings):
    """Two beat processes each send the tick; two workers run them at the same moment: one run."""
    schedule(feed_settings)
    now = chi(2026, 1, 15, 2, 30, 1).astimezone(UTC)
    barrier = threading.Barrier(2)
    results: list = []

    def beat():
        try:
            barrier.wait()
            results.append(len(services.feed_schedule_tick(now=now)))
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert FeedRun.objects.filter(store=store, trigger="schedule").count() == 1


@pytest.mark.django_db
def test_staleness_alert_is_raised_and_resolved(store, feed_settings):
    schedule(feed_settings)
    FeedSettingsModel = type(feed_settings)
    FeedSettingsModel.objects.filter(pk=feed_settings.pk).update(updated_at=utc(2026, 1, 1))
    # The 2026-01-14 02:30 run has had its two hours: no good upload → stale.
    now = chi(2026, 1, 14, 5, 0).astimezone(UTC)
    assert services.feed_staleness_check(now=now) == [store]
    alert = Alert.objects.get(store=store, dedupe_key="feed_stale", resolved_at__isnull=True)
    assert "has not reached Ordergroove" in alert.message and "last good upload: never" in alert.message
    FeedRun.objects.create(store=store, trigger="schedule", status="succeeded", finished_at=now)
    assert services.feed_staleness_check(now=now + timedelta(minutes=15)) == []
    assert not Alert.objects.filter(store=store, dedupe_key="feed_stale", resolved_at__isnull=True).exists()
    # A day later, the next slot's upload is missing again (the cron silently stopped).
    assert services.feed_staleness_check(now=now + timedelta(days=1)) == [store]


@pytest.mark.django_db
def test_not_stale_before_the_first_slot_has_had_its_time(store, feed_settings):
    schedule(feed_settings)
    type(feed_settings).objects.filter(pk=feed_settings.pk).update(updated_at=chi(2026, 1, 14, 1, 0))
    assert services.feed_staleness_check(now=chi(2026, 1, 14, 3, 0).astimezone(UTC)) == []
