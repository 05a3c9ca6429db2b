"""Writes of the sync: inbox events become Delivery rows (one per Ordergroove call owed), and deliveries are
sent with the retry policy of DECISIONS §3.13.

Guarantees:
- one purchase post per BigCommerce order: PurchasePost and its Delivery are unique per (store, order id), and a
  delivery is claimed with one conditional UPDATE before Ordergroove is called, so duplicates, concurrent tasks
  and retries cannot post twice; after a crash mid-call the claim's lease expires and the post is re-sent, which
  Ordergroove answers 409 = already received = delivered;
- long waits live in the database (`next_attempt_at`) and a periodic task enqueues what is due, never broker
  countdowns; every attempt is recorded (masked request, status, response excerpt, duration);
- every call books a slot of the egress IP's Ordergroove allowance first (ordergroove/allowance.py); a call with
  no slot close enough is not an attempt: it goes back to pending with `next_attempt_at` = when a slot is near;
- 207/400/401/403 raise an alert (console banner + log event + e-mail when configured).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, F, Q, Value, When
from django.utils import timezone

from bigcommerce_app.client import BigCommerceClient, BigCommerceError, BigCommerceNotFound, client_for_store
from bigcommerce_app.inbox.services import EventDeferred, EventSkipped, bulk_replay_limit
from bigcommerce_app.models import InboundEvent, Store
from bigcommerce_app.services import alert_raise, alert_resolve
from feeds.models import ProductSubscriptionSetting
from middleware.plumbing.jobs import enqueue_or_mark_due
from ordergroove import allowance
from ordergroove.client import OrdergrooveClient, OrdergrooveError, OrdergrooveResponse, Outcome
from ordergroove.constants import RECURRING_ORDER_EXTERNAL_SOURCE
from ordergroove.models import (
    CustomerSyncState,
    Delivery,
    DeliveryAttempt,
    OrdergrooveSettings,
    OrderPlacement,
    PurchasePost,
)
from ordergroove.schedule import DELIVERIES_DUE_SECONDS
from ordergroove.sync import instruments, payloads, selectors

logger = logging.getLogger(__name__)

# DECISIONS §3.13: 5xx/timeouts → 3 tries within 10 minutes (now, +1 min, +5 min), then one at +24 h, then failed.
RETRY_DELAYS = (60, 240, 24 * 3600)
# Purchase-post status (asynchronous result): ask after 1 min, then back off up to a day; then give up.
STATUS_POLL_DELAYS = (60, 300, 900, 3600, 6 * 3600, 24 * 3600)
RELEASE_MIN = 20  # deliveries one run of the periodic task enqueues at least
MIN_DEFER_SECONDS = 1.0  # a call held back by the allowance is due again after at least this
DELIVERY_LEASE_SECONDS = 60  # > the 5 s Ordergroove timeout with margin; a dead worker's claim expires after it
STALE_PENDING_SECONDS = 60  # an enqueued delivery nobody picked up (message lost) is re-enqueued after this
INCOMPLETE_ORDER_RECHECKS = 12  # an order still Incomplete (status 0) is looked at every 5 min for an hour
INCOMPLETE_ORDER_RECHECK_SECONDS = 300
NO_INSTRUMENT_RECHECKS = 3  # a subscription order whose card is not vaulted yet: look again 3 × 2 min
NO_INSTRUMENT_RECHECK_SECONDS = 120
SKIPPED_ORDER_STATUSES = {5: "cancelled", 6: "declined"}
ALERT_KIND = "ordergroove_delivery"


class OrdergrooveNotConfigured(Exception):
    """The store has no merchant id / hash key yet: nothing can be signed."""


def _retry_delays() -> tuple[int, ...]:
    return tuple(getattr(settings, "ORDERGROOVE_RETRY_DELAYS", RETRY_DELAYS))


def _status_poll_delays() -> tuple[int, ...]:
    return tuple(getattr(settings, "ORDERGROOVE_STATUS_POLL_DELAYS", STATUS_POLL_DELAYS))


def _lease() -> timedelta:
    return timedelta(seconds=getattr(settings, "ORDERGROOVE_DELIVERY_LEASE_SECONDS", DELIVERY_LEASE_SECONDS))


def og_settings_for(store: Store) -> OrdergrooveSettings:
    """The store's configured settings (cached per process for a few seconds: selectors.og_settings_get); treat
    the row as read-only."""
    og = selectors.og_settings_get(store.pk)
    if og is None or not og.is_configured:
        alert_raise(store, "ordergroove_not_configured",
                    "Ordergroove is not configured (merchant ID and hash key): orders and customer changes cannot "
                    "be sent. Fill in Settings, then replay the failed events from Activity.",
                    severity="warning", dedupe_key="ordergroove_not_configured")
        raise OrdergrooveNotConfigured("Ordergroove merchant ID and hash key are not configured")
    return og


# --- Order created → purchase post ---------------------------------------------------------------------------

def purchase_post_create(event: InboundEvent) -> str:
    """Prepare the purchase post of the order an event names (seed 001): fetch the order, its lines and
    shipping addresses, the customer and (for subscription orders) the payment instrument; build the
    `create_request`; record it as a delivery unique per order and enqueue it after commit."""
    store = event.store
    order_id = int(event.resource_id)
    # One statement for both "already posted?" and "placed by us?" (each SELECT costs ~0.6 ms of worker CPU).
    # order_by(): no ORDER BY inside the UNION (SQLite refuses it; the models order by default).
    known = set(PurchasePost.objects.filter(store=store, bc_order_id=order_id).order_by().values_list(
        Value("posted", output_field=CharField())).union(OrderPlacement.objects.filter(
            store=store, bc_order_id=order_id).order_by().values_list(Value("placed", output_field=CharField()))))
    if ("posted",) in known:
        raise EventSkipped(f"purchase post of order {order_id} already recorded")
    if ("placed",) in known:
        raise EventSkipped(f"order {order_id} is a recurring order placed by this service")
    og = og_settings_for(store)
    bc = client_for_store(store)
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
    customer_id = int(order.get("customer_id") or 0)
    if customer_id <= 0:
        raise EventSkipped(f"order {order_id} is a guest order: Ordergroove needs a customer id")

    lines = bc.order_products(order_id)
    shipping = bc.order_shipping_addresses(order_id)
    customer = bc.customer(customer_id)
    product_ids = {int(line.get("product_id") or 0) for line in lines}
    product_settings = {s.bc_product_id: s for s in
                        ProductSubscriptionSetting.objects.filter(store=store, bc_product_id__in=product_ids)}
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

    request = {"payload": plan.payload, "sig_field": str(customer_id)}
    send_now = _sends_inline()
    now = timezone.now()
    # Sent right here (on a worker): the delivery is created already claimed (SENDING, its lease, attempt 1 open)
    # in the same transaction as the PurchasePost, which spares the claim UPDATE, the re-read and a transaction
    # per order. A crash after the commit leaves what a crash mid-call leaves: the lease expires and
    # deliveries_due_enqueue re-sends (409 = already received counts as delivered).
    claim = {"status": Delivery.Status.SENDING, "attempts": 1, "lease_until": now + _lease()} if send_now else {}
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                store=store, kind=Delivery.Kind.PURCHASE_POST, key=str(order_id), merchant_user_id=str(customer_id),
                merchant_order_id=str(order_id), source_event=event, request=json.dumps(request), notes=plan.notes,
                **claim)
            PurchasePost.objects.create(store=store, bc_order_id=order_id, merchant_user_id=str(customer_id),
                                        delivery=delivery, has_subscriptions=plan.has_subscriptions,
                                        payment_source=payment_source,
                                        subscribed_products=plan.subscribed_products)
            attempt = DeliveryAttempt.objects.create(delivery=delivery, number=1, started_at=now) if send_now else None
    except IntegrityError:
        raise EventSkipped(f"purchase post of order {order_id} already recorded") from None
    kind = "subscription" if plan.has_subscriptions else "one-time"
    if attempt is None:
        transaction.on_commit(lambda: delivery_enqueue(delivery.pk))
        return f"purchase post of order {order_id} queued ({kind}, delivery {delivery.pk})"
    try:
        status = _attempt_run(delivery, attempt)
    except Exception:  # never fail the event that prepared it: the delivery is committed and its lease expires
        logger.exception("Sending delivery %s right away failed: the due-deliveries task re-sends it", delivery.pk)
        status = "left to the due-deliveries task"
    if status == "deferred":
        return (f"purchase post of order {order_id} queued ({kind}, delivery {delivery.pk}: waiting for the "
                "Ordergroove allowance)")
    return f"purchase post of order {order_id} sent ({kind}, delivery {delivery.pk}: {status})"


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


# --- Customer updated → set contact details ----------------------------------------------------------------------

def contact_details_sync(event: InboundEvent) -> str:
    """Queue `set_contact_details` when the customer's email or phone differs from what Ordergroove last got
    (or is about to get); a newer change supersedes an older one still waiting."""
    store = event.store
    customer_id = int(event.resource_id)
    og_settings_for(store)
    muid = str(customer_id)
    with transaction.atomic():
        # The customer's lock first, then BigCommerce: two events of one customer read in the order they hold the
        # lock, so an older read can never replace what a newer one queued (found by bench/soak.py).
        state = _state_locked(store, muid)
        customer = client_for_store(store).customer(customer_id)
        if customer is None:
            raise EventSkipped(f"customer {customer_id} does not exist in BigCommerce")
        email, phone = (customer.get("email") or "").strip(), (customer.get("phone") or "").strip()
        if not email:
            raise EventSkipped(f"customer {customer_id} has no email")
        in_flight = _in_flight(store, Delivery.Kind.CONTACT_DETAILS, muid)
        if in_flight is not None:
            current = json.loads(in_flight.request or "{}")
            last = (current.get("email", ""), current.get("phone_number", ""))
        else:
            last = (state.email, state.phone_number) if state.contact_sent_at else None
        if last == (email, phone):
            raise EventSkipped(f"email and phone of customer {customer_id} unchanged")
        delivery = _delivery_replace(store, Delivery.Kind.CONTACT_DETAILS, muid, event,
                                     {"email": email, "phone_number": phone})
    return f"contact details of customer {customer_id} queued (delivery {delivery.pk})"


# --- Default instrument updated → update payment default ---------------------------------------------------------

def payment_default_sync(event: InboundEvent) -> str:
    """Queue `update_payment_default` with the customer's new default instrument (seed 000)."""
    store = event.store
    customer_id = int(event.resource_id)
    og = og_settings_for(store)
    muid = str(customer_id)
    with transaction.atomic():
        state = _state_locked(store, muid)  # before reading BigCommerce: see contact_details_sync
        instrument = instruments.default_instrument(og, client_for_store(store), customer_id)
        if instrument is None:
            raise EventSkipped(f"customer {customer_id} has no default payment instrument Ordergroove can use")
        payment = payloads.payment_default_payload(instrument)
        fingerprint = hashlib.sha256(json.dumps(payment, sort_keys=True).encode()).hexdigest()[:32]
        in_flight = _in_flight(store, Delivery.Kind.PAYMENT_DEFAULT, muid)
        last = (json.loads(in_flight.request or "{}").get("fingerprint") if in_flight is not None
                else state.payment_fingerprint)
        if last == fingerprint:
            raise EventSkipped(f"default payment of customer {customer_id} unchanged")
        delivery = _delivery_replace(store, Delivery.Kind.PAYMENT_DEFAULT, muid, event,
                                     {"payment": payment, "fingerprint": fingerprint})
    return f"default payment of customer {customer_id} queued (delivery {delivery.pk})"


