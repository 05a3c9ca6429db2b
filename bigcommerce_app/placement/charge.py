"""Charging a placement's order: the stored card through BigCommerce's Payments API (bigcommerce.md §4.6,
`is_recurring: true`), with the Payments API's error codes answered as Ordergroove placement codes. An ambiguous
charge (timeout, 5xx, duplicate) is settled by re-reading the order, never by charging again."""

from __future__ import annotations

import json
import time

from django.conf import settings

from bigcommerce_app.client import BigCommerceClient, BigCommerceError
from bigcommerce_app.models import OrderPlacement
from bigcommerce_app.placement import order_xml
from bigcommerce_app.placement.failures import PlacementFailure, failure_from_bc
from bigcommerce_app.placement.order_status import STATUS_INCOMPLETE, UNPAID_STATUSES, order_status
from bigcommerce_app.placement.order_xml import PlacementOrder

# Payments API error codes (bigcommerce.md §4.6) → Ordergroove placement codes (DECISIONS §3.10).
PAYMENT_CODE_MAP = {
    30103: order_xml.CODE_CARD_EXPIRED,           # expired card
    30104: order_xml.CODE_DECLINED_DO_NOT_RETRY,  # "contact your card issuer": a hard decline
    30106: order_xml.CODE_DECLINED,               # insufficient funds
    30102: order_xml.CODE_DECLINED,               # card details could not be verified
    30051: order_xml.CODE_NO_CARD_ON_FILE,        # stored instrument not found / not the shopper's
    30107: order_xml.CODE_PAYPAL,                 # stored PayPal authorization revoked
    10000: order_xml.CODE_RETRY_LATER,            # "try again"
    30000: order_xml.CODE_RETRY_LATER,            # gateway not configured (merchant can fix; alerted)
    30001: order_xml.CODE_RETRY_LATER,            # gateway misconfigured
    30002: order_xml.CODE_RETRY_LATER,            # vaulting unavailable
    30105: order_xml.CODE_RETRY_LATER,            # duplicate transaction (settled by re-reading the order)
    30003: order_xml.CODE_PLACEMENT_FAILED,
    30004: order_xml.CODE_PLACEMENT_FAILED,
    30100: order_xml.CODE_PLACEMENT_FAILED,
    30101: order_xml.CODE_PLACEMENT_FAILED,
}
MERCHANT_CONFIG_PAYMENT_CODES = {30000, 30001, 30002}


def placement_charge(client: BigCommerceClient, order: PlacementOrder, row: OrderPlacement, bc_order_id: int) -> None:
    """Charge the stored card through the Payments API (bigcommerce.md §4.6) unless a previous attempt did."""
    current = order_status(client, bc_order_id) if row.attempts > 1 else STATUS_INCOMPLETE
    if current is not None and current not in UNPAID_STATUSES:
        return  # paid by the interrupted attempt
    try:
        methods = client.payment_methods(bc_order_id)
    except BigCommerceError as exc:
        raise failure_from_bc(exc, "list payment methods") from exc
    method = next((m for m in methods if any(i.get("token") == order.token_id
                                             for i in m.get("stored_instruments") or [])), None)
    if method is None:
        raise PlacementFailure(order_xml.CODE_NO_CARD_ON_FILE,
                               "No BigCommerce payment method can charge the stored card Ordergroove holds (no "
                               "card on file for this gateway).")
    instrument = next(i for i in method["stored_instruments"] if i.get("token") == order.token_id)
    try:
        pat = client.payment_access_token(bc_order_id, is_recurring=True)
    except BigCommerceError as exc:
        raise failure_from_bc(exc, "create a payment access token") from exc
    if not pat:
        raise PlacementFailure(order_xml.CODE_RETRY_LATER, "BigCommerce returned no payment access token.")
    payment = {"instrument": {"type": instrument.get("type") or "stored_card", "token": order.token_id},
               "payment_method_id": method["id"]}
    try:
        result = client.payment_process(pat, payment)
    except BigCommerceError as exc:
        failure = _payment_failure(exc)
        if failure.code == order_xml.CODE_RETRY_LATER and _settled_as_paid(client, bc_order_id, exc):
            return
        raise failure from exc
    row.detail = {**(row.detail or {}), "payment": {
        "id": ((result or {}).get("data") or {}).get("id", ""), "status": ((result or {}).get("data") or {}).get(
            "status", ""), "method": method["id"]}}
    row.bc_order_status = "paid"
    row.save(update_fields=["detail", "bc_order_status", "updated_at"])


def _settled_as_paid(client: BigCommerceClient, bc_order_id: int, exc: BigCommerceError) -> bool:
    """No clear answer from the payments host (timeout, 5xx, duplicate): BigCommerce's order status says whether
    the charge went through. A charge whose answer was lost may still be finishing, so an unanswered call is
    given ORDERGROOVE_PLACEMENT_PAYMENT_SETTLE_SECONDS before the order is treated as unpaid (and cancelled)."""
    budget = float(getattr(settings, "ORDERGROOVE_PLACEMENT_PAYMENT_SETTLE_SECONDS", 10)) if exc.status is None else 0.0
    deadline = time.monotonic() + budget
    delay = 0.25
    while True:
        status = order_status(client, bc_order_id)
        if status is not None and status not in UNPAID_STATUSES:
            return True
        if time.monotonic() + delay > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def _payment_error_code(exc: BigCommerceError) -> int | None:
    try:
        data = json.loads(exc.body or "null")
    except ValueError:
        return None
    candidates = []
    if isinstance(data, dict):
        candidates.append(data.get("code"))
        for error in data.get("errors") or [] if isinstance(data.get("errors"), list) else []:
            if isinstance(error, dict):
                candidates.append(error.get("code"))
    for candidate in candidates:
        try:
            return int(candidate)
        except (TypeError, ValueError):
            continue
    return None


def _payment_failure(exc: BigCommerceError) -> PlacementFailure:
    code = _payment_error_code(exc)
    message = exc.message or str(exc)
    if code in PAYMENT_CODE_MAP:
        return PlacementFailure(PAYMENT_CODE_MAP[code], f"Payment failed: {message}",
                                alert=code in MERCHANT_CONFIG_PAYMENT_CODES)
    if exc.transient:
        return PlacementFailure(order_xml.CODE_RETRY_LATER, f"Payment could not be completed: {message}")
    lowered = message.lower()
    if "expired" in lowered:
        return PlacementFailure(order_xml.CODE_CARD_EXPIRED, f"Payment failed: {message}")
    if "do not retry" in lowered or "do not honor" in lowered:
        return PlacementFailure(order_xml.CODE_DECLINED_DO_NOT_RETRY, f"Payment failed: {message}")
    return PlacementFailure(order_xml.CODE_DECLINED, f"Payment failed: {message}")
