"""Ordergroove's allowance (ordergroove/allowance.py): one schedule per egress IP in the real Redis, shared by
every process; purchase posts before background calls; a call with no slot close enough is not sent.

The multi-process tests run real processes (spawned, each with its own Django and Redis connection) calling the
real booking code; the end-to-end ones with Celery worker processes are in sync/test_allowance_workers.py."""

from __future__ import annotations

import json
import multiprocessing
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from ordergroove import allowance
from ordergroove.allowance import Grant, Priority
from ordergroove.client import OrdergrooveClient, Outcome
from ordergroove.models import Delivery, PurchasePost
from ordergroove.sync import services
from tests.fakes.ordergroove import max_in_window
from tests.ordergroove.allowance_processes import book_in_threads

STEP, HORIZON, GAP = 1.0, 5.0, 0.5


@pytest.fixture
def egress(settings):
    """A schedule of its own (the Redis database is shared by the whole test run)."""
    settings.ORDERGROOVE_EGRESS_ID = f"test-{uuid.uuid4().hex[:12]}"
    yield settings.ORDERGROOVE_EGRESS_ID
    allowance._redis_down_until = 0.0


@pytest.fixture(params=["redis", "memory"])
def backend(request, settings, egress):
    """The same rule with the shared Redis schedule and with the per-process one (no REDIS_URL)."""
    if request.param == "redis":
        if not settings.REDIS_AVAILABLE:
            pytest.skip("needs Redis")
    else:
        settings.REDIS_URL = None
    return request.param


# --- The rule, with explicit times --------------------------------------------------------------------------------

def test_first_calls_take_consecutive_slots_and_wait_for_them():
    grant, next_free, first_until = allowance.decide(100.0, 0.0, 0.0, first=True, step=STEP, horizon=HORIZON,
                                                     gap=GAP)
    assert grant == Grant(True, 0.0, 100.0) and (next_free, first_until) == (101.0, 101.0)
    grant, next_free, first_until = allowance.decide(100.2, next_free, first_until, first=True, step=STEP,
                                                     horizon=HORIZON, gap=GAP)
    assert grant.granted and grant.at == 101.0 and round(grant.wait, 6) == 0.8 and next_free == 102.0


def test_a_slot_further_than_the_wait_bound_books_nothing_and_says_when_to_ask_again():
    grant, next_free, first_until = allowance.decide(100.0, 106.0, 106.0, first=True, step=STEP, horizon=HORIZON,
                                                     gap=GAP)
    assert not grant.granted and round(grant.wait, 6) == 1.0  # the slot at 106 is 6 s away, 1 s beyond the bound
    assert (next_free, first_until) == (106.0, 106.0)


def test_background_calls_wait_while_purchase_posts_are_queued_beyond_the_gap():
    # Purchase posts booked up to 103: a status poll at 100 is held back until they are within the gap.
    grant, next_free, first_until = allowance.decide(100.0, 103.0, 103.0, first=False, step=STEP, horizon=HORIZON,
                                                     gap=GAP)
    assert not grant.granted and round(grant.wait, 6) == 2.5 and next_free == 103.0
    # Posts only 0.4 s ahead: the poll takes the next slot, and does not hold back the posts behind it.
    grant, next_free, first_until = allowance.decide(100.0, 100.4, 100.4, first=False, step=STEP, horizon=HORIZON,
                                                     gap=GAP)
    assert grant.granted and grant.at == 100.4 and (next_free, first_until) == (101.4, 100.4)


# --- The real schedule (Redis, or this process's memory) ---------------------------------------------------------

def test_posts_queue_in_order_and_hold_back_background_calls(backend, settings):
    settings.ORDERGROOVE_RATE_BUDGET_PER_MINUTE = 61  # one slot a second
    settings.ORDERGROOVE_RATE_MAX_WAIT, settings.ORDERGROOVE_RATE_PRIORITY_GAP = 5.0, 0.5
    assert not allowance.first_queued()
    posts = [allowance.book(Priority.FIRST) for _ in range(4)]
    assert all(g.granted for g in posts)
    assert [round(b.at - a.at, 3) for a, b in zip(posts, posts[1:], strict=False)] == [1.0, 1.0, 1.0]
    assert allowance.first_queued()
    poll = allowance.book(Priority.BACKGROUND)
    assert not poll.granted and 2.9 < poll.wait <= 3.5  # until the posts are within the gap
    late = [allowance.book(Priority.FIRST) for _ in range(3)]
    assert [g.granted for g in late] == [True, True, False]  # the third would wait more than 5 s
    assert 0 < late[2].wait <= 1.0