def _state_locked(store: Store, merchant_user_id: str) -> CustomerSyncState:
    """The customer's row, locked until the end of the transaction (serialises concurrent events)."""
    try:
        with transaction.atomic():
            CustomerSyncState.objects.get_or_create(store=store, merchant_user_id=merchant_user_id)
    except IntegrityError:
        pass  # created concurrently
    return CustomerSyncState.objects.select_for_update().get(store=store, merchant_user_id=merchant_user_id)


def _in_flight(store: Store, kind: str, merchant_user_id: str) -> Delivery | None:
    return (Delivery.objects.filter(store=store, kind=kind, merchant_user_id=merchant_user_id,
                                    status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING])
            .order_by("-created_at", "-pk").first())


def _delivery_replace(store: Store, kind: str, merchant_user_id: str, event: InboundEvent, request: dict) -> Delivery:
    """A new delivery for the customer; older ones still waiting are superseded (never send stale values)."""
    now = timezone.now()
    Delivery.objects.filter(store=store, kind=kind, merchant_user_id=merchant_user_id,
                            status=Delivery.Status.PENDING).update(status=Delivery.Status.SUPERSEDED,
                                                                    completed_at=now, lease_until=None)
    delivery = Delivery.objects.create(store=store, kind=kind, key=f"{merchant_user_id}:{event.pk}",
                                       merchant_user_id=merchant_user_id, source_event=event,
                                       request=json.dumps(request))
    transaction.on_commit(lambda: delivery_enqueue(delivery.pk))
    return delivery


