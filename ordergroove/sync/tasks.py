"""Celery entry points of the sync: thin and idempotent (the service claims the delivery before calling)."""

from celery import shared_task

from ordergroove.sync import services


@shared_task(name="ordergroove.delivery_send")
def delivery_send(delivery_id: int) -> str:
    return services.delivery_attempt(delivery_id)


@shared_task(name="ordergroove.deliveries_due_enqueue")
def deliveries_due_enqueue() -> int:
    return services.deliveries_due_enqueue()
