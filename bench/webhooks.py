"""Benchmark of the webhook inbox and of the purchase-post pipeline.

Run from the repository root (needs PostgreSQL on 127.0.0.1:5432 and the redis-server binary):

    .venv/bin/python bench/webhooks.py                 # defaults below
    .venv/bin/python bench/webhooks.py --seconds 10 --connections 64 --orders 1000

It creates a throwaway PostgreSQL database (migrated), starts its own redis-server on a free port as the broker,
starts the fake BigCommerce and the fake Ordergroove (tests/fakes) each in its own process, and gunicorn with
production's worker class (gthread with admission control, middleware/plumbing/admission.py) and
bench/webhooks_settings.py. Then:

1. Intake: 64 keep-alive connections post BigCommerce webhooks (each with its own `hash`, valid X-Webhook-Token),
   in alternating rounds, to a bare Django view (the floor), to ``POST /webhooks/bigcommerce`` and to the peer
   baseline (bench/webhooks_peer.py: the usual DRF view + serializer + ``Model.objects.create`` + ``task.delay``,
   storing the same row), all under the same gunicorn. Prints requests/s and p50/p99 latency of each and the
   ratios inbox/bare (goals: >= 0.7, p99 < 50 ms) and inbox/peer (goal >= 2).
2. Overload: deliveries arrive open loop at twice the inbox's measured capacity for ``--overload-seconds`` (60);
   prints the share answered 2xx within 2 s (goal >= 90 %), the 503s of admission control, and checks that every
   delivery answered 2xx is stored and, once 2 worker processes are started, processed (goal: all).
   Then the same load for ``--compare-seconds`` (20) on a second gunicorn without admission control.
3. End to end: ``--orders`` store/order/created webhooks through the inbox; 2 Celery worker processes (thread
   pools) fetch each order from the fake BigCommerce and deliver its purchase post to the fake Ordergroove.
   Prints purchase posts delivered per second (goal >= 200/s), first webhook to last post received.

It prints the machine's load average before and after (the machine is shared).
Under each figure it prints the CPU milliseconds per request (per purchase post) of each process group (web,
workers, PostgreSQL, fakes, broker, load generator, bench/cpu.py) and the throughput ceiling their sum sets on
this machine's cores: everything here is CPU-bound, so that sum, not the waits, decides requests/s.

Figures depend on the machine and on what else runs on it; the ratios measured within one run are what compare.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import cpu  # noqa: E402 - the repository root is on the path only from here
from bench.loadgen import load, open_loop  # noqa: E402

STORE_HASH = "benchwh"
WEBHOOK_TOKEN = "bench-webhook-token-0123456789abcdef"
ACCESS_TOKEN = "bench-access-token-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, deadline: float = 20) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def webhook_bodies(prefix: str, count: int, scope: str = "store/bench/intake", ids: list[int] | None = None):
    now = int(time.time())
    out = []
    for i in range(count):
        resource = ids[i] if ids else i
        out.append(json.dumps({"scope": scope, "store_id": "1000001", "data": {"type": "order", "id": resource},
                               "hash": f"{prefix}-{i:08d}", "created_at": now,
                               "producer": f"stores/{STORE_HASH}"}).encode())
    return out


def split(items: list, parts: int) -> list[list]:
    return [items[i::parts] for i in range(parts)]


# --- Phases ---------------------------------------------------------------------------------------------------

ENDPOINTS = (("bare", "/bench/bare"), ("inbox", "/webhooks/bigcommerce"), ("peer", "/bench/peer"))
OVERLOAD_SCOPE = "store/bench/overload"
DEADLINE = 2.0  # seconds: BigCommerce's delivery timeout is undocumented; bigcommerce.md §3.4 designs for 1-2 s


def _load_average() -> str:
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg()) + f" on {os.cpu_count()} cores"


def intake_phase(args, web_port: int, groups: dict) -> float:
    """Alternating closed-loop rounds of the bare view, the inbox and the peer (the usual DRF view); prints the
    ratios and returns the inbox's measured capacity (requests/s)."""
    print(f"gunicorn gthread (middleware.plumbing.admission.ThreadWorker) workers={args.gunicorn_workers} "
          f"threads={args.gunicorn_threads}, {args.connections} keep-alive connections, {args.rounds} x "
          f"{args.seconds:g}s per endpoint")
    results: dict[str, list[dict]] = {name: [] for name, _ in ENDPOINTS}
    spent: dict[str, dict[str, float]] = {name: {} for name, _ in ENDPOINTS}
    for name, path in ENDPOINTS:  # warm-up
        load(web_port, path, WEBHOOK_TOKEN, split(webhook_bodies(f"warm{name}", 2000), args.connections), 2)
    meter = cpu.CpuMeter(groups)
    for round_no in range(args.rounds):
        for name, path in ENDPOINTS:
            bodies = webhook_bodies(f"r{round_no}{name}", 40_000)  # fresh hashes: each stored row is new
            meter.start()
            results[name].append(load(web_port, path, WEBHOOK_TOKEN, split(bodies, args.connections), args.seconds))
            for group, seconds in meter.stop().items():
                spent[name][group] = spent[name].get(group, 0.0) + seconds
    summary = {}
    for name, rounds in results.items():
        summary[name] = {"rps": statistics.median(r["rps"] for r in rounds),
                         "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
                         "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
                         "errors": sum(r["errors"] for r in rounds)}
        print(f"  {name:6s} {summary[name]['rps']:8.0f} req/s   p50 {summary[name]['p50_ms']:6.1f} ms   "
              f"p99 {summary[name]['p99_ms']:6.1f} ms   non-200: {summary[name]['errors']}")
        print(cpu.report(spent[name], sum(r["requests"] for r in rounds), "request"))
    inbox = summary["inbox"]
    print(f"  inbox/bare throughput ratio: {inbox['rps'] / summary['bare']['rps']:.2f} (goal >= 0.7); inbox p99 "
          f"{inbox['p99_ms']:.1f} ms (goal < 50 ms)")
    print(f"  inbox/peer throughput ratio: {inbox['rps'] / summary['peer']['rps']:.2f} (goal >= 2; the peer is "
          "a DRF view + serializer + Model.objects.create + task.delay storing the same row)")
    return inbox["rps"]


