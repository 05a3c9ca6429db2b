"""Celery tasks of this app (thin: each calls a service). Feature modules' tasks are imported here so that
the worker's autodiscovery registers them."""

from ordergroove.events.tasks import og_event_process_task, og_events_sweep_task  # noqa: E402,F401
from ordergroove.sync.tasks import deliveries_due_enqueue, delivery_send  # noqa: E402,F401
