"""Step 5 of a placement, and its undoing: the BigCommerce order of a placement, created once (a timed-out creation
is looked up by `external_order_id`, an interrupted attempt's order is taken over), and cancelled when it could
not be charged so nothing half-paid stays behind."""

from __future__ import annotations

import logging

from bigcommerce_app.client import BigCommerceClient, BigCommerceError
from bigcommerce_app.models import OrderPlacement, Store
from bigcommerce_app.placement import order_xml
from bigcommerce_app.placement.customer import placement_customer_and_instrument
from bigcommerce_app.placement.failures import PlacementFailure, failure_from_bc
from bigcommerce_app.placement.order_body import placement_order_body
from bigcommerce_app.placement.order_status import STATUS_CANCELLED, STATUS_DECLINED, UNPAID_STATUSES, order_status
from bigcommerce_app.placement.order_xml import PlacementOrder
from bigcommerce_app.services import alert_raise
from ordergroove.constants import RECURRING_ORDER_EXTERNAL_SOURCE
from ordergroove.models import OrdergrooveSettings

logger = logging.getLogger(__name__)


def placement_order_ensure(client: BigCommerceClient, store: Store, og_settings: OrdergrooveSettings,
                           order: PlacementOrder, row: OrderPlacement) -> int:
    """The BigCommerce order of this placement: the one a previous, interrupted attempt created, or a new one."""
    existing = _order_of_interrupted_attempt(client, order, row)
    if existing is not None:
        return existing
    customer, instrument = placement_customer_and_instrument(client, order)
    body = placement_order_body(client, og_settings, order, customer, instrument, row)
    try:
        created = client.order_create(body)
    except BigCommerceError as exc:
        if exc.status is None or exc.status >= 500:
            # The order may exist even though the answer was lost: look before answering.
            found = _order_by_external_id(client, order)
            if found is not None:
                return _remember_order(row, found)
        raise _order_create_failure(exc) from exc
    if not created.get("id"):
        raise PlacementFailure(order_xml.CODE_RETRY_LATER, "BigCommerce created no order id.")
    return _remember_order(row, created)


def _remember_order(row: OrderPlacement, bc_order: dict) -> int:
    row.bc_order_id = int(bc_order["id"])
    row.bc_order_status = str(bc_order.get("status") or "")
    row.save(update_fields=["bc_order_id", "bc_order_status", "total", "free_shipping", "coupon_codes", "detail",
                            "updated_at"])
    return row.bc_order_id


def _order_by_external_id(client: BigCommerceClient, order: PlacementOrder) -> dict | None:
    try:
        rows = client.orders_find(external_order_id=order.og_order_id)
    except BigCommerceError:
        return None
    ours = [o for o in rows if o.get("external_source") == RECURRING_ORDER_EXTERNAL_SOURCE
            and int(o.get("status_id", -1)) not in (STATUS_CANCELLED, STATUS_DECLINED)]
    return ours[-1] if ours else None


def _order_of_interrupted_attempt(client: BigCommerceClient, order: PlacementOrder, row: OrderPlacement) -> int | None:
    """After a crash mid-placement (lease taken over) the order may already exist, even be paid."""
    if row.attempts <= 1 and not row.bc_order_id:
        return None
    bc_order = None
    if row.bc_order_id:
        try:
            bc_order = client.order(row.bc_order_id)
        except BigCommerceError:
            bc_order = None
    if not bc_order:
        bc_order = _order_by_external_id(client, order)
    if not bc_order or int(bc_order.get("status_id", -1)) in (STATUS_CANCELLED, STATUS_DECLINED):
        row.bc_order_id = None
        return None
    return _remember_order(row, bc_order)


def _order_create_failure(exc: BigCommerceError) -> PlacementFailure:
    text = (exc.message or "").lower()
    if exc.transient or exc.status == 401:
        return failure_from_bc(exc, "create the order")
    if "stock" in text or "inventory" in text:
        # Ordergroove: 999 "should be used for temporary errors (ie temporary stock issues)".
        return PlacementFailure(order_xml.CODE_RETRY_LATER, f"BigCommerce refused the order: {exc.message}")
    if "address" in text or any(f in text for f in ("street_1", "zip", "country", "city", "state")):
        return PlacementFailure(order_xml.CODE_INVALID_ADDRESS, f"BigCommerce refused the address: {exc.message}")
    return PlacementFailure(order_xml.CODE_PLACEMENT_FAILED, f"BigCommerce refused the order: {exc.message}")


def placement_order_void(client: BigCommerceClient, row: OrderPlacement, reason: str) -> str:
    """Cancel the unpaid BigCommerce order so nothing half-paid is left; returns the sentence for the answer."""
    bc_order_id = row.bc_order_id
    status = order_status(client, bc_order_id)
    if status is not None and status not in UNPAID_STATUSES:
        return f"BigCommerce order #{bc_order_id} is paid and was kept."
    note = (f"{(row.detail or {}).get('staff_notes', '')} Not charged: {reason[:300]} Cancelled by the "
            "Ordergroove middleware.").strip()
    try:
        client.order_update(bc_order_id, {"status_id": STATUS_CANCELLED, "staff_notes": note})
    except BigCommerceError as exc:
        logger.error("Cancelling unpaid BigCommerce order %s failed: %s", bc_order_id, exc)
        alert_raise(row.store, "order_placement_unpaid_order",
                    f"BigCommerce order #{bc_order_id} (Ordergroove order {row.og_order_id}) was not charged and "
                    f"could not be cancelled: {exc.message}. Cancel it in the control panel.",
                    dedupe_key=f"order_placement_unpaid_order:{bc_order_id}")
        row.bc_order_status = "unpaid"
        row.save(update_fields=["bc_order_status", "updated_at"])
        return f"BigCommerce order #{bc_order_id} was not charged and is left Incomplete (cancelling it failed)."
    row.bc_order_status = "cancelled"
    row.save(update_fields=["bc_order_status", "updated_at"])
    return f"BigCommerce order #{bc_order_id} was not charged and has been cancelled."
