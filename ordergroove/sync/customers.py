"""Customer changes → Ordergroove: a customer's new email/phone (`set_contact_details`) and new default payment
instrument (`update_payment_default`) become deliveries, queued only when they differ from what Ordergroove
last got (or is about to get); a newer change supersedes an older one still waiting, and services.py sends
them so that the newest lands last.
"""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils import timezone

from bigcommerce_app.client import client_for_store
from bigcommerce_app.inbox.services import EventSkipped
from bigcommerce_app.models import InboundEvent, Store
from ordergroove.models import CustomerSyncState, Delivery
from ordergroove.sync import instruments, payloads
from ordergroove.sync.sending import og_settings_for

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
    Delivery.enqueue_on_commit(delivery.pk)
    return delivery