# --- Sending ---------------------------------------------------------------------------------------------------

def delivery_enqueue(delivery_id: int) -> bool:
    """Hand a delivery to a worker; when the broker is down the periodic task picks it up later."""
    from ordergroove.sync.tasks import delivery_send

    return enqueue_or_mark_due(
        delivery_send, delivery_id, what="delivery",
        pending=Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING,
                                        next_attempt_at__isnull=True))


def _sends_inline() -> bool:
    """Whether a delivery prepared now is sent by this very call: on a Celery worker, outside any transaction.
    A second broker message per order (publish, deliver, ack) cost the worker more CPU than the post itself
    (bench/webhooks.py). Anywhere else (web process, inside a transaction) it is enqueued once committed."""
    from celery import current_task

    return bool(current_task) and not transaction.get_connection().in_atomic_block  # a Proxy: falsy outside


def _due(now) -> Q:
    pending = Q(status=Delivery.Status.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    return pending | Q(status=Delivery.Status.SENDING, lease_until__lt=now)


def delivery_attempt(delivery_id: int) -> str:
    """Claim the delivery (one conditional UPDATE), call Ordergroove once, record the attempt and decide what
    comes next. Returns the delivery's new status (or "not-claimed" when it is not due / someone else has it)."""
    now = timezone.now()
    with transaction.atomic():
        claimed = Delivery.objects.filter(_due(now), pk=delivery_id).update(
            status=Delivery.Status.SENDING, lease_until=now + _lease(), attempts=F("attempts") + 1)
        if not claimed:
            return "not-claimed"
        delivery = Delivery.objects.select_related("store").get(pk=delivery_id)
        if delivery.kind in LATEST_WINS:
            waited = _latest_wins(delivery, now)
            if waited:
                return waited
        # An attempt left open means a worker died waiting for Ordergroove: say so in its row (the first
        # attempt has no predecessor to look for).
        if delivery.attempts > 1:
            DeliveryAttempt.objects.filter(delivery=delivery, finished_at__isnull=True).update(
                outcome="lost", finished_at=now, error="the worker stopped before Ordergroove's answer was recorded")
        attempt = DeliveryAttempt.objects.create(delivery=delivery, number=delivery.attempts, started_at=now)
    return _attempt_run(delivery, attempt)


# A customer's contact details and default card: only the newest change may reach Ordergroove last.
LATEST_WINS = (Delivery.Kind.CONTACT_DETAILS, Delivery.Kind.PAYMENT_DEFAULT)


def _latest_wins(delivery: Delivery, now) -> str | None:
    """For a just-claimed customer delivery: "superseded" when a newer change of the same customer exists (an
    older change that was in flight when the newer was queued, and is now due for a retry); "waiting" when an
    older change is still in flight (the newer goes after it, so it lands last); None: send it."""
    same = Delivery.objects.filter(store=delivery.store, kind=delivery.kind, merchant_user_id=delivery.merchant_user_id)
    if same.filter(pk__gt=delivery.pk).exclude(status=Delivery.Status.SUPERSEDED).exists():
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.SUPERSEDED, completed_at=now,
                                                       lease_until=None, attempts=F("attempts") - 1)
        return Delivery.Status.SUPERSEDED
    older = same.filter(pk__lt=delivery.pk, status=Delivery.Status.SENDING, lease_until__gte=now).first()
    if older is not None:
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.PENDING, lease_until=None,
                                                       next_attempt_at=older.lease_until, attempts=F("attempts") - 1)
        return "waiting"
    return None


