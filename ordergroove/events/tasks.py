"""Celery tasks of the Ordergroove events feature (thin: each calls a service)."""

from celery import shared_task


@shared_task(name="ordergroove.og_event_process")
def og_event_process_task(event_pk: int) -> None:
    from ordergroove.events.services import og_event_process

    og_event_process(event_pk)


@shared_task(name="ordergroove.og_events_sweep")
def og_events_sweep_task() -> int:
    from ordergroove.events.services import og_events_sweep

    return og_events_sweep()
