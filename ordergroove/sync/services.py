"""Writes of the sync's deliveries: claim and send one (the task's body), the periodic enqueue of what is due, and
replay. Inbox events become deliveries in purchase_posts.py (order created) and customers.py (customer
changes); sending.py calls Ordergroove and settles the outcome (DECISIONS §3.13).

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

Delivery is a durable job (middleware.plumbing.jobs): claim, lease, sweep, replay and enqueue-or-mark-due are the
mechanism's, configured on the model.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from bigcommerce_app.inbox.services import bulk_replay_limit
from bigcommerce_app.models import Store
from bigcommerce_app.services import alert_resolve
from ordergroove import allowance
from ordergroove.models import Delivery, DeliveryAttempt
from ordergroove.schedule import DELIVERIES_DUE_SECONDS
from ordergroove.sync.sending import ALERT_KIND, attempt_run

RELEASE_MIN = 20  # deliveries one run of the periodic task enqueues at least


def delivery_enqueue(delivery_id: int) -> bool:
    """Hand a delivery to a worker; when the broker is down the periodic task picks it up later."""
    return Delivery.enqueue(delivery_id)


def delivery_attempt(delivery_id: int) -> str:
    """Claim the delivery (one conditional UPDATE), call Ordergroove once, record the attempt and decide what
    comes next. Returns the delivery's new status (or "not-claimed" when it is not due / someone else has it)."""
    now = timezone.now()
    with transaction.atomic():
        if not Delivery.claim(delivery_id, now=now):
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
    return attempt_run(delivery, attempt)


# A customer's contact details and default card: only the newest change may reach Ordergroove last.
LATEST_WINS = (Delivery.Kind.CONTACT_DETAILS, Delivery.Kind.PAYMENT_DEFAULT)


def _latest_wins(delivery: Delivery, now) -> str | None:
    """For a just-claimed customer delivery: "superseded" when a newer change of the same customer exists (an
    older change that was in flight when the newer was queued, and is now due for a retry); "waiting" when an
    older change is still in flight (the newer goes after it, so it lands last); None: send it."""
    same = Delivery.objects.filter(store=delivery.store, kind=delivery.kind, merchant_user_id=delivery.merchant_user_id)
    if same.filter(pk__gt=delivery.pk).exclude(status=Delivery.Status.SUPERSEDED).exists():
        # Not an attempt: nothing was sent.
        Delivery.finish(delivery.pk, Delivery.Status.SUPERSEDED, now=now, attempts=F("attempts") - 1)
        return Delivery.Status.SUPERSEDED
    older = same.filter(pk__lt=delivery.pk, status=Delivery.Status.SENDING, lease_until__gte=now).first()
    if older is not None:
        Delivery.unclaim(delivery.pk, next_attempt_at=older.lease_until)
        return "waiting"
    return None


# --- Periodic task and replay ---------------------------------------------------------------------------------

_POSTS_FIRST = Case(When(kind=Delivery.Kind.PURCHASE_POST, then=Value(0)), default=Value(1))


def deliveries_due_enqueue(*, limit: int | None = None) -> int:
    """Enqueue deliveries whose time came (retries, status polls, broker-down leftovers), those nobody picked up
    (message lost) and those whose worker died mid-call (lease expired)."""
    rows = Delivery.objects.all()
    if allowance.first_queued():
        # Purchase posts are queued for the allowance: status polls and updates would only be held back.
        rows = rows.filter(kind=Delivery.Kind.PURCHASE_POST)
    # Purchase posts first, and no more than the allowance can send before the next run (with a margin): what
    # waits in the broker beyond that would only be handed over again by the next run.
    limit = limit or max(RELEASE_MIN, int(allowance.budget_per_minute() * DELIVERIES_DUE_SECONDS / 60 * 1.5))
    return Delivery.sweep(rows=rows, order_by=(_POSTS_FIRST, "next_attempt_at", "pk"), limit=limit,
                          enqueue=delivery_enqueue)


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
    if not Delivery.replay(delivery.pk, enqueue=delivery_enqueue, retry_base=F("attempts"),
                           notes=[*delivery.notes, f"replayed at {timezone.now():%Y-%m-%d %H:%M:%S} UTC"]):
        # Replayed meanwhile (another click, another operator): that replay sends it.
        raise ValueError("this delivery was replayed already")
    alert_resolve(delivery.store, dedupe_key=f"{ALERT_KIND}:{delivery.kind}:{delivery.key}")
    delivery.refresh_from_db()
    return delivery
