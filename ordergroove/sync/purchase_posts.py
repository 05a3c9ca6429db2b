"""Order created → purchase post (seed 001): the order, its lines, shipping addresses, customer and (for a
subscription order) the payment instrument become one `create_request`, recorded as a Delivery unique per order
together with its PurchasePost, and sent right away on a worker (or enqueued once committed elsewhere).

One purchase post per BigCommerce order: PurchasePost and its Delivery are unique per (store, order id), and the
delivery is claimed before Ordergroove is called (services.py, middleware.plumbing.jobs), so duplicates,
concurrent tasks and retries cannot post twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from celery import current_task
from django.db import IntegrityError, transaction
from django.db.models import CharField, Value
from django.utils import timezone

from bigcommerce_app.client import BigCommerceClient, BigCommerceError, BigCommerceNotFound, client_for_store
from bigcommerce_app.inbox.services import EventDeferred, EventSkipped
from bigcommerce_app.models import InboundEvent, Store
from feeds.models import ProductSubscriptionSetting
from ordergroove.constants import RECURRING_ORDER_EXTERNAL_SOURCE
from ordergroove.models import Delivery, DeliveryAttempt, OrdergrooveSettings, OrderPlacement, PurchasePost
from ordergroove.sync import instruments, payloads
from ordergroove.sync.sending import attempt_run, og_settings_for

logger = logging.getLogger(__name__)

INCOMPLETE_ORDER_RECHECKS = 12  # an order still Incomplete (status 0) is looked at every 5 min for an hour
INCOMPLETE_ORDER_RECHECK_SECONDS = 300
NO_INSTRUMENT_RECHECKS = 3  # a subscription order whose card is not vaulted yet: look again 3 × 2 min
NO_INSTRUMENT_RECHECK_SECONDS = 120
SKIPPED_ORDER_STATUSES = {5: "cancelled", 6: "declined"}


@dataclass
class _Post:
    """What purchase_post_create records: the request, its plan and where the payment came from."""

    order_id: int
    customer_id: int
    plan: payloads.PurchasePostPlan
    payment_source: str


def purchase_post_create(event: InboundEvent) -> str:
    """Prepare the purchase post of the order an event names (seed 001): fetch the order, its lines and
    shipping addresses, the customer and (for subscription orders) the payment instrument; build the
    `create_request`; record it as a delivery unique per order and send it (on a worker) or enqueue it after
    commit."""
    store = event.store
    order_id = int(event.resource_id)
    _skip_if_known(store, order_id)
    og = og_settings_for(store)
    bc = client_for_store(store)
    order = _order_to_post(bc, event, order_id)
    post = _post_plan(og, bc, event, order, order_id)
    send_now = _sends_inline()
    delivery, attempt = _post_record(store, event, post, send_now=send_now)
    kind = "subscription" if post.plan.has_subscriptions else "one-time"
    if attempt is None:
        Delivery.enqueue_on_commit(delivery.pk)
        return f"purchase post of order {order_id} queued ({kind}, delivery {delivery.pk})"
    try:
        status = attempt_run(delivery, attempt)
    except Exception:  # never fail the event that prepared it: the delivery is committed and its lease expires
        logger.exception("Sending delivery %s right away failed: the due-deliveries task re-sends it", delivery.pk)
        status = "left to the due-deliveries task"
    if status == "deferred":
        return (f"purchase post of order {order_id} queued ({kind}, delivery {delivery.pk}: waiting for the "
                "Ordergroove allowance)")
    return f"purchase post of order {order_id} sent ({kind}, delivery {delivery.pk}: {status})"


def _skip_if_known(store: Store, order_id: int) -> None:
    """EventSkipped when the order's purchase post is recorded already or the order is one this service placed."""
    # One statement for both "already posted?" and "placed by us?" (each SELECT costs ~0.6 ms of worker CPU).
    # order_by(): no ORDER BY inside the UNION (SQLite refuses it; the models order by default).
    known = set(PurchasePost.objects.filter(store=store, bc_order_id=order_id).order_by().values_list(
        Value("posted", output_field=CharField())).union(OrderPlacement.objects.filter(
            store=store, bc_order_id=order_id).order_by().values_list(Value("placed", output_field=CharField()))))
    if ("posted",) in known:
        raise EventSkipped(f"purchase post of order {order_id} already recorded")
    if ("placed",) in known:
        raise EventSkipped(f"order {order_id} is a recurring order placed by this service")


