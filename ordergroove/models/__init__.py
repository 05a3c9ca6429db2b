"""Ordergroove app models, one module per feature; each is imported here so Django sees it."""

from ordergroove.models.deliveries import CustomerSyncState, Delivery, DeliveryAttempt, PurchasePost  # noqa: F401
from ordergroove.models.events import OrdergrooveEvent  # noqa: F401
from ordergroove.models.settings import ENVIRONMENT_PRESETS, OrdergrooveSettings
from ordergroove.models.storefront import StorefrontSettings

__all__ = ["ENVIRONMENT_PRESETS", "OrdergrooveSettings", "StorefrontSettings"]
