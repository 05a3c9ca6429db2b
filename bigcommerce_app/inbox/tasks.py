"""Celery entry points of the inbox: thin, idempotent (the service claims the row before acting)."""

from celery import shared_task

from bigcommerce_app.inbox import services


@shared_task(name="bigcommerce_app.inbound_event_process")
def inbound_event_process(event_id: int) -> str:
    return services.inbound_event_process(event_id)


@shared_task(name="bigcommerce_app.inbound_events_process")
def inbound_events_process(event_ids: list[int]) -> int:
    """A chunk of events from the intake relay, one after the other (each claimed on its own)."""
    return services.inbound_events_process(event_ids)


@shared_task(name="bigcommerce_app.inbound_events_sweep")
def inbound_events_sweep() -> int:
    return services.inbound_events_sweep()
