"""Ordergroove's allowance with real Celery worker processes, the real Redis (broker and schedule), PostgreSQL and
the fakes over HTTP: the budget holds whatever the number of processes, purchase posts go before status polls,
and a call that must wait is rescheduled and delivered exactly once.

Time is compressed: the fake Ordergroove counts its limit over a 1 s window instead of 60 s, and the service's
budget is set to match (600/min is 9.8 calls a second against the fake's 12 a second)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from bigcommerce_app.inbox import services as inbox
from bigcommerce_app.models import InboundEvent
from ordergroove import allowance
from ordergroove.models import Delivery
from ordergroove.sync import services
from tests.fakes.ordergroove import SubsRequest, max_in_window
from tests.ordergroove.sync.conftest import OG_MERCHANT_ID
from tests.ordergroove.sync.test_worker_e2e import ORDER_CREATED, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
POSTS = r"^/sc/subscription/create"
POLLS = r"^/sc/subscription/[^/]+/response"


@pytest.fixture
def budget(settings):
    """The allowance as the test process and the workers both see it (a schedule of this test's own)."""
    values = {"ORDERGROOVE_EGRESS_ID": f"workers-{uuid.uuid4().hex[:12]}", "ORDERGROOVE_RATE_BUDGET_PER_MINUTE": 600,
              "ORDERGROOVE_RATE_MAX_WAIT": 0.3, "ORDERGROOVE_RATE_PRIORITY_GAP": 0.3}

    def apply(**changes):
        values.update(changes)
        for name, value in values.items():
            setattr(settings, name, value)
        return {name: str(value) for name, value in values.items()}

    apply()
    return apply


@contextmanager
def worker_processes(count: int, env: dict[str, str]):
    """`count` real `celery worker` processes (3 threads each) on the test database and Redis."""
    from middleware.celery import app

    app.control.purge()
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "middleware.settings.test",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "REDIS_URL": django_settings.CELERY_BROKER_URL, **env}
    celery_bin = shutil.which("celery", path=str(Path(sys.executable).parent))
    procs = [subprocess.Popen([celery_bin, "-A", "middleware", "worker", "-P", "threads", "-c", "3", "-n",
                               f"allowance{i}-{uuid.uuid4().hex[:6]}@%h", "--without-heartbeat", "--without-mingle",
                               "--without-gossip", "-l", "error"], cwd=ROOT, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(count)]
    try:
        wait_for(lambda: len(app.control.ping(timeout=0.5)) >= count, deadline=120, what="the workers to start")
        yield procs
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _arrivals(fake_og, pattern: str) -> list[float]:
    return [r.received_at for r in fake_og.requests_to("POST" if pattern == POSTS else "GET", pattern)]


@pytest.mark.parametrize("processes", [1, 4])
def test_the_budget_holds_whatever_the_number_of_worker_processes(shop, fake_bc, fake_og, budget, processes):
    fake_og.rate_limit_per_minute, fake_og.rate_window_seconds = 12, 1.0
    orders = [shop.order(shop.coffee_line(option_value=shop.monthly_value)) for _ in range(16)]
    events = [shop.event(ORDER_CREATED, order["id"]) for order in orders]
    env = budget()

    with worker_processes(processes, {"BIGCOMMERCE_API_URL": fake_bc.url, **env}):
        # Other senders on this egress IP have booked the next 5 s (no request of theirs reaches the fake): the
        # first posts cannot get a slot within the workers' 0.3 s bound and are rescheduled.
        budget(ORDERGROOVE_RATE_MAX_WAIT=10.0)
        assert all(allowance.book(allowance.Priority.FIRST).granted for _ in range(50))
        for event in events:
            inbox.inbound_event_enqueue(event.pk)
        wait_for(lambda: Delivery.objects.filter(kind="purchase_post", status="succeeded").count() == 16,
                 deadline=120, tick=services.deliveries_due_enqueue, what="16 purchase posts delivered")

    assert fake_og.rate_limited == 0
    assert max_in_window(_arrivals(fake_og, POSTS), window=1.0) <= 12
    assert len(fake_og.requests_to("POST", POSTS)) == 16  # each order sent once: a call held back sent nothing
    assert sorted(fake_og.merchants[OG_MERCHANT_ID].purchase_posts) == sorted(str(o["id"]) for o in orders)
    deliveries = Delivery.objects.filter(kind="purchase_post")
    assert {(d.status, d.attempts, d.attempt_rows.count()) for d in deliveries} == {("succeeded", 1, 1)}
    held_back = [e for e in InboundEvent.objects.all() if "waiting for the Ordergroove allowance" in e.result]
    assert held_back  # rescheduled through next_attempt_at, not slept on, and still posted once


def test_purchase_posts_go_before_status_polls(shop, fake_bc, fake_og, budget):
    """Eight orders' purchase posts are queued for the allowance when eight due status polls reach the workers:
    the polls are held back (rescheduled) and reach Ordergroove only after the last post, each once."""
    env = budget(ORDERGROOVE_RATE_BUDGET_PER_MINUTE=122, ORDERGROOVE_RATE_MAX_WAIT=5.0,  # a slot every 0.5 s
                 ORDERGROOVE_RATE_PRIORITY_GAP=0.1)
    fake_og.status_pending_polls = 0
    polls = []
    for i in range(8):
        subs_req_id = f"earlier{i:02d}{uuid.uuid4().hex[:8]}"
        fake_og.subs_requests[subs_req_id] = SubsRequest(
            subs_req_id=subs_req_id, public_id=OG_MERCHANT_ID, merchant_order_id=str(900 + i), pending_polls=0,
            result={"customer": "7", "payment": None, "shipping_address": "a1", "subscriptions": [], "errors": {}})
        polls.append(Delivery.objects.create(
            store=shop.store, kind=Delivery.Kind.PURCHASE_POST_STATUS, key=str(900 + i), merchant_user_id="7",
            request=f'{{"subs_req_id": "{subs_req_id}"}}', next_attempt_at=timezone.now() + timedelta(hours=1)))
    orders = [shop.order(shop.coffee_line(option_value=shop.monthly_value)) for _ in range(8)]

    with worker_processes(4, {"BIGCOMMERCE_API_URL": fake_bc.url, **env}):
        for order in orders:
            inbox.inbound_event_enqueue(shop.event(ORDER_CREATED, order["id"]).pk)
        wait_for(lambda: Delivery.objects.filter(kind="purchase_post").count() == 8 and allowance.first_queued(),
                 deadline=60, what="the eight posts queued for the allowance")
        Delivery.objects.filter(pk__in=[p.pk for p in polls]).update(next_attempt_at=timezone.now())
        for poll in polls:
            services.delivery_enqueue(poll.pk)  # straight to the workers, as if released just before
        wait_for(lambda: Delivery.objects.filter(kind="purchase_post_status", status="succeeded").count() == 8,
                 deadline=120, tick=services.deliveries_due_enqueue, what="the polls delivered")

    posts, polled = _arrivals(fake_og, POSTS), _arrivals(fake_og, POLLS)
    assert len(posts) == 8 and len(polled) == 8
    assert min(polled) > max(posts)
    assert fake_og.rate_limited == 0
    for poll in Delivery.objects.filter(pk__in=[p.pk for p in polls]):
        assert (poll.status, poll.attempts, [a.status_code for a in poll.attempt_rows.all()]) == ("succeeded", 1, [200])
