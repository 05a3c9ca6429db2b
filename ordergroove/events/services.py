"""Ordergroove webhook events: verify, store once per event id, then act on them asynchronously.

Ordergroove gives a delivery 5 seconds (ordergroove.md §9.3), so the request only verifies the signature and
inserts one row; alerts (which may send e-mail) are raised by a task. Each event is a durable job
(middleware.plumbing.jobs): a periodic sweep picks up any event whose task never ran, failed or died.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from bigcommerce_app.services import alert_raise, alert_resolve
from middleware.plumbing.inputs import INT64_MAX, InputError, json_loads_storable, optional_int
from ordergroove import signatures
from ordergroove.models import OrdergrooveEvent, OrdergrooveSettings
from ordergroove.store_settings.selectors import og_settings_with_webhook_key

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Ordergroove-Signature"
# Placement outcomes the merchant must see (issue 7): rejected or erroring recurring orders.
ALERT_EVENT_TYPES = {
    "order.reject": ("error", "Ordergroove rejected recurring order {order}: {message}"),
    "order.generic_error": ("error", "Ordergroove could not place recurring order {order} (generic error, it will "
                                     "retry): {message}"),
    "order.retryable_placement_failure": ("warning", "Recurring order {order} failed to place and is in "
                                                     "Ordergroove's retry flow: {message}"),
}
RESOLVING_EVENT_TYPES = {"order.success", "order.cancel", "order.skip_order", "order.delete"}
# A BigCommerce store hash, as `signed_payload_jwt`'s `sub` carries it: the only thing `?store=` may be.
STORE_HASH = re.compile(r"[a-z0-9]{1,64}")
# `created` is a Unix time: bounded so datetime accepts it (years 1970..5138).
CREATED_MAX = 10**11


def max_body_bytes() -> int:
    return int(getattr(settings, "ORDERGROOVE_WEBHOOK_MAX_BODY_BYTES", 1024 * 1024))


class EventRejected(Exception):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


@dataclass
class EventReceipt:
    event: OrdergrooveEvent
    created: bool


def _object(payload: dict) -> dict:
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    obj = data.get("object") if isinstance(data.get("object"), dict) else {}
    return obj


def _candidate_stores(payload: dict, store_hash: str | None) -> list[OrdergrooveSettings]:
    """Stores whose key may have signed this delivery: the `store` named in the target URL, else the one whose
    Ordergroove merchant id is in the payload, else (subscriber events carry no merchant) every store with a key."""
    if store_hash:
        return og_settings_with_webhook_key(store_hash=store_hash)
    obj = _object(payload)
    merchant = obj.get("merchant") or payload.get("merchant")
    if isinstance(merchant, str) and merchant:
        matching = og_settings_with_webhook_key(merchant_id=merchant)
        if matching:
            return matching
    return og_settings_with_webhook_key(limit=200)


def _text(value, limit: int) -> str:
    if value is None:
        return ""
    return str(value)[:limit]


def _event_fields(payload: dict) -> dict:
    obj = _object(payload)
    event_type = _text(payload.get("type"), 64)
    resource = event_type.split(".", 1)[0] if "." in event_type else _text(obj.get("type"), 32).lower()
    public_id = _text(obj.get("public_id"), 64)
    if resource == "order":
        og_order = public_id
    else:
        order_ref = obj.get("order") or ((payload.get("data") or {}).get("order") if isinstance(
            payload.get("data"), dict) else None)
        og_order = _text(order_ref.get("public_id") if isinstance(order_ref, dict) else order_ref, 64)
    customer = obj.get("customer") if resource != "subscriber" else obj.get("merchant_user_id")
    if customer is None:
        customer = obj.get("merchant_user_id")
    if isinstance(customer, dict):
        customer = customer.get("merchant_user_id")
    bc_order_id = optional_int(obj.get("order_merchant_id"), minimum=1, maximum=INT64_MAX)
    occurred = None
    created = payload.get("created")
    created = optional_int(int(created) if isinstance(created, float) else created, maximum=CREATED_MAX)
    if created is not None:
        occurred = datetime.fromtimestamp(created, tz=UTC)
    return {
        "event_type": event_type, "resource": resource[:32], "public_id": public_id, "og_order_public_id": og_order,
        "merchant_user_id": _text(customer, 64), "bc_order_id": bc_order_id,
        "status_display": _text(obj.get("status_display"), 64),
        "message": _text(obj.get("rejected_message"), 2000), "occurred_at": occurred,
    }


def _payload(body: bytes, *, status: int) -> dict:
    try:
        payload = json_loads_storable(body)
    except InputError as exc:
        raise EventRejected(str(exc), status) from exc
    if not isinstance(payload, dict):
        raise EventRejected("The body is not a JSON object.", status)
    return payload


def og_event_receive(*, body: bytes, signature_header: str | None, store_hash: str | None = None) -> EventReceipt:
    """Verify and store one delivery. Raises EventRejected (401 for anything unauthenticated, 400 for a body that
    is not an Ordergroove event); nothing is stored unless the signature verifies."""
    if store_hash is not None and not STORE_HASH.fullmatch(store_hash):
        raise EventRejected("?store= must be the store hash the console shows (letters and digits).", 400)
    if not signature_header:
        raise EventRejected("The Ordergroove-Signature header is missing.", 401)
    try:
        signatures.webhook_signature_parse(signature_header)
    except signatures.SignatureError as exc:
        raise EventRejected(str(exc), 401) from exc
    payload: dict | None = None
    if store_hash:
        candidates = _candidate_stores({}, store_hash)
    else:
        payload = _payload(body, status=401)  # the store is found from the body, verified right after
        candidates = _candidate_stores(payload, None)
    store = None
    for og_settings in candidates:
        try:
            signatures.webhook_signature_verify(signature_header, body, [og_settings.webhook_verification_key])
        except signatures.SignatureError:
            continue
        store = og_settings.store
        break
    if store is None:
        raise EventRejected("The webhook signature does not verify.", 401)
    if payload is None:
        payload = _payload(body, status=400)
    event_id = _text(payload.get("id"), 128)
    if not event_id or not payload.get("type"):
        raise EventRejected("An Ordergroove event needs an id and a type.", 400)
    fields = _event_fields(payload)
    try:
        with transaction.atomic():
            event = OrdergrooveEvent.objects.create(store=store, event_id=event_id, payload=payload, **fields)
    except IntegrityError:
        event = OrdergrooveEvent.objects.get(store=store, event_id=event_id)
        logger.info("Ordergroove event %s for store %s received again: ignored", event_id, store.store_hash)
        return EventReceipt(event, False)
    OrdergrooveEvent.enqueue_on_commit(event.pk)  # broker down: marked due, the sweep processes it
    return EventReceipt(event, True)


def og_event_process(event_pk: int) -> str:
    """Act on a stored event once: raise (or resolve) the console alert of an order's placement outcome.
    Claimed first (middleware.plumbing.jobs), so a duplicate message or the sweep cannot act on it twice at
    once; a failure is recorded and retried on OrdergrooveEvent's schedule. Returns the event's status after
    this attempt, or "not-claimed"."""
    if not OrdergrooveEvent.claim(event_pk):
        return "not-claimed"
    event = OrdergrooveEvent.objects.select_related("store").get(pk=event_pk)
    try:
        with transaction.atomic():  # the alert and "processed" commit together
            _alert_update(event)
            OrdergrooveEvent.succeed(event.pk)
    except Exception as exc:  # noqa: BLE001 - recorded on the event and retried; the worker goes on
        logger.exception("Processing Ordergroove event %s failed", event.pk)
        return OrdergrooveEvent.retry_or_fail(event.pk, failures=event.attempts,
                                              error=f"{exc.__class__.__name__}: {exc}")
    return OrdergrooveEvent.Status.PROCESSED


def _alert_update(event: OrdergrooveEvent) -> None:
    order_ref = event.og_order_public_id or event.public_id
    dedupe = f"og_order_event:{order_ref}"
    if event.event_type in ALERT_EVENT_TYPES:
        severity, template = ALERT_EVENT_TYPES[event.event_type]
        message = template.format(order=order_ref or "?", message=event.message or event.status_display or
                                  "no message from Ordergroove")
        alert_raise(event.store, event.event_type.replace(".", "_"), message, severity=severity,
                    detail={"event_id": event.event_id, "og_order_public_id": order_ref,
                            "merchant_user_id": event.merchant_user_id}, dedupe_key=dedupe)
    elif event.event_type in RESOLVING_EVENT_TYPES and order_ref:
        alert_resolve(event.store, dedupe_key=dedupe)


def og_events_sweep(*, older_than_seconds: int = 60, limit: int = 500) -> int:
    """Process the events whose task never ran (broker outage, lost message) `older_than_seconds` after
    receipt, those whose retry is due and those a dead worker left; here and now, oldest first (acting on one
    is a single write). Returns how many were found."""
    return OrdergrooveEvent.sweep(limit=limit, stale_after=timedelta(seconds=older_than_seconds),
                                  enqueue=_process_now)


def _process_now(event_pk: int) -> bool:
    og_event_process(event_pk)
    return True  # on to the next event, whatever this one's outcome