def _order_to_post(bc: BigCommerceClient, event: InboundEvent, order_id: int) -> dict:
    """The BigCommerce order, once it is one to post: EventSkipped (not ours to post) or EventDeferred (not
    paid yet) otherwise."""
    try:
        order = bc.order(order_id)
    except BigCommerceNotFound:
        raise EventSkipped(f"order {order_id} does not exist in BigCommerce") from None
    if order.get("external_source") == RECURRING_ORDER_EXTERNAL_SOURCE:
        raise EventSkipped(f"order {order_id} is a recurring order placed by this service")
    status_id = int(order.get("status_id") or 0)
    if status_id == 0:  # Incomplete: payment not (yet) processed (bigcommerce.md §3.3)
        if event.attempts <= INCOMPLETE_ORDER_RECHECKS:
            raise EventDeferred(f"order {order_id} is still Incomplete (awaiting payment)",
                                retry_in=INCOMPLETE_ORDER_RECHECK_SECONDS)
        raise EventSkipped(f"order {order_id} never left Incomplete")
    if status_id in SKIPPED_ORDER_STATUSES:
        raise EventSkipped(f"order {order_id} is {SKIPPED_ORDER_STATUSES[status_id]}")
    if int(order.get("customer_id") or 0) <= 0:
        raise EventSkipped(f"order {order_id} is a guest order: Ordergroove needs a customer id")
    return order


def _post_plan(og: OrdergrooveSettings, bc: BigCommerceClient, event: InboundEvent, order: dict,
               order_id: int) -> _Post:
    """The order's `create_request`: its lines, shipping addresses and customer, and for a subscription order
    the instrument it was paid with (EventDeferred while the customer has none stored yet)."""
    customer_id = int(order.get("customer_id") or 0)
    lines = bc.order_products(order_id)
    shipping = bc.order_shipping_addresses(order_id)
    customer = bc.customer(customer_id)
    product_ids = {int(line.get("product_id") or 0) for line in lines}
    product_settings = {s.bc_product_id: s for s in
                        ProductSubscriptionSetting.objects.filter(store=event.store, bc_product_id__in=product_ids)}
    program = payloads.StoreProgram(
        merchant_id=og.merchant_id,
        offer=og.global_offer_id or "",
        owned_by_ordergroove=og.subscriptions_owned_by == OrdergrooveSettings.Owner.ORDERGROOVE,
    )
    build = dict(program=program, order=order, lines=lines, shipping_addresses=shipping, customer=customer,
                 product_settings=product_settings)
    plan = payloads.purchase_post_payload(instrument=None, **build)
    payment_source = PurchasePost.PaymentSource.NONE
    if plan.has_subscriptions:
        instrument, payment_source, payment_note = purchase_post_instrument(og, bc, order_id, customer_id)
        if instrument is None and event.attempts <= NO_INSTRUMENT_RECHECKS:
            raise EventDeferred(f"order {order_id} subscribes but customer {customer_id} has no stored "
                                "payment instrument yet", retry_in=NO_INSTRUMENT_RECHECK_SECONDS)
        plan = payloads.purchase_post_payload(instrument=instrument, **build)
        if instrument is not None:
            plan.notes.append(payment_note)
    return _Post(order_id=order_id, customer_id=customer_id, plan=plan, payment_source=payment_source)


