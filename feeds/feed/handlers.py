"""What the BigCommerce inbox calls for product and SKU webhooks (registered in FeedsConfig.ready): incremental
feed updates. The hooks are subscribed only for stores that turned incremental updates on.

A domain flow: imports bigcommerce_app's registry, inbox and models (the store layer below) and feeds' own
services and models; bigcommerce_app never imports it back.
"""

from __future__ import annotations

from bigcommerce_app import registry
from bigcommerce_app.inbox.services import EventSkipped
from bigcommerce_app.models import InboundEvent
from feeds.feed import services
from feeds.models import FeedSettings

# Catalog changes that alter the feed: products and variants (name, price, SKU, images...), and stock levels
# set by the merchant. The `.../inventory/order/updated` scopes are left out: every order would fire them, and
# the scheduled feed carries order-driven stock changes.
CATALOG_SCOPES = (
    "store/product/created",
    "store/product/updated",
    "store/product/deleted",
    "store/product/inventory/updated",
    "store/sku/created",
    "store/sku/updated",
    "store/sku/deleted",
    "store/sku/inventory/updated",
)


def catalog_changed(event: InboundEvent) -> str:
    if not services.catalog_change_record(event.store):
        raise EventSkipped("incremental feed updates are off for this store")
    return "feed run pending"


def incremental_enabled(store) -> bool:
    return FeedSettings.objects.filter(store=store, incremental_updates_enabled=True).exists()


def register() -> None:
    """Route the catalog scopes here; only stores with incremental updates on subscribe to them."""
    for scope in CATALOG_SCOPES:
        registry.register(scope, catalog_changed, enabled_for=incremental_enabled)