def _attempt_run(delivery: Delivery, attempt: DeliveryAttempt) -> str:
    """Call Ordergroove once for a claimed delivery whose attempt row is open; record the answer and settle."""
    try:
        og = og_settings_for(delivery.store)
        response = SENDERS[delivery.kind](delivery, OrdergrooveClient(og))
    except (OrdergrooveNotConfigured, OrdergrooveError) as exc:
        # Raised before any request left (configuration, e.g. no hash key): nothing to retry until fixed.
        _attempt_close(attempt, outcome=Outcome.FAILED.value, error=str(exc))
        return _settle(delivery, Delivery.Status.FAILED, error=str(exc))
    if response.held_back:
        return _defer(delivery, attempt, response.retry_after or 0)
    _attempt_close(attempt, outcome=response.outcome.value, error=response.error, response=response)
    notes = [f"transliterated to ASCII: {', '.join(response.transliterated_fields)}"] \
        if response.transliterated_fields else []
    return _decide(delivery, response, notes)


def _defer(delivery: Delivery, attempt: DeliveryAttempt, wait: float) -> str:
    """Nothing was sent (the allowance had no slot close enough): undo the claim and the attempt, and let the
    sweeper hand the delivery back once a slot is near (DECISIONS §3.13: the wait lives in `next_attempt_at`)."""
    DeliveryAttempt.objects.filter(pk=attempt.pk).delete()
    next_attempt_at = timezone.now() + timedelta(seconds=max(wait, MIN_DEFER_SECONDS))
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.PENDING, lease_until=None, attempts=F("attempts") - 1, next_attempt_at=next_attempt_at)
    delivery.status, delivery.next_attempt_at = Delivery.Status.PENDING, next_attempt_at
    return "deferred"