def _post_record(store: Store, event: InboundEvent, post: _Post, *,
                 send_now: bool) -> tuple[Delivery, DeliveryAttempt | None]:
    """The Delivery and its PurchasePost, in one transaction (EventSkipped if the order has them already). Sent
    right here (on a worker): the delivery is created already claimed (running, its lease, attempt 1 open),
    which spares the claim UPDATE, the re-read and a transaction per order. A crash after the commit leaves what
    a crash mid-call leaves: the lease expires and the sweep re-sends (409 = already received = delivered)."""
    now = timezone.now()
    request = {"payload": post.plan.payload, "sig_field": str(post.customer_id)}
    claim = Delivery.claimed_fields(now) if send_now else {}
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                store=store, kind=Delivery.Kind.PURCHASE_POST, key=str(post.order_id),
                merchant_user_id=str(post.customer_id), merchant_order_id=str(post.order_id), source_event=event,
                request=json.dumps(request), notes=post.plan.notes, **claim)
            PurchasePost.objects.create(store=store, bc_order_id=post.order_id,
                                        merchant_user_id=str(post.customer_id), delivery=delivery,
                                        has_subscriptions=post.plan.has_subscriptions,
                                        payment_source=post.payment_source,
                                        subscribed_products=post.plan.subscribed_products)
            attempt = DeliveryAttempt.objects.create(delivery=delivery, number=1, started_at=now) if send_now else None
    except IntegrityError:
        raise EventSkipped(f"purchase post of order {post.order_id} already recorded") from None
    return delivery, attempt


def _sends_inline() -> bool:
    """Whether a delivery prepared now is sent by this very call: on a Celery worker, outside any transaction.
    A second broker message per order (publish, deliver, ack) cost the worker more CPU than the post itself
    (bench/webhooks.py). Anywhere else (web process, inside a transaction) it is enqueued once committed."""
    return bool(current_task) and not transaction.get_connection().in_atomic_block  # a Proxy: falsy outside


def purchase_post_instrument(og: OrdergrooveSettings, bc: BigCommerceClient, order_id: int,
                             customer_id: int) -> tuple[payloads.Instrument | None, str, str]:
    """The instrument the order was paid with, where it came from, and a note for the activity log.

    DECISIONS §3.6: `token_id` is charged again for every recurring order, so it must be the instrument the
    shopper chose at checkout, not whatever is their default: the order's vaulted-instrument transaction names
    it (`payment_instrument_token` = stored-instrument `token`, bigcommerce.md §4.5) and the stored instrument
    adds holder and billing. Only an order without such a transaction falls back to the default instrument."""
    source = PurchasePost.PaymentSource
    try:
        tx = payloads.vaulted_transaction(bc.order_transactions(order_id))
        why_default = "the order has no vaulted-instrument transaction"
    except BigCommerceNotFound:
        tx, why_default = None, "BigCommerce lists no transactions for the order"
    except BigCommerceError as exc:
        if exc.status != 403:
            raise  # 5xx, timeouts, rate limits: the inbox retries the event
        # An app installed before it asked for the Order Transactions scope: still post, say why in the log.
        tx, why_default = None, "the app may not read order transactions (store_v2_transactions_read_only)"
    if tx is None:
        instrument = instruments.default_instrument(og, bc, customer_id)
        return instrument, source.DEFAULT_INSTRUMENT, f"payment: the customer's default instrument ({why_default})"
    token = str(tx["payment_instrument_token"])
    stored = instruments.default_instrument(og, bc, customer_id, token=token)
    if stored is not None and stored.token == token:
        return stored, source.ORDER_TRANSACTION, f"payment: the instrument of the order's transaction {tx.get('id')}"
    # Not listed by the payment data source (card removed since, or a gateway vault that lacks it): the token is
    # still the BigCommerce stored-instrument token recurring orders are charged with (placement looks it up in
    # the stored instruments whatever the data source), so post it with the transaction's own card details.
    return (payloads.instrument_from_transaction(tx), source.ORDER_TRANSACTION,
            f"payment: the instrument of the order's transaction {tx.get('id')} (not among the customer's stored "
            "instruments: card details from the transaction)")

