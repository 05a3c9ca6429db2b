"""Celery tasks of the Ordergroove events feature (thin: each calls a service)."""

from celery import shared_task

from ordergroove.events import services


@shared_task(name="ordergroove.og_event_process")
def og_event_process_task(event_pk: int) -> str:
    return services.og_event_process(event_pk)


@shared_task(name="ordergroove.og_events_sweep")
def og_events_sweep_task() -> int:
    return services.og_events_sweep()