def _attempt_close(attempt: DeliveryAttempt, *, outcome: str, error: str = "",
                   response: OrdergrooveResponse | None = None) -> None:
    attempt.finished_at = timezone.now()
    attempt.outcome = outcome
    attempt.error = error[:2000]
    fields = ["finished_at", "outcome", "error"]
    if response is not None:
        attempt.duration_ms = response.duration_ms
        attempt.status_code = response.status
        attempt.request_summary = response.request_summary
        attempt.response_excerpt = (response.body or "")[:2000]
        fields += ["duration_ms", "status_code", "request_summary", "response_excerpt"]
    attempt.save(update_fields=fields)


def _decide(delivery: Delivery, response: OrdergrooveResponse, notes: list[str]) -> str:
    now = timezone.now()
    if response.outcome in (Outcome.SUCCESS, Outcome.DUPLICATE, Outcome.PARTIAL):
        return AFTER_SUCCESS[delivery.kind](delivery, response, notes)
    if response.outcome is Outcome.RATE_LIMITED:
        wait = response.retry_after if response.retry_after is not None else 60
        return _settle(delivery, Delivery.Status.PENDING, response=response, notes=notes,
                       next_attempt_at=now + timedelta(seconds=max(wait, 1)))
    if response.outcome is Outcome.RETRY:
        delays = _retry_delays()
        failures = DeliveryAttempt.objects.filter(delivery=delivery, number__gt=delivery.retry_base,
                                                  outcome__in=[Outcome.RETRY.value, "lost"]).count()
        if failures <= len(delays):
            return _settle(delivery, Delivery.Status.PENDING, response=response, notes=notes,
                           next_attempt_at=now + timedelta(seconds=delays[failures - 1]))
        return _settle(delivery, Delivery.Status.FAILED, response=response, notes=notes)
    return _settle(delivery, Delivery.Status.FAILED, response=response, notes=notes)


