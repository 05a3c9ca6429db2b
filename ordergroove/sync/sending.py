"""Sending one claimed delivery (DECISIONS §3.13): call Ordergroove once, record the attempt (masked request,
status, response excerpt, duration) and settle the outcome: what each kind sends, what each does on success,
the retry schedule (the row's, middleware.plumbing.jobs) and the alerts of 207/400/401/403.

Every call books a slot of the egress IP's Ordergroove allowance first (ordergroove/allowance.py, in the
client); a call with no slot close enough is not an attempt: the claim is undone and the delivery is due again
when a slot is near.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bigcommerce_app.models import Store
from bigcommerce_app.services import alert_raise
from ordergroove.client import OrdergrooveClient, OrdergrooveError, OrdergrooveResponse, Outcome
from ordergroove.models import CustomerSyncState, Delivery, DeliveryAttempt, OrdergrooveSettings, PurchasePost
from ordergroove.sync import selectors

logger = logging.getLogger(__name__)

# Purchase-post status (asynchronous result): ask after 1 min, then back off up to a day; then give up.
STATUS_POLL_DELAYS = (60, 300, 900, 3600, 6 * 3600, 24 * 3600)
MIN_DEFER_SECONDS = 1.0  # a call held back by the allowance is due again after at least this
ALERT_KIND = "ordergroove_delivery"


class OrdergrooveNotConfigured(Exception):
    """The store has no merchant id / hash key yet: nothing can be signed."""


def _status_poll_delays() -> tuple[int, ...]:
    return tuple(getattr(settings, "ORDERGROOVE_STATUS_POLL_DELAYS", STATUS_POLL_DELAYS))


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



def attempt_run(delivery: Delivery, attempt: DeliveryAttempt) -> str:
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
    Delivery.unclaim(delivery.pk, next_attempt_at=next_attempt_at)
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
        # Failures in a row since the last replay, the lost attempts (worker died mid-call) included.
        failures = DeliveryAttempt.objects.filter(delivery=delivery, number__gt=delivery.retry_base,
                                                  outcome__in=[Outcome.RETRY.value, "lost"]).count()
        delay = Delivery.retry_delay(failures)
        if delay is not None:
            return _settle(delivery, Delivery.Status.PENDING, response=response, notes=notes,
                           next_attempt_at=now + timedelta(seconds=delay))
        return _settle(delivery, Delivery.Status.FAILED, response=response, notes=notes)
    return _settle(delivery, Delivery.Status.FAILED, response=response, notes=notes)


def _settle(delivery: Delivery, status: str, *, response: OrdergrooveResponse | None = None,
            error: str | None = None, notes: list[str] | None = None, next_attempt_at=None) -> str:
    now = timezone.now()
    fields = {}
    if response is not None:
        fields["last_status_code"] = response.status
        error = (response.error or "") if error is None else error
    if notes:
        fields["notes"] = [*delivery.notes, *[n for n in notes if n not in delivery.notes]]
    Delivery.finish(delivery.pk, status, error=error, next_attempt_at=next_attempt_at, now=now, **fields)
    if error is not None:
        fields["last_error"] = error[:Delivery.job_error_max]
    fields.update(status=status, lease_until=None, next_attempt_at=next_attempt_at,
                  completed_at=now if status in Delivery.FINAL else None)
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

