"""Reads of Ordergroove activity: events and placements per order and per customer, for the console's
activity view (issue 4 links here) and this feature's own page."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from bigcommerce_app.models import OrderPlacement, Store
from middleware.plumbing import charts
from middleware.plumbing.inputs import optional_int
from ordergroove.models import OrdergrooveEvent


def events_recent(store: Store, *, limit: int = 100) -> QuerySet[OrdergrooveEvent]:
    return OrdergrooveEvent.objects.filter(store=store).order_by("-received_at")[:limit]


def events_for_order(store: Store, order: str | int, *, limit: int = 200) -> QuerySet[OrdergrooveEvent]:
    """Events about one order, named by its BigCommerce order id or its Ordergroove id (orderOgId or public
    id): Ordergroove's events carry its public id and, once placed, our order id (`order_merchant_id`)."""
    ref = str(order).strip()
    og_public_ids = set(OrderPlacement.objects.filter(store=store).filter(
        _placement_match(ref)).exclude(og_order_public_id="").values_list("og_order_public_id", flat=True))
    og_public_ids.add(ref)
    condition = Q(og_order_public_id__in=og_public_ids) | Q(public_id=ref, resource="order")
    bc_order_id = optional_int(ref, minimum=1)
    if bc_order_id is not None:
        condition |= Q(bc_order_id=bc_order_id)
    return OrdergrooveEvent.objects.filter(store=store).filter(condition).order_by("-received_at")[:limit]


def events_for_customer(store: Store, merchant_user_id: str | int, *, limit: int = 200
                        ) -> QuerySet[OrdergrooveEvent]:
    """Events about one customer (`merchant_user_id` = BigCommerce customer id)."""
    return OrdergrooveEvent.objects.filter(store=store, merchant_user_id=str(merchant_user_id).strip()).order_by(
        "-received_at")[:limit]


def _placement_match(ref: str) -> Q:
    condition = Q(og_order_id=ref) | Q(og_order_public_id=ref)
    bc_order_id = optional_int(ref, minimum=1)
    if bc_order_id is not None:
        condition |= Q(bc_order_id=bc_order_id)
    return condition


def placements_for_order(store: Store, order: str | int) -> QuerySet[OrderPlacement]:
    return OrderPlacement.objects.filter(store=store).filter(_placement_match(str(order).strip())).order_by(
        "-created_at")


def activity_for(store: Store, *, order: str = "", customer: str = "", limit: int = 100) -> dict:
    """What the console shows: placements and events, optionally narrowed to one order or one customer."""
    placements = OrderPlacement.objects.filter(store=store)
    if order:
        events = events_for_order(store, order, limit=limit)
        placements = placements.filter(_placement_match(order))
    elif customer:
        events = events_for_customer(store, customer, limit=limit)
        placements = placements.filter(merchant_user_id=customer)
    else:
        events = events_recent(store, limit=limit)
    return {"events": list(events), "placements": list(placements.order_by("-created_at")[:limit])}


def placements_chart(store: Store, days: int = 14) -> dict:
    """Recurring orders Ordergroove sent per day (UTC) of the last `days`: placed and failed."""
    return charts.daily_chart(OrderPlacement.objects.filter(store=store), date_field="created_at",
                              group_field="state",
                              series=[(OrderPlacement.State.SUCCEEDED, "orders placed", "success"),
                                      (OrderPlacement.State.FAILED, "orders failed", "danger")],
                              title=f"Recurring orders from Ordergroove per day, last {days} days", days=days)