def _settle(delivery: Delivery, status: str, *, response: OrdergrooveResponse | None = None,
            error: str | None = None, notes: list[str] | None = None, next_attempt_at=None) -> str:
    final = status in Delivery.FINAL
    fields = {"status": status, "lease_until": None, "next_attempt_at": next_attempt_at,
              "completed_at": timezone.now() if final else None}
    if response is not None:
        fields["last_status_code"] = response.status
        fields["last_error"] = (response.error or "")[:2000]
    if error is not None:
        fields["last_error"] = error[:2000]
    if notes:
        fields["notes"] = [*delivery.notes, *[n for n in notes if n not in delivery.notes]]
    Delivery.objects.filter(pk=delivery.pk).update(**fields)
    for key, value in fields.items():
        setattr(delivery, key, value)
    if response is not None and response.should_alert:
        _alert(delivery, response)
    elif status == Delivery.Status.FAILED:
        logger.warning("Ordergroove %s %s failed: %s", delivery.kind, delivery.key, delivery.last_error)
    return status


def _subject(delivery: Delivery) -> str:
    label = Delivery.Kind(delivery.kind).label
    if delivery.merchant_order_id:
        return f"{label} of order {delivery.merchant_order_id}"
    return f"{label} of customer {delivery.merchant_user_id}"


def _alert(delivery: Delivery, response: OrdergrooveResponse) -> None:
    what = "partly failed" if response.outcome is Outcome.PARTIAL else "was refused"
    alert_raise(delivery.store, ALERT_KIND,
                f"{_subject(delivery)} {what} by Ordergroove (HTTP {response.status}): {response.error}",
                detail={"delivery_id": delivery.pk, "status": response.status, "kind": delivery.kind},
                dedupe_key=f"{ALERT_KIND}:{delivery.kind}:{delivery.key}")


# --- What each kind sends and does on success ------------------------------------------------------------------

def purchase_post_send(delivery: Delivery, client: OrdergrooveClient) -> OrdergrooveResponse:
    request = json.loads(delivery.request)
    return client.purchase_post(request["payload"], sig_field=request["sig_field"])


def _purchase_post_done(delivery: Delivery, response: OrdergrooveResponse, notes: list[str]) -> str:
    status = {Outcome.SUCCESS: Delivery.Status.SUCCEEDED, Outcome.DUPLICATE: Delivery.Status.DUPLICATE,
              Outcome.PARTIAL: Delivery.Status.PARTIAL}[response.outcome]
    subs_req_id = response.subs_req_id or ""
    posts = PurchasePost.objects.filter(delivery=delivery)
    # Statement count matters here (each ORM statement costs ~0.7 ms of CPU on the worker, bench/webhooks.py):
    # conditional UPDATEs instead of read-then-write, and INSERT ... ON CONFLICT DO NOTHING (bulk_create with
    # ignore_conflicts) instead of get_or_create's SELECT + SAVEPOINT + INSERT + RELEASE.
    with transaction.atomic():
        if subs_req_id:
            posts.update(subs_req_id=subs_req_id, status_state=PurchasePost.StatusState.WAITING)
            Delivery.objects.bulk_create([Delivery(
                store_id=delivery.store_id, kind=Delivery.Kind.PURCHASE_POST_STATUS, key=delivery.key,
                merchant_user_id=delivery.merchant_user_id, merchant_order_id=delivery.merchant_order_id,
                source_event_id=delivery.source_event_id, request=json.dumps({"subs_req_id": subs_req_id}),
                next_attempt_at=timezone.now() + timedelta(seconds=_status_poll_delays()[0]))],
                ignore_conflicts=True)
        elif response.outcome is Outcome.DUPLICATE:
            posts.filter(subs_req_id="").update(status_state=PurchasePost.StatusState.EARLIER)
        if response.outcome is Outcome.DUPLICATE:
            notes = [*notes, "Ordergroove had already received this order (409): counted as delivered"]
        # Ordergroove now holds the customer's email and phone as posted: later changes are compared to them.
        user = json.loads(delivery.request)["payload"].get("user") or {}
        CustomerSyncState.objects.bulk_create([CustomerSyncState(
            store_id=delivery.store_id, merchant_user_id=delivery.merchant_user_id, email=user.get("email", ""),
            phone_number=user.get("phone_number", ""), contact_sent_at=timezone.now())], ignore_conflicts=True)
        return _settle(delivery, status, response=response, notes=notes)


