"""Reads about recurring-order placements (console, the order-created webhook handler)."""

from __future__ import annotations

from django.db.models import QuerySet

from bigcommerce_app.models import OrderPlacement, Store
from ordergroove.constants import RECURRING_ORDER_EXTERNAL_SOURCE


def placement_for_bc_order(store: Store, bc_order_id: int) -> OrderPlacement | None:
    return OrderPlacement.objects.filter(store=store, bc_order_id=int(bc_order_id)).first()


def is_recurring_order(store: Store, bc_order_id: int, bc_order: dict | None = None) -> bool:
    """True for the orders this service placed for Ordergroove: their store/order/created webhook must never
    produce a purchase post. Checks the order's `external_source` when the caller has the order, and the
    placement table (which knows the id before BigCommerce's webhook can arrive, and after a cancelled
    attempt whose order was replaced)."""
    if bc_order and bc_order.get("external_source") == RECURRING_ORDER_EXTERNAL_SOURCE:
        return True
    if OrderPlacement.objects.filter(store=store, bc_order_id=int(bc_order_id)).exists():
        return True
    # Earlier attempts of a retried placement keep their (cancelled) order ids in the history. Checked in Python:
    # JSON containment is not available on SQLite, and only retried placements can match.
    for detail in OrderPlacement.objects.filter(store=store, attempts__gt=1).values_list("detail", flat=True):
        if any(a.get("bc_order_id") == int(bc_order_id) for a in (detail or {}).get("attempts") or []):
            return True
    return False


def placements_recent(store: Store, *, limit: int = 50) -> QuerySet[OrderPlacement]:
    return OrderPlacement.objects.filter(store=store).order_by("-created_at")[:limit]


def placements_for_customer(store: Store, merchant_user_id: str, *, limit: int = 50) -> QuerySet[OrderPlacement]:
    return OrderPlacement.objects.filter(store=store, merchant_user_id=str(merchant_user_id)).order_by(
        "-created_at")[:limit]
