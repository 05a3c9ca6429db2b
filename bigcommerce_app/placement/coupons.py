"""After a placement: the per-order coupons Ordergroove sent as incentives are deleted ("delete coupons after use",
seed 002, DECISIONS §3.11)."""

from __future__ import annotations

from bigcommerce_app.client import BigCommerceClient, BigCommerceError
from bigcommerce_app.models import OrderPlacement, Store
from bigcommerce_app.placement.order_xml import PlacementOrder
from bigcommerce_app.services import alert_raise
from ordergroove.models import OrdergrooveSettings


def placement_coupons_cleanup(client: BigCommerceClient, store: Store, og_settings: OrdergrooveSettings,
                              order: PlacementOrder, row: OrderPlacement) -> None:
    """"Delete coupons after use" (seed 002, DECISIONS §3.11): the per-order coupon codes Ordergroove sent as
    order incentives are single-use, so they are deleted once the order is placed. The console's free-shipping
    coupon serves every recurring order and is never deleted. A failure here never fails the placement."""
    if not og_settings.delete_coupons_after_use:
        return
    keep = {og_settings.free_shipping_coupon.strip().lower()} if og_settings.free_shipping_coupon else set()
    deleted = []
    for code in dict.fromkeys(order.order_incentive_codes):
        if code.strip().lower() in keep:
            continue
        try:
            for coupon in client.coupons_find(code=code):
                if str(coupon.get("code", "")).lower() == code.lower():
                    client.coupon_delete(int(coupon["id"]))
                    deleted.append(code)
        except BigCommerceError as exc:
            alert_raise(store, "coupon_delete_failed",
                        f"Coupon {code} used by Ordergroove order {order.og_order_id} could not be deleted: "
                        f"{exc.message}", severity="warning", dedupe_key=f"coupon_delete_failed:{code}")
    if deleted:
        row.detail = {**(row.detail or {}), "coupons_deleted": deleted}
        row.save(update_fields=["detail", "updated_at"])