def purchase_post_status_fetch(delivery: Delivery, client: OrdergrooveClient) -> OrdergrooveResponse:
    request = json.loads(delivery.request)
    return client.purchase_post_status(request["subs_req_id"], sig_field=delivery.merchant_user_id)


def _status_done(delivery: Delivery, response: OrdergrooveResponse, notes: list[str]) -> str:
    now = timezone.now()
    posts = PurchasePost.objects.filter(store=delivery.store, bc_order_id=int(delivery.key))
    if response.pending:
        polls = DeliveryAttempt.objects.filter(delivery=delivery, status_code=202).count()
        delays = _status_poll_delays()
        if polls < len(delays):
            posts.update(status_checked_at=now)
            return _settle(delivery, Delivery.Status.PENDING, response=response,
                           next_attempt_at=now + timedelta(seconds=delays[polls]))
        posts.update(status_checked_at=now, status_state=PurchasePost.StatusState.GAVE_UP)
        return _settle(delivery, Delivery.Status.FAILED, response=response,
                       error="Ordergroove was still processing the purchase post after the last check")
    data = response.data if isinstance(response.data, dict) else {}
    errors = data.get("errors") or {}
    posts.update(status_checked_at=now, status_state=PurchasePost.StatusState.RECEIVED,
                 result_customer=str(data.get("customer") or ""), result_payment=str(data.get("payment") or ""),
                 result_shipping_address=str(data.get("shipping_address") or ""),
                 result_subscriptions=data.get("subscriptions") or [],
                 result_errors=errors if isinstance(errors, dict) else {"errors": errors})
    if errors:
        alert_raise(delivery.store, ALERT_KIND,
                    f"Ordergroove reported errors creating the subscriptions of order {delivery.key}: "
                    f"{json.dumps(errors)[:500]}",
                    detail={"delivery_id": delivery.pk, "kind": delivery.kind},
                    dedupe_key=f"{ALERT_KIND}:{delivery.kind}:{delivery.key}")
    return _settle(delivery, Delivery.Status.SUCCEEDED, response=response, notes=notes)


def contact_details_send(delivery: Delivery, client: OrdergrooveClient) -> OrdergrooveResponse:
    request = json.loads(delivery.request)
    return client.set_contact_details(delivery.merchant_user_id, email=request["email"],
                                      phone_number=request.get("phone_number") or None)


def _contact_done(delivery: Delivery, response: OrdergrooveResponse, notes: list[str]) -> str:
    request = json.loads(delivery.request)
    CustomerSyncState.objects.update_or_create(
        store=delivery.store, merchant_user_id=delivery.merchant_user_id,
        defaults={"email": request["email"], "phone_number": request.get("phone_number", ""),
                  "contact_sent_at": timezone.now()})
    return _settle(delivery, Delivery.Status.SUCCEEDED, response=response, notes=notes)


def payment_default_send(delivery: Delivery, client: OrdergrooveClient) -> OrdergrooveResponse:
    request = json.loads(delivery.request)
    return client.update_payment_default(delivery.merchant_user_id, request["payment"])


def _payment_done(delivery: Delivery, response: OrdergrooveResponse, notes: list[str]) -> str:
    request = json.loads(delivery.request)
    CustomerSyncState.objects.update_or_create(
        store=delivery.store, merchant_user_id=delivery.merchant_user_id,
        defaults={"payment_fingerprint": request["fingerprint"], "payment_sent_at": timezone.now()})
    return _settle(delivery, Delivery.Status.SUCCEEDED, response=response, notes=notes)