def test_each_egress_ip_has_its_own_budget(backend, settings):
    settings.ORDERGROOVE_RATE_BUDGET_PER_MINUTE = 61
    assert allowance.book(Priority.FIRST).wait == 0
    assert allowance.book(Priority.FIRST).wait > 0.9
    settings.ORDERGROOVE_EGRESS_ID = settings.ORDERGROOVE_EGRESS_ID + "-b"
    assert allowance.book(Priority.FIRST).wait == 0


@pytest.mark.integration
def test_redis_unreachable_falls_back_to_this_process(egress, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.ORDERGROOVE_RATE_BUDGET_PER_MINUTE = 61
    first, second = allowance.book(Priority.FIRST), allowance.book(Priority.FIRST)
    assert first.granted and second.granted and round(second.at - first.at, 3) == 1.0


@pytest.mark.integration
@pytest.mark.parametrize("processes", [1, 4])
def test_the_budget_holds_across_processes(egress, settings, processes):
    """However many processes book at once, the slots handed out are an interval apart on Redis's clock, so
    no 60 s window holds more than the budget; a booking never waits longer than the bound."""
    if not settings.REDIS_AVAILABLE:
        pytest.skip("needs Redis")
    budget, horizon = 3000, 0.15
    step = (60 + allowance.TRANSIT_GUARD_SECONDS) / budget
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.starmap(book_in_threads, [(egress, budget, horizon, 4, 48 // (4 * processes))] * processes)
    bookings = [b for result in results for b in result]
    slots = sorted(at for granted, at, _wait in bookings if granted)
    assert len(bookings) == 48 and len(slots) >= 12
    # An interval apart: any 60 s window holds at most 60 / step + 1 = budget * 60 / 61 + 1 slots.
    assert min(b - a for a, b in zip(slots, slots[1:], strict=False)) >= step - 1e-5
    assert all(wait <= horizon + 1e-6 for granted, _at, wait in bookings if granted)
    # Not granted: the hint says when to ask again, never in the past (0 when the slot lies within a microsecond
    # of the bound: Redis's answer is rounded to six decimals).
    assert all(wait >= 0 for granted, _at, wait in bookings if not granted)


# --- The client and the delivery: a call held back is not an attempt -------------------------------------------------

def test_a_call_with_no_slot_close_enough_is_not_sent(og_settings, fake_og, backend, settings):
    settings.ORDERGROOVE_RATE_BUDGET_PER_MINUTE, settings.ORDERGROOVE_RATE_MAX_WAIT = 61, 2.0
    for _ in range(3):
        allowance.book(Priority.FIRST)  # slots booked up to 3 s ahead by other workers
    response = OrdergrooveClient(og_settings).customer("42")
    assert (response.held_back, response.outcome, response.status) == (True, Outcome.RATE_LIMITED, None)
    assert 0.9 < response.retry_after <= 1.0 and "no free slot" in response.error
    assert fake_og.requests == []


def _post_delivery(store, order_id: int) -> Delivery:
    payload = {"merchant_order_id": str(order_id), "og_cart_tracking": False, "products": [],
               "user": {"user_id": "7", "email": "jane@example.com"}}
    delivery = Delivery.objects.create(store=store, kind=Delivery.Kind.PURCHASE_POST, key=str(order_id),
                                       merchant_user_id="7", merchant_order_id=str(order_id),
                                       request=json.dumps({"payload": payload, "sig_field": "7"}))
    PurchasePost.objects.create(store=store, bc_order_id=order_id, merchant_user_id="7", delivery=delivery)
    return delivery


def test_a_held_back_delivery_is_rescheduled_then_delivered_once(og_settings, fake_og, backend, settings):
    settings.ORDERGROOVE_RATE_BUDGET_PER_MINUTE = 61
    delivery = _post_delivery(og_settings.store, 5001)
    assert all(allowance.book(Priority.FIRST).granted for _ in range(4))  # other workers' posts, up to 4 s ahead
    settings.ORDERGROOVE_RATE_MAX_WAIT = 2.0
    before = timezone.now()
    assert services.delivery_attempt(delivery.pk) == "deferred"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.attempt_rows.count()) == ("pending", 0, 0)
    assert before + timedelta(seconds=1.5) < delivery.next_attempt_at < before + timedelta(seconds=3)
    assert fake_og.requests == []
    assert services.delivery_attempt(delivery.pk) == "not-claimed"  # not due yet: the sweeper hands it back later

    settings.ORDERGROOVE_EGRESS_ID += "-later"  # the queued slots have gone (a fresh schedule, instead of waiting)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert services.delivery_attempt(delivery.pk) == "succeeded"
    delivery.refresh_from_db()
    assert (delivery.attempts, [a.status_code for a in delivery.attempt_rows.all()]) == (1, [201])
    assert list(fake_og.merchants[og_settings.merchant_id].purchase_posts) == ["5001"]


def test_the_sweeper_leaves_background_calls_in_the_database_while_posts_are_queued(og_settings, backend, settings,
                                                                                     monkeypatch):
    settings.ORDERGROOVE_RATE_BUDGET_PER_MINUTE = 61
    store, now = og_settings.store, timezone.now()
    post = _post_delivery(store, 5002)
    Delivery.objects.filter(pk=post.pk).update(next_attempt_at=now)
    poll = Delivery.objects.create(store=store, kind=Delivery.Kind.PURCHASE_POST_STATUS, key="5003",
                                   request='{"subs_req_id": "abc"}', next_attempt_at=now - timedelta(minutes=5))
    enqueued: list[int] = []
    monkeypatch.setattr(services, "delivery_enqueue", lambda pk: enqueued.append(pk) or True)
    assert services.deliveries_due_enqueue() == 2 and enqueued == [post.pk, poll.pk]  # posts first
    enqueued.clear()
    for _ in range(3):
        allowance.book(Priority.FIRST)
    assert services.deliveries_due_enqueue() == 1 and enqueued == [post.pk]


# --- The fake's limit ------------------------------------------------------------------------------------------------

def test_the_fake_answers_429_beyond_its_limit_and_the_client_honours_the_reset(og_settings, fake_og, backend,
                                                                               settings):
    fake_og.rate_limit_per_minute = 2
    client = OrdergrooveClient(og_settings)
    answers = [client.customer("42") for _ in range(3)]
    assert [a.status for a in answers] == [404, 404, 429] and fake_og.rate_limited == 1
    assert answers[2].outcome is Outcome.RATE_LIMITED and 58 <= answers[2].retry_after <= 60
    assert max_in_window(fake_og.request_times()) == 3


def test_a_429_from_ordergroove_is_still_honoured_after_its_reset(og_settings, fake_og, backend):
    fake_og.rate_limit_per_minute = 1
    first, second = _post_delivery(og_settings.store, 5101), _post_delivery(og_settings.store, 5102)
    Delivery.objects.filter(pk__in=[first.pk, second.pk]).update(next_attempt_at=timezone.now())
    assert services.delivery_attempt(first.pk) == "succeeded"
    before = timezone.now()
    assert services.delivery_attempt(second.pk) == "pending"
    second.refresh_from_db()
    assert [a.status_code for a in second.attempt_rows.all()] == [429]  # sent and refused: an attempt
    assert before + timedelta(seconds=55) < second.next_attempt_at <= before + timedelta(seconds=61)

    fake_og.rate_limit_per_minute = None  # the minute has passed
    Delivery.objects.filter(pk=second.pk).update(next_attempt_at=timezone.now())
    assert services.delivery_attempt(second.pk) == "succeeded"
    assert sorted(fake_og.merchants[og_settings.merchant_id].purchase_posts) == ["5101", "5102"]


def test_max_in_window_counts_half_open_windows():
    assert max_in_window([]) == 0
    assert max_in_window([0, 30, 59.9, 60, 119.95]) == 3
    assert max_in_window([0, 1, 2, 3], window=2) == 2
