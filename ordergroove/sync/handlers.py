"""What the BigCommerce inbox calls per webhook scope (registered in OrdergrooveConfig.ready).

A domain flow: imports bigcommerce_app's registry and models (the store layer below) and this flow's own modules;
bigcommerce_app never imports it back.
"""

from __future__ import annotations

from bigcommerce_app import registry
from bigcommerce_app.models import InboundEvent
from ordergroove.sync import customers, purchase_posts

ORDER_CREATED = "store/order/created"
CUSTOMER_UPDATED = "store/customer/updated"
DEFAULT_INSTRUMENT_UPDATED = "store/customer/payment/instrument/default/updated"


def order_created(event: InboundEvent) -> str:
    return purchase_posts.purchase_post_create(event)


def customer_updated(event: InboundEvent) -> str:
    return customers.contact_details_sync(event)


def default_instrument_updated(event: InboundEvent) -> str:
    return customers.payment_default_sync(event)


def register() -> None:
    """Route the sync's webhook scopes to these handlers (every installed store subscribes to them)."""
    registry.register(ORDER_CREATED, order_created)
    registry.register(CUSTOMER_UPDATED, customer_updated)
    registry.register(DEFAULT_INSTRUMENT_UPDATED, default_instrument_updated)
