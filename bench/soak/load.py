"""The mixed load, played the way each caller behaves: BigCommerce delivers webhooks at least once (some twice)
and delivers again whatever did not get a 2xx; Ordergroove posts recurring orders and posts again, same
orderOgId, when it got no answer or a "999 retry later"; Ordergroove's event webhooks; the Stencil theme's two
storefront calls; the merchant's "Run now" of the product feed. Every answer is recorded with its time."""

from __future__ import annotations

import heapq
import itertools
import json
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

import requests

from bench.soak.vendors import PROXY_HEADERS, SoakStore, Vendors
from bigcommerce_app.identifiers import og_product_id
from ordergroove import signatures
from ordergroove.management.commands.og_send import placement_xml

ORDER_CREATED = "store/order/created"
CUSTOMER_UPDATED = "store/customer/updated"
DEFAULT_INSTRUMENT_UPDATED = "store/customer/payment/instrument/default/updated"
DUPLICATE_SHARE = 0.2  # of accepted webhooks BigCommerce delivers a second time
REDELIVERY_BACKOFF = (1, 2, 4, 8, 10)  # seconds; BigCommerce's own schedule is minutes to hours
ANSWER_CODE = re.compile(rb"<code>(\w+)</code>(?:.*?<errorCode>(\w+)</errorCode>)?", re.S)


@dataclass
class Answer:
    at: float
    kind: str
    status: int  # 0: no answer (connection refused or reset, timeout)
    body: str = ""