SENDERS = {
    Delivery.Kind.PURCHASE_POST: purchase_post_send,
    Delivery.Kind.PURCHASE_POST_STATUS: purchase_post_status_fetch,
    Delivery.Kind.CONTACT_DETAILS: contact_details_send,
    Delivery.Kind.PAYMENT_DEFAULT: payment_default_send,
}
AFTER_SUCCESS = {
    Delivery.Kind.PURCHASE_POST: _purchase_post_done,
    Delivery.Kind.PURCHASE_POST_STATUS: _status_done,
    Delivery.Kind.CONTACT_DETAILS: _contact_done,
    Delivery.Kind.PAYMENT_DEFAULT: _payment_done,
}


# --- Periodic task and replay ---------------------------------------------------------------------------------

_POSTS_FIRST = Case(When(kind=Delivery.Kind.PURCHASE_POST, then=Value(0)), default=Value(1))


def deliveries_due_enqueue(*, limit: int | None = None) -> int:
    """Enqueue deliveries whose time came (retries, status polls, broker-down leftovers), those nobody picked up
    (message lost) and those whose worker died mid-call (lease expired)."""
    now = timezone.now()
    stale = now - timedelta(seconds=getattr(settings, "ORDERGROOVE_STALE_PENDING_SECONDS", STALE_PENDING_SECONDS))
    due = (Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
           | Q(status=Delivery.Status.PENDING, next_attempt_at__isnull=True, created_at__lte=stale)
           | Q(status=Delivery.Status.SENDING, lease_until__lt=now))
    rows = Delivery.objects.filter(due)
    if allowance.first_queued():
        # Purchase posts are queued for the allowance: status polls and updates would only be held back.
        rows = rows.filter(kind=Delivery.Kind.PURCHASE_POST)
    # Purchase posts first, and no more than the allowance can send before the next run (with a margin): what
    # waits in the broker beyond that would only be handed over again by the next run.
    limit = limit or max(RELEASE_MIN, int(allowance.budget_per_minute() * DELIVERIES_DUE_SECONDS / 60 * 1.5))
    ids = list(rows.order_by(_POSTS_FIRST, "next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    for delivery_id in ids:
        if not delivery_enqueue(delivery_id):
            break
    return len(ids)


def deliveries_replay_failed(store: Store, *, kind: str | None = None) -> tuple[int, int]:
    """Replay the store's failed deliveries (of one kind, or all), oldest first, each as delivery_replay does:
    after an outage or a fixed setting, what failed is sent again without a click per call. Returns (replayed,
    still failed): at most bulk_replay_limit() per call."""
    failed = Delivery.objects.filter(store=store, status=Delivery.Status.FAILED)
    limit = bulk_replay_limit()
    if kind:
        failed = failed.filter(kind=kind)
    replayed = 0
    for delivery in failed.order_by("created_at", "pk")[:limit]:
        try:
            delivery_replay(delivery)
            replayed += 1
        except ValueError:  # replayed meanwhile by someone else
            continue
    return replayed, failed.count()


def delivery_replay(delivery: Delivery) -> Delivery:
    """Send a failed delivery again (console): the retry schedule starts over; a purchase post keeps its
    merchant_order_id, so Ordergroove answers 409 if it had received it after all."""
    if delivery.status != Delivery.Status.FAILED:
        raise ValueError(f"only failed deliveries can be replayed (this one is {delivery.status})")
    reset = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.FAILED).update(
        status=Delivery.Status.PENDING, next_attempt_at=None, completed_at=None, retry_base=F("attempts"),
        notes=[*delivery.notes, f"replayed at {timezone.now():%Y-%m-%d %H:%M:%S} UTC"])
    if not reset:  # replayed meanwhile (another click, another operator): that replay sends it
        raise ValueError("this delivery was replayed already")
    alert_resolve(delivery.store, dedupe_key=f"{ALERT_KIND}:{delivery.kind}:{delivery.key}")
    transaction.on_commit(lambda: delivery_enqueue(delivery.pk))
    delivery.refresh_from_db()
    return delivery