def start_web(port: int, args, env: dict) -> subprocess.Popen:
    """gunicorn as production runs it (worker class with admission control), stderr to $BENCH_WEB_LOG if set."""
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "middleware.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.gunicorn_workers), "--worker-class", "middleware.plumbing.admission.ThreadWorker",
         "--threads", str(args.gunicorn_threads), "--backlog", "2048", "--log-level", "warning"],
        cwd=ROOT, env=env, stderr=open(os.environ.get("BENCH_WEB_LOG", os.devnull), "a"))


def overload_phase(web_port: int, rate: float, seconds: float, groups: dict, prefix: str) -> list[str]:
    """Open loop at `rate` deliveries/s for `seconds`; prints how many were answered 2xx within DEADLINE and
    checks that every 2xx is stored. Returns the hashes answered 2xx."""
    from bigcommerce_app.models import InboundEvent

    bodies = webhook_bodies(prefix, int(rate * seconds), scope=OVERLOAD_SCOPE)
    print(f"overload: {len(bodies)} deliveries at {rate:.0f}/s (twice the inbox's measured capacity) for "
          f"{seconds:g}s, open loop, each given up after 6 s")
    meter = cpu.CpuMeter(groups)
    meter.start()
    result = open_loop(web_port, "/webhooks/bigcommerce", WEBHOOK_TOKEN, bodies, rate)
    spent = meter.stop()
    outcomes = result["outcomes"]
    hashes = [json.loads(body)["hash"] for body in bodies]
    answered = [hashes[i] for i, (status, _) in outcomes.items() if 200 <= status < 300]
    in_time = sum(1 for status, latency in outcomes.values() if 200 <= status < 300 and latency <= DEADLINE)
    shed = [hashes[i] for i, (status, _) in outcomes.items() if status == 503]
    no_answer = sum(1 for status, _ in outcomes.values() if status == 0)
    unsent = sum(1 for status, _ in outcomes.values() if status == -1)
    other = len(outcomes) - len(answered) - len(shed) - no_answer - unsent
    ok_latencies = sorted(latency for status, latency in outcomes.values() if 200 <= status < 300)
    p99 = 1000 * ok_latencies[int(len(ok_latencies) * 0.99) - 1] if ok_latencies else 0.0
    print(f"  answered 2xx within {DEADLINE:g} s: {in_time} of {len(outcomes)} = {in_time / len(outcomes):.1%} "
          f"(goal >= 90 %); 2xx later: {len(answered) - in_time}; 503 (shed, not stored): {len(shed)}; "
          f"no answer: {no_answer}; not sent (generator at its connection limit): {unsent}; other: {other}")
    print(f"  2xx latency p99 {p99:.0f} ms (from the moment each was due); send delay p99 "
          f"{result['lag_p99_ms']:.0f} ms (connect included); accepted {len(answered) / seconds:.0f}/s")
    stored = set(InboundEvent.objects.filter(scope=OVERLOAD_SCOPE).values_list("event_hash", flat=True))
    missing = sum(1 for h in answered if h not in stored)
    print(f"  answered 2xx but not stored: {missing} (goal 0); answered 503 yet stored: "
          f"{sum(1 for h in shed if h in stored)}; stored without a 2xx (answer lost or late): "
          f"{len(stored) - len(answered) + missing}")
    print(cpu.report(spent, len(outcomes), "delivery"))
    return answered