class Recorder:
    """Answers by kind, and the times of successes per stream (for recovery times)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: list[Answer] = []
        self.successes: dict[str, list[float]] = {}

    def answer(self, kind: str, status: int, body: str = "") -> None:
        with self.lock:
            self.answers.append(Answer(time.time(), kind, status, body[:200] if status >= 500 else ""))

    def success(self, stream: str, at: float | None = None) -> None:
        with self.lock:
            self.successes.setdefault(stream, []).append(at or time.time())

    def first_success_after(self, stream: str, moment: float) -> float | None:
        with self.lock:
            later = [t for t in self.successes.get(stream, []) if t >= moment]
        return min(later) if later else None


@dataclass(order=True)
class Webhook:
    due: float
    seq: int
    store: SoakStore = field(compare=False)
    scope: str = field(compare=False)
    body: bytes = field(compare=False)
    key: str = field(compare=False)  # what it is about: "order:<store>:<id>", ...
    attempts: int = field(default=0, compare=False)
    duplicate: bool = field(default=False, compare=False)


@dataclass
class Placement:
    og_order_id: str
    store: SoakStore
    body: bytes
    customer_id: int
    answers: list[str] = field(default_factory=list)
    done: bool = False  # a final answer (SUCCESS or a code Ordergroove does not retry at once)
    bc_order_id: int | None = None


class Load:
    def __init__(self, web_url: str, vendors: Vendors, recorder: Recorder, *, seed: int = 14):
        self.web_url = web_url
        self.vendors = vendors
        self.rec = recorder
        self.rng = random.Random(seed)
        self.rng_lock = threading.Lock()
        self._local = threading.local()
        self._seq = itertools.count()
        self._queue: list[Webhook] = []
        self._queue_cv = threading.Condition()
        self.webhooks: dict[bytes, dict] = {}  # body → {"scope", "key", "sends", "accepted"}
        self.orders: dict[tuple[str, int], bytes] = {}  # (store, order id) → its webhook body
        self.touched_customers: set[tuple[str, int]] = set()
        self.placements: dict[str, Placement] = {}
        self.og_events: dict[str, dict] = {}  # event id → {"sends", "accepted"}
        self.feed_runs: list[tuple[str, int]] = []  # (store, run id) accepted by "Run now"
        self.load_stop = threading.Event()  # no new work
        self.retry_stop = threading.Event()  # callers stop delivering again (end of the drain)
        self.threads: list[threading.Thread] = []

    # --- Plumbing -------------------------------------------------------------------------------------------
    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            self._local.session.headers.update(PROXY_HEADERS)
        return self._local.session

    def call(self, kind: str, method: str, path: str, **kwargs) -> requests.Response | None:
        try:
            response = self.session().request(method, f"{self.web_url}{path}", timeout=30, **kwargs)
        except requests.RequestException:
            self.rec.answer(kind, 0)
            self._local.session = requests.Session()  # a fresh connection pool after a reset
            self._local.session.headers.update(PROXY_HEADERS)
            return None
        self.rec.answer(kind, response.status_code, response.text)
        return response

    def pick(self, seq):
        with self.rng_lock:
            return self.rng.choice(seq)

    def chance(self, share: float) -> bool:
        with self.rng_lock:
            return self.rng.random() < share

    def start(self, *, rate: float, max_requests: int) -> None:
        """`rate`: order webhooks per second (the other callers scale with it); no new work after
        `max_requests` answers (a bound whatever the timing)."""
        self.max_requests = max_requests
        loops = [(self.order_loop, 1 / rate), (self.customer_loop, 3 / rate), (self.instrument_loop, 5 / rate),
                 (self.storefront_loop, 0.5 / rate), (self.placement_loop, 4 / rate), (self.og_event_loop, 3 / rate),
                 (self.feed_loop, 12.0)]
        for target, interval in loops:
            self.threads.append(threading.Thread(target=self._paced, args=(target, interval), daemon=True,
                                                 name=f"soak-{target.__name__}"))
        for n in range(4):
            self.threads.append(threading.Thread(target=self._deliver_webhooks, daemon=True, name=f"soak-bc-{n}"))
        self.threads.append(threading.Thread(target=self._retry_placements, daemon=True, name="soak-og-retry"))
        for thread in self.threads:
            thread.start()

    def _paced(self, step, interval: float) -> None:
        next_at = time.monotonic()
        while not self.load_stop.is_set():
            if len(self.rec.answers) >= self.max_requests:
                self.load_stop.set()
                break
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - a load bug must not silently stop one caller
                self.rec.answer(f"soak-error:{step.__name__}:{exc!r}"[:120], -1)
            next_at += interval
            self.load_stop.wait(max(next_at - time.monotonic(), 0))

    # --- BigCommerce webhooks ---------------------------------------------------------------------------------
    def webhook(self, store: SoakStore, scope: str, data: dict, key: str) -> None:
        payload = self.vendors.bc.webhook_payload(store.store_hash, scope, data)
        payload["hash"] = secrets.token_hex(20)  # one event, one hash (the fake's is per second of creation)
        body = json.dumps(payload).encode()
        self.webhooks[body] = {"scope": scope, "key": key, "sends": 0, "accepted": False}
        self._enqueue(Webhook(time.monotonic(), next(self._seq), store, scope, body, key))
        return body

    def _enqueue(self, hook: Webhook) -> None:
        with self._queue_cv:
            heapq.heappush(self._queue, hook)
            self._queue_cv.notify()

    def _deliver_webhooks(self) -> None:
        while not self.retry_stop.is_set():
            with self._queue_cv:
                if not self._queue or self._queue[0].due > time.monotonic():
                    self._queue_cv.wait(0.1)
                    continue
                hook = heapq.heappop(self._queue)
            record = self.webhooks[hook.body]
            record["sends"] += 1
            response = self.call(f"webhook {hook.scope.split('/')[-2]}", "POST", "/webhooks/bigcommerce",
                                 data=hook.body, headers=hook.store.hook_headers[hook.scope])
            if response is not None and response.status_code == 200:
                first = not record["accepted"]
                record["accepted"] = True
                self.rec.success("intake")
                if first and not hook.duplicate and self.chance(DUPLICATE_SHARE):
                    self._enqueue(Webhook(time.monotonic() + self.pick((0.2, 1, 3)), next(self._seq), hook.store,
                                          hook.scope, hook.body, hook.key, duplicate=True))
                continue
            hook.attempts += 1  # no 2xx: BigCommerce delivers it again later
            hook.due = time.monotonic() + REDELIVERY_BACKOFF[min(hook.attempts, len(REDELIVERY_BACKOFF)) - 1]
            self._enqueue(hook)

    def pending_webhooks(self) -> int:
        return sum(1 for r in self.webhooks.values() if not r["accepted"])

    def order_loop(self) -> None:
        store = self.pick(self.vendors.stores)
        order_id = self.vendors.checkout(store, self.rng)
        self.orders[(store.store_hash, order_id)] = self.webhook(
            store, ORDER_CREATED, {"type": "order", "id": order_id}, f"order:{store.store_hash}:{order_id}")

    def customer_loop(self) -> None:
        store = self.pick(self.vendors.stores)
        customer_id = self.pick(store.customers)
        self.vendors.change_email(store, customer_id, self.rng)
        self.touched_customers.add((store.store_hash, customer_id))
        self.webhook(store, CUSTOMER_UPDATED, {"type": "customer", "id": customer_id},
                     f"customer:{store.store_hash}:{customer_id}")

    def instrument_loop(self) -> None:
        store = self.pick(self.vendors.stores)
        customer_id = self.pick(store.customers)
        self.vendors.change_default_card(store, customer_id, self.rng)
        self.touched_customers.add((store.store_hash, customer_id))
        self.webhook(store, DEFAULT_INSTRUMENT_UPDATED, {"type": "customer", "id": customer_id},
                     f"instrument:{store.store_hash}:{customer_id}")

    # --- Storefront (Stencil theme) -------------------------------------------------------------------------
    def storefront_loop(self) -> None:
        store = self.pick(self.vendors.stores)
        customer_id = self.pick(store.customers)
        token = self.vendors.bc.customer_jwt(store.store_hash, customer_id)
        headers = {"Accept": "application/json", "Authorization-Client": self.vendors.client_id,
                   "Authorization": "BigCommerce", "Origin": store.storefront_origin, "Signed-Payload": token}
        if self.chance(0.5):
            self.call("storefront signature", "GET", "/api/v1/merchant/ordergroove/signature",
                      params={"ts": int(time.time())}, headers=headers)
        else:
            self.call("storefront has_subscriptions", "GET", "/api/v1/ordergroove/customer/has_subscriptions",
                      headers=headers)

    # --- Ordergroove: recurring orders and events ------------------------------------------------------------
    def placement_loop(self) -> None:
        store = self.pick(self.vendors.stores)
        customer_id = self.pick(store.customers)
        customer = dict(self.vendors.bc.stores[store.store_hash].customers[customer_id])
        items = []
        for choice in {id(c): c for c in (self.pick(store.lines), self.pick(store.lines))}.values():
            price = Decimal(str(choice["variant"]["calculated_price"])).quantize(Decimal("0.01"))
            items.append({"product_id": og_product_id(choice["product"]["id"], choice["variant"]["id"]),
                          "sku": choice["variant"]["sku"], "name": choice["product"]["name"], "qty": 1,
                          "price": price, "final_price": price})
        og_order_id = f"soak{secrets.token_hex(6)}"
        body = placement_xml(og_order_id=og_order_id, public_id=secrets.token_hex(16), customer=customer,
                             token=store.cards[customer_id]["token"], items=items, shipping="5.00")
        placement = Placement(og_order_id, store, body, customer_id)
        self.placements[og_order_id] = placement
        self._place(placement)

    def _place(self, placement: Placement) -> None:
        store = placement.store
        headers = {"Content-Type": "application/xml",
                   "Authorization": signatures.authorization_header(store.merchant_id, placement.customer_id,
                                                                    store.hash_key)}
        response = self.call("order placement", "POST", "/ordergroove/order-placement", data=placement.body,
                             headers=headers)
        if response is None or response.status_code >= 500:
            placement.answers.append("no answer" if response is None else f"HTTP {response.status_code}")
            return
        match = ANSWER_CODE.search(response.content)
        code = (match.group(2) or match.group(1)).decode() if match else f"HTTP {response.status_code}"
        placement.answers.append(code)
        if code == "SUCCESS":
            placement.done = True
            placement.bc_order_id = int(re.search(rb"<orderId>(\d+)</orderId>", response.content).group(1))
            self.rec.success("placement")
        elif code != "999":
            placement.done = True  # a final refusal: reconciled as not placed

    def _retry_placements(self) -> None:
        """Ordergroove posts a placement again when it got no answer or "999 retry later", and an event that got
        no 2xx."""
        while not self.retry_stop.wait(3):
            for placement in list(self.placements.values()):
                if not placement.done and not self.retry_stop.is_set():
                    self._place(placement)
            for event_id, record in list(self.og_events.items()):
                if not record["accepted"] and not self.retry_stop.is_set():
                    self._og_event_send(event_id)

    def og_event_loop(self) -> None:
        store = self.pick(self.vendors.stores)
        event_id = secrets.token_hex(10)
        payload = {"id": event_id, "type": "order.success", "created": int(time.time()),
                   "data": {"object": {"type": "order", "merchant": store.merchant_id,
                                       "public_id": secrets.token_hex(16), "customer": str(self.pick(store.customers)),
                                       "order_merchant_id": None, "rejected_message": None,
                                       "status_display": "Success", "created": int(time.time())}}}
        self.og_events[event_id] = {"sends": 0, "accepted": False, "store": store, "body": json.dumps(payload).encode()}
        self._og_event_send(event_id)
        if self.chance(0.15):
            self._og_event_send(event_id)  # Ordergroove delivers an event twice now and then

    def _og_event_send(self, event_id: str) -> None:
        record = self.og_events[event_id]
        store, body = record["store"], record["body"]
        headers = {"Content-Type": "application/json",
                   "Ordergroove-Signature": signatures.webhook_signature_header(store.webhook_key, body)}
        record["sends"] += 1
        response = self.call("ordergroove event", "POST", "/webhooks/ordergroove",
                             params={"store": store.store_hash}, data=body, headers=headers)
        if response is not None and response.status_code < 300:
            record["accepted"] = True

    # --- The merchant's "Run now" ----------------------------------------------------------------------------
    def feed_loop(self) -> None:
        for store in self.vendors.stores:
            self.feed_run(store)

    def feed_run(self, store: SoakStore) -> int | None:
        response = self.call("feed run now", "POST", "/console/api/feeds/runs",
                             headers={"X-Console-Token": store.console_token})
        if response is not None and response.status_code == 202:
            run_id = response.json()["id"]
            self.feed_runs.append((store.store_hash, run_id))
            return run_id
        return None

    def stop(self) -> None:
        self.load_stop.set()

    def stop_retries(self) -> None:
        self.retry_stop.set()
        for thread in self.threads:
            thread.join(timeout=35)
