"""Celery tasks of this app (thin: each calls a service). Feature modules' tasks are imported here so that
the worker's autodiscovery registers them."""

import logging

from celery import shared_task
from django.db import transaction

from bigcommerce_app import services
from bigcommerce_app.inbox.tasks import inbound_event_process, inbound_events_sweep  # noqa: F401
from bigcommerce_app.models import Store
from bigcommerce_app.storefront_content import storefront_content_reconcile

logger = logging.getLogger(__name__)


@shared_task(name="bigcommerce_app.webhooks_reconcile_all")
def webhooks_reconcile_all() -> int:
    """BigCommerce deactivates hooks after ~48 h of failures or 90 days of inactivity: re-check every
    installed store daily (bigcommerce.md §8.1), not only when a merchant opens the app."""
    count = 0
    for store in Store.objects.filter(status=Store.Status.INSTALLED).iterator():
        services.webhooks_register(store)
        count += 1
    return count


@shared_task(name="bigcommerce_app.storefront_content_reconcile_all")
def storefront_content_reconcile_all() -> int:
    """A merchant may delete our script or page in the control panel: put it back daily (DECISIONS §4.3)."""
    count = 0
    for store in Store.objects.filter(status=Store.Status.INSTALLED).iterator():
        storefront_content_reconcile(store)
        count += 1
    return count


@shared_task(name="bigcommerce_app.storefront_content_reconcile_store", ignore_result=True)
def storefront_content_reconcile_store(store_id: int) -> None:
    """After a change elsewhere that the storefront tag carries (a product CSV import's one-time options)."""
    store = Store.objects.filter(pk=store_id, status=Store.Status.INSTALLED).first()
    if store is not None:
        storefront_content_reconcile(store)


def storefront_content_reconcile_soon(store_id: int) -> None:
    """Queue a reconcile once the caller's transaction commits. Best effort: a broker failure is logged and the
    daily reconcile (or the next load) catches up, so it never fails the change that asked for it."""

    def enqueue() -> None:
        try:
            storefront_content_reconcile_store.delay(store_id)
        except Exception:  # noqa: BLE001 - the broker is down; the daily reconcile repairs it
            logger.warning("Could not queue the storefront reconcile of store %s", store_id, exc_info=True)

    transaction.on_commit(enqueue)


@shared_task(name="bigcommerce_app.inbound_events_prune")
def inbound_events_prune() -> int:
    return services.inbound_events_prune()
