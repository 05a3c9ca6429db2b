"""BigCommerce order statuses a placement cares about (bigcommerce.md §4.2), and reading one order's status."""

from __future__ import annotations

from bigcommerce_app.client import BigCommerceClient, BigCommerceError

STATUS_INCOMPLETE = 0
STATUS_CANCELLED = 5
STATUS_DECLINED = 6
UNPAID_STATUSES = {STATUS_INCOMPLETE, STATUS_CANCELLED, STATUS_DECLINED}


def order_status(client: BigCommerceClient, bc_order_id: int) -> int | None:
    try:
        return int((client.order(bc_order_id) or {}).get("status_id"))
    except (BigCommerceError, TypeError, ValueError):
        return None