def overload_processed(answered: list[str], timeout: float = 600) -> None:
    """Waits (bounded) for the workers to process every event the overload phase stored; prints the count."""
    from bigcommerce_app.models import InboundEvent

    events = InboundEvent.objects.filter(scope=OVERLOAD_SCOPE)
    started = time.monotonic()
    deadline = started + timeout
    while events.filter(status__in=["pending", "processing"]).exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    processed = set(events.filter(processed_at__isnull=False).values_list("event_hash", flat=True))
    done = sum(1 for h in answered if h in processed)
    print(f"  answered 2xx and processed by the workers: {done} of {len(answered)} (goal: all), in "
          f"{time.monotonic() - started:.0f}s after the workers started")


# --- Setup ----------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8, help="length of each intake round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per endpoint")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument("--gunicorn-threads", type=int, default=8)
    parser.add_argument("--orders", type=int, default=600, help="orders for the end-to-end phase")
    parser.add_argument("--skip", choices=["intake", "e2e"], help="leave one phase out (profiling)")
    parser.add_argument("--worker-threads", type=int, default=16, help="threads per Celery worker process")
    parser.add_argument("--overload-seconds", type=float, default=60,
                        help="length of the overload phase at twice the intake's measured capacity (0: skip it)")
    parser.add_argument("--compare-seconds", type=float, default=20,
                        help="length of the same overload without admission control, for comparison (0: skip it)")
    parser.add_argument("--max-queue-seconds", type=float, default=None,
                        help="the web processes' INBOX_MAX_QUEUE_SECONDS (default: the setting's; 0: no shedding)")
    args = parser.parse_args()

    run_id = f"{os.getpid()}"
    db_name = f"bench_webhooks_{run_id}"
    web_port = free_port()
    extra_env = {} if args.max_queue_seconds is None else {"INBOX_MAX_QUEUE_SECONDS": str(args.max_queue_seconds)}
    with bench_stack(db_name, _og_no_pending_polls, extra_env) as stack:
        env, children, broker, fake_bc, fake_og = stack.env, stack.children, stack.broker, stack.fake_bc, stack.fake_og
        orders = seed(fake_bc, fake_og, args.orders)

        web = start_web(web_port, args, env)
        children.append(web)
        groups = {"web": cpu.with_children(web.pid), "postgres": cpu.named("postgres"),
                  "broker": cpu.only(broker.pid), "fakes": cpu.with_children(fake_bc.process.pid, fake_og.process.pid),
                  "load generator": cpu.only(os.getpid())}
        wait_port(web_port)
        time.sleep(1.5)

        print(f"machine load before: {_load_average()}")
        from bigcommerce_app.models import InboundEvent
        from middleware.celery import app

        capacity = intake_phase(args, web_port, groups) if args.skip != "intake" else None
        app.control.purge()  # the intake rounds' events have no handler; do not make the workers chew on them
        InboundEvent.objects.filter(scope="store/bench/intake").delete()
        answered: list[str] = []
        if capacity and args.overload_seconds > 0:
            answered = overload_phase(web_port, 2 * capacity, args.overload_seconds, groups, "over")
            if args.max_queue_seconds != 0 and args.compare_seconds > 0:  # the same load, no admission control
                print("  the same without admission control (a second gunicorn, INBOX_MAX_QUEUE_SECONDS=0):")
                bare_port = free_port()
                unshed = start_web(bare_port, args, {**env, "INBOX_MAX_QUEUE_SECONDS": "0"})
                children.append(unshed)
                wait_port(bare_port)
                time.sleep(1.5)
                answered += overload_phase(bare_port, 2 * capacity, args.compare_seconds,
                                           {**groups, "web": cpu.with_children(unshed.pid)}, "unshed")
                unshed.send_signal(signal.SIGTERM)
        if args.skip == "e2e" and not answered:
            return
        # 2 worker processes: they process what the overload phase stored, then the end-to-end phase runs.
        for _ in range(2):
            children.append(subprocess.Popen(
                [str(Path(sys.executable).parent / "celery"), "-A", "middleware", "worker", "-P", "threads",
                 "-c", str(args.worker_threads), "--without-heartbeat", "--without-mingle", "--without-gossip",
                 "-l", "error"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(4)
        workers = [child.pid for child in children[-2:]]
        if answered:
            overload_processed(answered)
        print(f"machine load after: {_load_average()}")
        if args.skip == "e2e":
            return
        meter = cpu.CpuMeter({**groups, "workers": cpu.with_children(*workers)})
        bodies = webhook_bodies("e2e", len(orders), scope="store/order/created", ids=orders)
        meter.start()
        started = time.monotonic()
        intake = load(web_port, "/webhooks/bigcommerce", WEBHOOK_TOKEN, split(bodies, args.connections), 120)
        refused = intake["refused"]
        for _ in range(10):  # what was answered 503 is delivered again, as BigCommerce does
            if not refused:
                break
            time.sleep(1)
            refused = load(web_port, "/webhooks/bigcommerce", WEBHOOK_TOKEN, split(refused, 8), 60)["refused"]
        deadline = time.monotonic() + 300
        while fake_og.call(_og_purchase_posts) < len(orders) and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        e2e_spent = meter.stop()
        delivered = fake_og.call(_og_purchase_posts)
        from ordergroove.models import Delivery

        failed = Delivery.objects.filter(kind="purchase_post", status="failed").count()
        print(f"end to end: {len(orders)} order webhooks (intake {intake['rps']:.0f} req/s, {intake['errors']} "
              f"answered 503 and delivered again), 2 Celery worker "
              f"processes x {args.worker_threads} threads")
        print(f"  purchase posts delivered: {delivered} in {elapsed:.1f}s = {delivered / elapsed:.0f}/s "
              f"(goal >= 200/s); failed deliveries: {failed}; BigCommerce calls: {fake_bc.call(_requests)}")
        print(cpu.report(e2e_spent, delivered, "purchase post"))


@dataclass
class Stack:
    """What `bench_stack` started: the environment for service processes, the processes to stop at the end (the
    caller appends its own), the private broker and the two fakes."""

    env: dict[str, str]
    children: list
    broker: subprocess.Popen
    fake_bc: FakeProcess
    fake_og: FakeProcess


@contextlib.contextmanager
def bench_stack(db_name: str, og_setup, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """A throwaway PostgreSQL database (migrated), a private redis-server as the broker, the fake BigCommerce and the
    fake Ordergroove (prepared by `og_setup`) and Django set up on them, for bench/webhooks.py and
    bench/og_allowance.py; on exit every process in `children` is stopped and the database dropped."""
    redis_port = free_port()
    base_db = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.webhooks_settings",
           "BENCH_DATABASE_URL": f"{base_db}/{db_name}", "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "PYTHONPATH": str(ROOT), **(extra_env or {})}
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "BENCH_DATABASE_URL", "REDIS_URL")})
    children: list = []
    import psycopg

    with psycopg.connect(f"{base_db}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    try:
        broker = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        children.append(broker)
        wait_port(redis_port)
        # Each fake in its own process (forked before Django starts here): in this process they shared one GIL
        # with the load generator and served ~90 requests/s between them, which capped the pipeline.
        fake_bc, fake_og = FakeProcess("bigcommerce"), FakeProcess("ordergroove")
        children.extend([fake_bc.process, fake_og.process])
        fake_og.call(og_setup)
        env["BIGCOMMERCE_API_URL"] = os.environ["BIGCOMMERCE_API_URL"] = fake_bc.url

        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield Stack(env, children, broker, fake_bc, fake_og)
    finally:
        for child in reversed(children):
            if isinstance(child, subprocess.Popen):
                child.send_signal(signal.SIGTERM)
            else:
                child.terminate()
        for child in children:
            if isinstance(child, subprocess.Popen):
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
            else:
                child.join(timeout=20)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{base_db}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def seed(fake_bc: FakeProcess, fake_og: FakeProcess, count: int) -> list[int]:
    """One installed, configured store; a subscribable product; one customer with a card; `count` orders, half
    with a subscription line."""
    from bigcommerce_app.models import Store
    from feeds.models import ProductSubscriptionSetting
    from ordergroove.models import OrdergrooveSettings

    store = Store.objects.create(store_hash=STORE_HASH, status="installed", access_token=ACCESS_TOKEN,
                                 webhook_token=WEBHOOK_TOKEN)
    og, _ = OrdergrooveSettings.objects.get_or_create(store=store)
    merchant_id, hash_key, api_key, values = fake_og.call(_og_merchant)
    og.merchant_id, og.hash_key, og.api_key = merchant_id, hash_key, api_key
    for name, value in values.items():
        setattr(og, name, value)
    og.save()
    product, ids = fake_bc.call(_bc_seed, count)
    modifier = product["modifiers"][0]
    one_time, monthly = (v["id"] for v in modifier["option_values"])
    ProductSubscriptionSetting.objects.create(
        store=store, bc_product_id=product["id"], autoship_eligible=True, modifier_id=modifier["id"], frequencies=[
            {"name": "One-time", "option_id": one_time, "every": 0, "every_period": 0, "is_default": True},
            {"name": "Every month", "option_id": monthly, "every": 1, "every_period": 3, "is_default": False}])
    return ids


# --- Fakes in their own processes -------------------------------------------------------------------------------

class FakeProcess:
    """A fake server (tests/fakes) in a forked process; `call(fn, *args)` runs fn(fake, *args) there."""

    def __init__(self, kind: str):
        import multiprocessing

        self._conn, child_conn = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(
            target=_fake_serve, args=(kind, child_conn), daemon=True, name=f"fake-{kind}")
        self.process.start()
        self.url = self._conn.recv()

    def call(self, fn, *args):
        self._conn.send((fn, args))
        ok, value = self._conn.recv()
        if not ok:
            raise RuntimeError(f"fake {fn.__name__}: {value}")
        return value


def _fake_serve(kind: str, conn) -> None:
    if kind == "bigcommerce":
        from tests.fakes.bigcommerce import FakeBigCommerce

        fake = FakeBigCommerce(client_id="bench-client-id-0123456789abcdef",
                               client_secret="bench-client-secret-0123456789abcdef").start()
    else:
        from tests.fakes.ordergroove import FakeOrdergroove

        fake = FakeOrdergroove().start()
    conn.send(fake.url)
    while True:
        fn, args = conn.recv()
        try:
            conn.send((True, fn(fake, *args)))
        except Exception as exc:  # noqa: BLE001 - reported to the bench process
            conn.send((False, repr(exc)))


def _og_no_pending_polls(fake) -> None:
    fake.status_pending_polls = 0


def _og_merchant(fake) -> tuple[str, str, str, dict]:
    merchant_id, hash_key, api_key = "ogmerchant1", "Mt!ZQ45q&GHsgiRD8{NB-_h87#rjvbn0", "og-app-key-0123456789abcdef"
    fake.add_merchant(merchant_id, hash_key, api_key)
    return merchant_id, hash_key, api_key, fake.settings_values()


def _og_purchase_posts(fake) -> int:
    return len(fake.merchants["ogmerchant1"].purchase_posts)


def _requests(fake) -> int:
    return len(fake.requests)


def _bc_seed(fake, count: int) -> tuple[dict, list[int]]:
    fake.add_store(STORE_HASH).access_token = ACCESS_TOKEN
    product = fake.add_product(STORE_HASH, name="Coffee", price=12.5, sku="COF-1", modifiers=[
        {"name": "Subscription", "option_values": [{"label": "One-time"}, {"label": "Every month"}]}])
    modifier = product["modifiers"][0]
    one_time, monthly = (v["id"] for v in modifier["option_values"])
    customer = fake.add_customer(STORE_HASH)
    fake.add_instrument(STORE_HASH, customer["id"])
    ids = []
    for i in range(count):
        line = {"product_id": product["id"], "variant_id": product["variants"][0]["id"], "quantity": 1, "price": 12.5,
                "sku": "COF-1", "product_options": [{"product_option_id": modifier["id"],
                                                     "value": monthly if i % 2 else one_time}]}
        ids.append(fake.add_order(STORE_HASH, customer_id=customer["id"], products=[line])["id"])
    return product, ids


if __name__ == "__main__":
    main()
