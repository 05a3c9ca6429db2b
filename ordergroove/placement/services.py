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
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from bigcommerce_app.client import BigCommerceClient, BigCommerceError, client_for_store
from bigcommerce_app.identifiers import parse_og_product_id
from bigcommerce_app.models import Store
from bigcommerce_app.services import alert_raise
from middleware.plumbing.inputs import INT32_MAX, InputError, strict_int
from ordergroove import signatures
from ordergroove.constants import RECURRING_ORDER_EXTERNAL_SOURCE
from ordergroove.models import OrdergrooveSettings, OrderPlacement
from ordergroove.placement import order_xml
from ordergroove.placement.order_xml import Address, PlacementOrder, PlacementXMLError

logger = logging.getLogger(__name__)

# BigCommerce order statuses (bigcommerce.md §4.2).
STATUS_INCOMPLETE = 0
STATUS_CANCELLED = 5
STATUS_DECLINED = 6
UNPAID_STATUSES = {STATUS_INCOMPLETE, STATUS_CANCELLED, STATUS_DECLINED}

CENT = Decimal("0.01")
V2_PLACES = Decimal("0.0001")  # V2 decimals carry four places

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


class PlacementFailure(Exception):
    """The order cannot be placed: `code` is the Ordergroove error code, `message` says why in BigCommerce's
    words where BigCommerce said something."""

    def __init__(self, code: str, message: str, *, alert: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.alert = alert


def error_answer(code: str, message: str, status: int) -> PlacementAnswer:
    return PlacementAnswer(order_xml.answer_error(code, message), status)


# --- 1. Authentication ----------------------------------------------------------------------------------------

def placement_authenticate(authorization: str | None) -> tuple[Store, signatures.Authorization]:
    """The store whose hash key verifies the header. Raises SignatureError."""
    auth = signatures.authorization_header_parse(authorization)
    candidates = list(OrdergrooveSettings.objects.select_related("store").filter(
        merchant_id=auth.public_id, store__status__in=[Store.Status.INSTALLED, Store.Status.NEEDS_REAUTH],
    ).exclude(hash_key=""))
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


# --- 4./5./6. Placing the order ------------------------------------------------------------------------------------

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
    og_settings = OrdergrooveSettings.objects.get(store=store)
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


def _failure_from_bc(exc: BigCommerceError, what: str, *, client_error_code: str = order_xml.CODE_PLACEMENT_FAILED
                     ) -> PlacementFailure:
    if exc.status == 401:
        return PlacementFailure(order_xml.CODE_RETRY_LATER,
                                f"BigCommerce refused the app's token while trying to {what}: the merchant must "
                                "open the app in the control panel to re-authorize it.", alert=True)
    if exc.transient:
        return PlacementFailure(order_xml.CODE_RETRY_LATER, f"BigCommerce could not {what}: {exc.message}")
    return PlacementFailure(client_error_code, f"BigCommerce refused to {what}: {exc.message}")


def placement_customer_and_instrument(client: BigCommerceClient, order: PlacementOrder) -> tuple[dict, dict]:
    """The BigCommerce customer (`customerPartnerId` = customer id, DECISIONS §3.6) and the stored card
    Ordergroove holds (`orderTokenId` = the stored-instrument token), checked before an order exists."""
    try:
        customer_id = strict_int(order.customer_partner_id, minimum=1, maximum=INT32_MAX)
    except InputError as exc:
        raise PlacementFailure(order_xml.CODE_PLACEMENT_FAILED,
                               f"customerPartnerId {order.customer_partner_id!r} is not a BigCommerce customer "
                               "id.") from exc
    try:
        customer = client.customer(customer_id)
        if customer is None:
            raise PlacementFailure(order_xml.CODE_PLACEMENT_FAILED,
                                   f"BigCommerce customer {customer_id} does not exist.")
        instruments = client.stored_instruments(customer_id)
    except BigCommerceError as exc:
        raise _failure_from_bc(exc, "read the customer and stored cards") from exc
    if not order.token_id:
        raise PlacementFailure(order_xml.CODE_NO_CARD_ON_FILE, "The order carries no orderTokenId (no card on file).")
    instrument = next((i for i in instruments if i.get("token") == order.token_id), None)
    if instrument is None:
        raise PlacementFailure(order_xml.CODE_NO_CARD_ON_FILE,
                               f"BigCommerce customer {customer_id} has no stored payment instrument with the "
                               "token Ordergroove holds (no card on file).")
    if instrument.get("type") == "stored_card" and _card_expired(instrument):
        raise PlacementFailure(order_xml.CODE_CARD_EXPIRED,
                               f"The stored card ending {instrument.get('last_4', '')} expired "
                               f"{instrument.get('expiry_month')}/{instrument.get('expiry_year')}.")
    return customer, instrument


def _card_expired(instrument: dict) -> bool:
    try:
        month, year = int(instrument.get("expiry_month") or 0), int(instrument.get("expiry_year") or 0)
    except (TypeError, ValueError):
        return False
    if not (1 <= month <= 12) or year < 2000:  # BigCommerce sends 0 when it does not know: let the gateway decide
        return False
    today = date.today()
    return (year, month) < (today.year, today.month)


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
        return _failure_from_bc(exc, "create the order")
    if "stock" in text or "inventory" in text:
        # Ordergroove: 999 "should be used for temporary errors (ie temporary stock issues)".
        return PlacementFailure(order_xml.CODE_RETRY_LATER, f"BigCommerce refused the order: {exc.message}")
    if "address" in text or any(f in text for f in ("street_1", "zip", "country", "city", "state")):
        return PlacementFailure(order_xml.CODE_INVALID_ADDRESS, f"BigCommerce refused the address: {exc.message}")
    return PlacementFailure(order_xml.CODE_PLACEMENT_FAILED, f"BigCommerce refused the order: {exc.message}")


# --- Order body -------------------------------------------------------------------------------------------------

def _money(value: Decimal) -> str:
    """V2 order-level amounts (`base_shipping_cost`, `discount_amount`, ...): "Float-As-String" in the reference."""
    return str(value.quantize(V2_PLACES, rounding=ROUND_HALF_UP))


def _money_number(value: Decimal) -> float:
    """A line price as the JSON number `orderCatalogProduct_Post` types it (`price_inc_tax`, `price_ex_tax`).

    Exact, not rounded by the float: the value has four places and is below 10**9 (order_xml bounds every amount),
    so at most 13 significant digits, and any decimal of at most 15 significant digits survives the round trip
    through an IEEE double; ``repr`` (what ``json`` writes) gives back the shortest text, the same decimal."""
    quantized = value.quantize(V2_PLACES, rounding=ROUND_HALF_UP)
    number = float(quantized)
    if Decimal(repr(number)) != quantized:  # unreachable within the bounds; never send a changed price
        raise PlacementFailure(order_xml.CODE_PLACEMENT_FAILED, f"The price {quantized} cannot be sent exactly.")
    return number


def _v2_address(address: Address, *, email: str) -> dict:
    body = {"first_name": address.first_name, "last_name": address.last_name, "company": address.company,
            "street_1": address.street_1, "street_2": address.street_2, "city": address.city,
            "state": address.state, "zip": address.zip, "phone": address.phone, "email": email}
    country = address.country.strip()
    if len(country) == 2:
        body["country_iso2"] = country.upper()
    elif country:
        body["country"] = country
    return body


def _address_from_instrument(instrument: dict) -> Address:
    billing = instrument.get("billing_address") or {}
    return Address(first_name=billing.get("first_name", ""), last_name=billing.get("last_name", ""),
                   company=billing.get("company", ""), street_1=billing.get("address1", ""),
                   street_2=billing.get("address2", ""), city=billing.get("city", ""),
                   state=billing.get("state_or_province", ""), zip=billing.get("postal_code", ""),
                   country=billing.get("country_code", ""), phone=billing.get("phone", ""))


def _address_complete(address: Address) -> bool:
    return all([address.first_name or address.last_name, address.street_1, address.city, address.zip,
                address.country])


def placement_lines(client: BigCommerceClient, order: PlacementOrder) -> list[dict]:
    """One BigCommerce line per Ordergroove item, priced from `finalPrice` (Ordergroove's price lock: "pick up
    the final price for each item"). Items name the variant as `{product}_{variant}` (DECISIONS §3.6); a bare
    product id or an unknown form falls back to the SKU. Ordergroove's `orderSalesTax` is spread over the lines'
    tax-inclusive prices so the charged total is Ordergroove's; BigCommerce adds no tax of its own when both
    prices are given."""
    lines = []
    for item in order.items:
        product_id, variant_id = _variant_of(client, item)
        unit = item.final_price / item.qty
        lines.append({"product_id": product_id, "quantity": item.qty, "_unit": unit, "_final": item.final_price,
                      **({"variant_id": variant_id} if variant_id else {})})
    total_final = sum((item.final_price for item in order.items), Decimal("0"))
    tax_left = order.sales_tax if order.sales_tax > 0 else Decimal("0")
    for index, line in enumerate(lines):
        if tax_left and total_final > 0:
            share = (order.sales_tax * line["_final"] / total_final).quantize(CENT)
            share = tax_left if index == len(lines) - 1 else min(share, tax_left)
            tax_left -= share
        else:
            share = Decimal("0")
        unit = line.pop("_unit")
        line.pop("_final")
        line["price_ex_tax"] = _money_number(unit)
        line["price_inc_tax"] = _money_number(unit + share / line["quantity"])
    return lines


def _variant_of(client: BigCommerceClient, item) -> tuple[int, int | None]:
    try:
        product_id, variant_id = parse_og_product_id(item.product_id)
    except (TypeError, ValueError):
        product_id, variant_id = None, None
    if product_id and variant_id:
        return product_id, variant_id
    if item.sku:
        try:
            variants = client.variants_find(sku=item.sku)
        except BigCommerceError as exc:
            raise _failure_from_bc(exc, f"look up SKU {item.sku}") from exc
        # A bare number may be our product id or a foreign one: prefer the SKU's variant of that product.
        preferred = [v for v in variants if product_id and int(v["product_id"]) == product_id] or variants
        if preferred:
            return int(preferred[0]["product_id"]), int(preferred[0]["id"])
    if product_id:
        return product_id, None  # a product without options: BigCommerce uses its base variant
    raise PlacementFailure(order_xml.CODE_PLACEMENT_FAILED,
                           f"Item {item.product_id or item.sku!r} ({item.name}) is not in the BigCommerce catalog.")


def placement_free_shipping(og_settings: OrdergrooveSettings, order: PlacementOrder) -> bool:
    """DECISIONS §3.11: with the console's free-shipping coupon enabled, an explicit flag decides, otherwise
    `orderShipping` = 0.00 does."""
    if not og_settings.free_shipping_enabled:
        return False
    if order.free_shipping_flag is not None:
        return order.free_shipping_flag
    return order.shipping == 0


def placement_order_body(client: BigCommerceClient, og_settings: OrdergrooveSettings, order: PlacementOrder,
                         customer: dict, instrument: dict, row: OrderPlacement) -> dict:
    email = order.customer_email or customer.get("email") or ""
    billing = order.billing_address if _address_complete(order.billing_address) else _address_from_instrument(
        instrument)
    shipping = order.shipping_address if _address_complete(order.shipping_address) else billing
    if not _address_complete(billing):
        raise PlacementFailure(order_xml.CODE_INVALID_ADDRESS,
                               "The billing address is incomplete (name, street, city, zip and country needed).")
    lines = placement_lines(client, order)
    free_shipping = placement_free_shipping(og_settings, order)
    shipping_cost = Decimal("0") if free_shipping else max(order.shipping, Decimal("0"))
    items_total = sum((Decimal(repr(line["price_inc_tax"])) * line["quantity"] for line in lines), Decimal("0"))
    discount = min(max(order.subtotal_discount, Decimal("0")), items_total)
    codes = list(dict.fromkeys(order.order_incentive_codes))
    if free_shipping and og_settings.free_shipping_coupon:
        codes.append(og_settings.free_shipping_coupon)
    notes = [f"Ordergroove recurring order {order.og_order_id}"
             + (f" (public id {order.public_id})" if order.public_id else "")
             + (f", Ordergroove date {order.og_date}" if order.og_date else "") + "."]
    if order.order_incentive_codes:
        notes.append(f"Ordergroove incentives: {', '.join(order.order_incentive_codes)} "
                     f"(order discount {_money(discount)}).")
    if free_shipping:
        coupon = og_settings.free_shipping_coupon
        notes.append(f"Free shipping{f' (coupon {coupon})' if coupon else ''}.")
    body = {
        "customer_id": int(customer["id"]),
        "status_id": STATUS_INCOMPLETE,
        "billing_address": _v2_address(billing, email=email),
        "shipping_addresses": [{**_v2_address(shipping, email=email), "shipping_method": "Ordergroove subscription"}],
        "products": lines,
        "base_shipping_cost": _money(shipping_cost),
        "shipping_cost_ex_tax": _money(shipping_cost),
        "shipping_cost_inc_tax": _money(shipping_cost),
        "discount_amount": _money(discount),
        "staff_notes": " ".join(notes),
        "external_source": RECURRING_ORDER_EXTERNAL_SOURCE,
        "external_order_id": order.og_order_id,
    }
    row.total = (items_total + shipping_cost - discount).quantize(CENT)
    row.free_shipping = free_shipping
    row.coupon_codes = codes
    row.detail = {**(row.detail or {}), "staff_notes": body["staff_notes"], "lines": [
        {k: line.get(k) for k in ("product_id", "variant_id", "quantity", "price_ex_tax", "price_inc_tax")}
        for line in lines], "shipping": _money(shipping_cost), "discount": _money(discount),
        "og_total": str(order.total), "token_last_4": instrument.get("last_4", "")}
    return body


# --- Charging ---------------------------------------------------------------------------------------------------------

def placement_charge(client: BigCommerceClient, order: PlacementOrder, row: OrderPlacement, bc_order_id: int) -> None:
    """Charge the stored card through the Payments API (bigcommerce.md §4.6) unless a previous attempt did."""
    current = _order_status(client, bc_order_id) if row.attempts > 1 else STATUS_INCOMPLETE
    if current is not None and current not in UNPAID_STATUSES:
        return  # paid by the interrupted attempt
    try:
        methods = client.payment_methods(bc_order_id)
    except BigCommerceError as exc:
        raise _failure_from_bc(exc, "list payment methods") from exc
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
        raise _failure_from_bc(exc, "create a payment access token") from exc
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
    budget = float(_setting("ORDERGROOVE_PLACEMENT_PAYMENT_SETTLE_SECONDS", 10)) if exc.status is None else 0.0
    deadline = time.monotonic() + budget
    delay = 0.25
    while True:
        status = _order_status(client, bc_order_id)
        if status is not None and status not in UNPAID_STATUSES:
            return True
        if time.monotonic() + delay > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def _order_status(client: BigCommerceClient, bc_order_id: int) -> int | None:
    try:
        return int((client.order(bc_order_id) or {}).get("status_id"))
    except (BigCommerceError, TypeError, ValueError):
        return None


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


def placement_order_void(client: BigCommerceClient, row: OrderPlacement, reason: str) -> str:
    """Cancel the unpaid BigCommerce order so nothing half-paid is left; returns the sentence for the answer."""
    bc_order_id = row.bc_order_id
    status = _order_status(client, bc_order_id)
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


# --- Coupons ---------------------------------------------------------------------------------------------------------

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
