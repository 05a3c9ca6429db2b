"""Recurring-order placement: Ordergroove posts one order XML, we create and charge it in BigCommerce
(DECISIONS §3.10, §3.11; ordergroove.md §8; bigcommerce.md §4.2, §4.5–§4.7).

Flow of one request:
1. authenticate the JSON `Authorization` header (merchant public id → store, HMAC over `sig_field|ts`, 2 h);
2. parse the XML safely and check that the signed `sig_field` is the order's `customerPartnerId`;
3. claim the placement row for (store, orderOgId) — the idempotency key — or replay/await the first answer;
4. check the customer and the stored card before anything is created (no order for a card that cannot pay);
5. `POST /v2/orders` with `status_id: 0`, remember the order id, then charge the stored card through the
   Payments API (`is_recurring: true`);
6. on a failed charge cancel the order (nothing half-paid stays behind) and answer the Ordergroove code with
   BigCommerce's own message.

Non-idempotent BigCommerce writes are never blindly repeated: a timed-out order creation is looked up by
`external_order_id` before anything else happens, and an ambiguous charge is settled by re-reading the order.

This module holds steps 1–3 and the outcome (the answer and the placement row); steps 4–6 are in `customer`,
`order_body`, `orders` and `charge`, the coupons' clean-up in `coupons`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from bigcommerce_app.client import client_for_store
from bigcommerce_app.models import OrderPlacement, Store
from bigcommerce_app.placement import order_xml
from bigcommerce_app.placement.charge import placement_charge
from bigcommerce_app.placement.coupons import placement_coupons_cleanup
from bigcommerce_app.placement.failures import PlacementFailure
from bigcommerce_app.placement.order_xml import PlacementOrder, PlacementXMLError
from bigcommerce_app.placement.orders import placement_order_ensure, placement_order_void
from bigcommerce_app.services import alert_raise
from ordergroove import signatures
from ordergroove.store_settings.selectors import og_settings_for_merchant, og_settings_get

logger = logging.getLogger(__name__)


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_body_bytes() -> int:
    return int(_setting("ORDERGROOVE_PLACEMENT_MAX_BODY_BYTES", 1024 * 1024))


@dataclass
class PlacementAnswer:
    body: bytes
    status: int = 200
    placement: OrderPlacement | None = None
    replayed: bool = False


def error_answer(code: str, message: str, status: int) -> PlacementAnswer:
    return PlacementAnswer(order_xml.answer_error(code, message), status)


# --- 1. Authentication ----------------------------------------------------------------------------------------

def placement_authenticate(authorization: str | None) -> tuple[Store, signatures.Authorization]:
    """The store whose hash key verifies the header. Raises SignatureError."""
    auth = signatures.authorization_header_parse(authorization)
    candidates = og_settings_for_merchant(auth.public_id)
    if not candidates:
        raise signatures.SignatureError("Unknown merchant: no store is configured with this public id.",
                                        reason="unknown_merchant")
    last_error: signatures.SignatureError | None = None
    for og_settings in candidates:  # several stores may share one Ordergroove merchant (staging + production)
        try:
            verified = signatures.authorization_header_verify(authorization, og_settings.hash_key,
                                                              expected_public_id=auth.public_id)
        except signatures.SignatureError as exc:
            last_error = exc
            continue
        return og_settings.store, verified
    assert last_error is not None
    raise last_error


# --- Entry point ---------------------------------------------------------------------------------------------

def placement_receive(*, body: bytes, authorization: str | None) -> PlacementAnswer:
    """Everything after the transport checks (method, content type, size) done by the view."""
    try:
        store, auth = placement_authenticate(authorization)
    except signatures.SignatureError as exc:
        logger.info("Order placement refused (%s): %s", exc.reason, exc)
        return error_answer(order_xml.CODE_FORBIDDEN, str(exc), 403)
    try:
        order = order_xml.parse_order(body)
    except PlacementXMLError as exc:
        logger.info("Order placement for store %s refused: %s", store.store_hash, exc)
        return error_answer(order_xml.CODE_PLACEMENT_FAILED, str(exc), 400)
    if auth.sig_field != order.customer_partner_id:
        logger.info("Order placement for store %s: signed customer is not customerPartnerId", store.store_hash)
        return error_answer(order_xml.CODE_FORBIDDEN,
                            "Signature could not be verified to perform a request: the signed customer is not "
                            "the order's customerPartnerId.", 403)
    return placement_handle(store, order, request_sha256=hashlib.sha256(body).hexdigest())


# --- 3. Idempotency ----------------------------------------------------------------------------------------------

def _lease_seconds() -> int:
    return int(_setting("ORDERGROOVE_PLACEMENT_LEASE_SECONDS", 300))


def placement_claim(store: Store, order: PlacementOrder, request_sha256: str) -> tuple[OrderPlacement, bool]:
    """(row, claimed). Claimed: this request places the order. Not claimed: answer from the row (now, or once
    the request that holds the claim finishes).

    A failed placement is answered again within ORDERGROOVE_PLACEMENT_ERROR_REPLAY_SECONDS (a duplicate
    delivery); later it is a new attempt, as Ordergroove retries 999 and card declines in the next placement
    period (ordergroove.md §8.5). A successful placement is never placed twice."""
    now = timezone.now()
    lease = now + timedelta(seconds=_lease_seconds())
    try:
        with transaction.atomic():
            row = OrderPlacement.objects.create(
                store=store, og_order_id=order.og_order_id, og_order_public_id=order.public_id[:64],
                merchant_user_id=order.customer_partner_id[:64], lease_expires_at=lease,
                request_sha256=request_sha256, currency=order.currency[:3], created_at=now)
            return row, True
    except IntegrityError:
        pass
    replay_window = timedelta(seconds=int(_setting("ORDERGROOVE_PLACEMENT_ERROR_REPLAY_SECONDS", 1800)))
    with transaction.atomic():
        row = OrderPlacement.objects.select_for_update().get(store=store, og_order_id=order.og_order_id)
        if row.state == OrderPlacement.State.SUCCEEDED:
            return row, False
        if row.state == OrderPlacement.State.FAILED and row.completed_at and now - row.completed_at < replay_window:
            return row, False
        if row.state == OrderPlacement.State.PROCESSING and row.lease_expires_at and row.lease_expires_at > now:
            return row, False
        # A new attempt: an old failure, or a claim whose holder died (its lease ran out).
        history = list((row.detail or {}).get("attempts") or [])
        if row.answer_code or row.bc_order_id:
            history.append({"at": (row.completed_at or row.updated_at).isoformat(), "answer": row.answer_code,
                            "error_code": row.error_code, "error_message": row.error_message[:500],
                            "bc_order_id": row.bc_order_id, "state": row.state})
        resumed_order_id = row.bc_order_id if row.state == OrderPlacement.State.PROCESSING else None
        row.state = OrderPlacement.State.PROCESSING
        row.attempts += 1
        row.lease_expires_at = lease
        row.request_sha256 = request_sha256
        row.bc_order_id = resumed_order_id
        row.answer_code = row.error_code = row.error_message = row.answer_xml = ""
        row.completed_at = None
        row.detail = {**(row.detail or {}), "attempts": history[-20:]}
        row.save()
        return row, True


def placement_await(row: OrderPlacement) -> OrderPlacement:
    """Wait for the request holding the claim to finish (concurrent duplicates get the same answer)."""
    deadline = time.monotonic() + float(_setting("ORDERGROOVE_PLACEMENT_WAIT_SECONDS", 45))
    while not row.is_final and time.monotonic() < deadline:
        time.sleep(0.1)
        row.refresh_from_db()
    return row


def placement_handle(store: Store, order: PlacementOrder, *, request_sha256: str = "") -> PlacementAnswer:
    row, claimed = placement_claim(store, order, request_sha256)
    if not claimed:
        row = placement_await(row)
        if not row.is_final:
            return error_answer(order_xml.CODE_RETRY_LATER,
                                f"Ordergroove order {order.og_order_id} is still being placed; try again later.",
                                200)
        logger.info("Order placement %s for store %s answered again (%s)", order.og_order_id, store.store_hash,
                    row.answer_code)
        return PlacementAnswer(row.answer_xml.encode("utf-8"), 200, row, replayed=True)
    return placement_place(store, order, row)


# --- 4./5./6. Placing the order (customer, order_body, orders, charge) ---------------------------------------------

def _finish(row: OrderPlacement, *, body: bytes, code: str, error_code: str = "", message: str = "") -> PlacementAnswer:
    row.state = OrderPlacement.State.SUCCEEDED if code == order_xml.SUCCESS else OrderPlacement.State.FAILED
    row.answer_code = code
    row.error_code = error_code
    row.error_message = message
    row.answer_xml = body.decode("utf-8")
    row.completed_at = timezone.now()
    row.lease_expires_at = None
    row.save()
    return PlacementAnswer(body, 200, row)


def placement_place(store: Store, order: PlacementOrder, row: OrderPlacement) -> PlacementAnswer:
    og_settings = og_settings_get(store)  # authentication found the store through this row
    client = client_for_store(store)
    try:
        if store.status != Store.Status.INSTALLED:
            raise PlacementFailure(order_xml.CODE_RETRY_LATER,
                                   "BigCommerce refused the app's token: the merchant must open the app in the "
                                   "BigCommerce control panel to re-authorize it.", alert=True)
        bc_order_id = placement_order_ensure(client, store, og_settings, order, row)
        placement_charge(client, order, row, bc_order_id)
    except PlacementFailure as failure:
        message = failure.message
        if row.bc_order_id:
            message = f"{message} {placement_order_void(client, row, failure.message)}"
        if failure.alert:
            alert_raise(store, "order_placement_failed", f"Ordergroove order {order.og_order_id}: {message}",
                        detail={"og_order_id": order.og_order_id, "error_code": failure.code},
                        dedupe_key=f"order_placement_failed:{failure.code}")
        logger.warning("Order placement %s for store %s failed with %s: %s", order.og_order_id, store.store_hash,
                       failure.code, message)
        return _finish(row, body=order_xml.answer_error(failure.code, message), code=order_xml.ERROR,
                       error_code=failure.code, message=message)
    except Exception:
        # Our bug or an unexpected answer: Ordergroove retries a 999 later, and the row is released for it.
        logger.exception("Order placement %s for store %s crashed", order.og_order_id, store.store_hash)
        message = "Unexpected error while placing the order; it will be retried."
        if row.bc_order_id:
            message = f"{message} {placement_order_void(client, row, 'unexpected error')}"
        return _finish(row, body=order_xml.answer_error(order_xml.CODE_RETRY_LATER, message), code=order_xml.ERROR,
                       error_code=order_xml.CODE_RETRY_LATER, message=message)
    placement_coupons_cleanup(client, store, og_settings, order, row)
    logger.info("Order placement %s for store %s: BigCommerce order %s", order.og_order_id, store.store_hash,
                row.bc_order_id)
    return _finish(row, body=order_xml.answer_success(row.bc_order_id), code=order_xml.SUCCESS)
