"""Celery entry points of the product feed (thin: each calls a service)."""

from __future__ import annotations

from celery import shared_task

from feeds.feed import services

# A 100k-variant catalog takes minutes (BigCommerce pages + upload): far beyond the default 120 s soft limit.
RUN_SOFT_TIME_LIMIT = 3600
RUN_TIME_LIMIT = 3660


@shared_task(name="feeds.feed_run_execute", acks_late=True, soft_time_limit=RUN_SOFT_TIME_LIMIT,
             time_limit=RUN_TIME_LIMIT)
def feed_run_execute(run_id: int) -> str:
    return services.feed_run_execute(run_id).status


@shared_task(name="feeds.feed_schedule_tick", acks_late=True)
def feed_schedule_tick() -> int:
    runs = services.feed_schedule_tick() + services.feed_incremental_tick()
    for run in runs:
        services.feed_run_enqueue(run)
    services.feed_runs_sweep()
    return len(runs)


@shared_task(name="feeds.feed_staleness_check", acks_late=True)
def feed_staleness_check() -> int:
    return len(services.feed_staleness_check())
