"""Benchmark of Ordergroove's allowance: a burst of orders through the real pipeline against a rate-limited fake.

Run from the repository root (needs PostgreSQL on 127.0.0.1:5432 and the redis-server binary):

    .venv/bin/python bench/og_allowance.py                          # defaults below
    .venv/bin/python bench/og_allowance.py --orders 1000 --workers 1 4 --fake-limit 1200

It sets up what bench/webhooks.py does (throwaway PostgreSQL database, its own redis-server as broker and
allowance store, the fake BigCommerce and fake Ordergroove each in its own process, gunicorn with
bench/webhooks_settings.py) and runs Celery beat (the sweeper that hands rescheduled calls back) next to the
workers. Then, for each ``--workers`` count, with the fake Ordergroove refusing (429) beyond ``--fake-limit``
requests in any sliding 60 s window and the service's budget at ``--margin`` of it:

  ``--orders`` store/order/created webhooks arrive at once (64 connections; the workers have 16 threads in all,
  split among the processes, since each holds a PostgreSQL connection); each order costs Ordergroove two
  calls (the purchase post, then one status poll a minute later). It prints the most requests the fake saw in any
  60 s window (goal <= budget), the 429s it answered (goal 0), the drain time from the first webhook to the last
  request against the contractual minimum, total requests / budget (goal <= 1.15x), and purchase posts lost and
  duplicated (goal 0 and 0). The minimum ignores that a status poll is due a minute after its post: a burst that
  drains in less than a couple of minutes cannot come near it (30 orders at 240/min: ~4.5x).

Finally, with the fake's limit off (``--unlimited-orders``, 2 worker processes, the default budget), the
end-to-end purchase posts per second and CPU per post, as bench/webhooks.py prints them, so regressions show.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import cpu  # noqa: E402 - the repository root is on the path only from here
from bench.webhooks import (  # noqa: E402
    WEBHOOK_TOKEN,
    FakeProcess,
    bench_stack,
    free_port,
    load,
    seed,
    split,
    wait_port,
    webhook_bodies,
)

CONNECTIONS = 64
# Each worker thread and each gunicorn thread holds a PostgreSQL connection: the machine's server (100
# connections) is shared, so the worker threads are split among the processes rather than multiplied.
WORKER_THREADS_TOTAL = 16
GUNICORN_THREADS = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2000, help="orders per rate-limited run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4], help="worker process counts to run")
    parser.add_argument("--fake-limit", type=int, default=1200, help="fake Ordergroove's requests per 60 s")
    parser.add_argument("--margin", type=float, default=0.9, help="the service's budget as a share of the limit")
    parser.add_argument("--unlimited-orders", type=int, default=600, help="orders of the run with no limit (0: skip)")
    args = parser.parse_args()
    budget = int(args.fake_limit * args.margin)

    db_name = f"bench_og_allowance_{os.getpid()}"
    web_port = free_port()
    with bench_stack(db_name, _og_setup) as stack:
        env, children, broker, fake_bc, fake_og = stack.env, stack.children, stack.broker, stack.fake_bc, stack.fake_og
        runs = [(count, args.orders) for count in args.workers]
        if args.unlimited_orders:
            runs.append((2, args.unlimited_orders))
        orders = seed(fake_bc, fake_og, sum(n for _, n in runs))

        web = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "middleware.wsgi:application", "--bind",
             f"127.0.0.1:{web_port}", "--workers", "3", "--worker-class", "gthread", "--threads", str(GUNICORN_THREADS),
             "--backlog", "2048", "--log-level", "warning"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        children.append(web)
        wait_port(web_port)
        time.sleep(1.5)
        groups = {"web": cpu.with_children(web.pid), "postgres": cpu.named("postgres"),
                  "broker": cpu.only(broker.pid), "fakes": cpu.with_children(fake_bc.process.pid, fake_og.process.pid),
                  "load generator": cpu.only(os.getpid())}
        print(f"fake Ordergroove limit {args.fake_limit}/60 s; service budget {budget}/min ({args.margin:.0%}); "
              f"{WORKER_THREADS_TOTAL} worker threads in all, split among the worker processes")
        for index, (count, n) in enumerate(runs):
            batch, orders = orders[:n], orders[n:]
            limited = index < len(args.workers)
            run_env = {**env, "ORDERGROOVE_EGRESS_ID": f"bench-{uuid.uuid4().hex[:8]}"}
            if limited:
                run_env["ORDERGROOVE_RATE_BUDGET_PER_MINUTE"] = str(budget)
            fake_og.call(_og_limit, args.fake_limit if limited else None)
            with pipeline(count, run_env) as pids:
                meter = cpu.CpuMeter({**groups, "workers": cpu.with_children(*pids)})
                result = burst(web_port, fake_og, batch, meter, wait_polls=limited)
            report(result, count, n, budget if limited else None)


class pipeline:  # noqa: N801 - used as a context manager, like open()
    """`count` Celery worker processes and Celery beat, started for one run and stopped after it."""

    def __init__(self, count: int, env: dict[str, str]) -> None:
        self.count, self.env, self.procs = count, env, []
        self.threads = max(1, WORKER_THREADS_TOTAL // count)
        self.schedule = tempfile.NamedTemporaryFile(prefix="bench-beat-", suffix=".db", delete=False)

    def __enter__(self) -> list[int]:
        from middleware.celery import app

        app.control.purge()
        celery = str(Path(sys.executable).parent / "celery")
        for _ in range(self.count):
            self.procs.append(subprocess.Popen(
                [celery, "-A", "middleware", "worker", "-P", "threads", "-c", str(self.threads), "-n",
                 f"w{len(self.procs)}-{uuid.uuid4().hex[:6]}@%h", "--without-heartbeat", "--without-mingle",
                 "--without-gossip", "-l", "error"], cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        self.procs.append(subprocess.Popen([celery, "-A", "middleware", "beat", "-s", self.schedule.name, "-l",
                                            "error"], cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 120  # on a loaded machine a worker takes a while to start: wait for all
        while len(app.control.ping(timeout=1.0)) < self.count and time.monotonic() < deadline:
            time.sleep(0.5)
        return [p.pid for p in self.procs]

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        Path(self.schedule.name).unlink(missing_ok=True)


def burst(web_port: int, fake_og: FakeProcess, orders: list[int], meter: cpu.CpuMeter, *, wait_polls: bool) -> dict:
    """All the orders' webhooks at once; wait until Ordergroove has every post (and every status poll)."""
    bodies = webhook_bodies(f"og-{uuid.uuid4().hex[:6]}", len(orders), scope="store/order/created", ids=orders)
    wanted = {str(o) for o in orders}
    meter.start()
    started_wall, started = time.time(), time.monotonic()
    intake = load(web_port, "/webhooks/bigcommerce", WEBHOOK_TOKEN, split(bodies, CONNECTIONS), 120)
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        seen = fake_og.call(_og_progress, wanted)
        if seen["posted"] == len(wanted) and (not wait_polls or seen["polls"] >= len(wanted)):
            break
        time.sleep(0.5)
    spent = meter.stop()
    elapsed = time.monotonic() - started
    stats = fake_og.call(_og_stats, wanted)
    return {"intake": intake, "elapsed": elapsed, "spent": spent, "started": started_wall, **stats}


def report(result: dict, workers: int, orders: int, budget: int | None) -> None:
    if budget is None:
        posts = result["posted"]
        print(f"limit off: {orders} orders, {workers} worker processes: {posts} purchase posts in "
              f"{result['elapsed']:.1f}s = {posts / result['elapsed']:.0f}/s (intake {result['intake']['rps']:.0f} "
              f"req/s)")
        print(cpu.report(result["spent"], posts, "purchase post"))
        return
    total = result["requests"]
    drain = result["last"] - result["started"] if total else 0.0
    minimum = 60.0 * total / budget
    print(f"{workers} worker process{'es' if workers > 1 else ''}: {orders} orders, {total} Ordergroove requests "
          f"({result['post_requests']} posts, {result['polls']} polls)")
    print(f"  most requests in any 60 s window: {result['max_60s']} (budget {budget}; goal <= budget)")
    print(f"  429s answered: {result['rate_limited']} (goal 0)")
    bins = [0] * (int(drain // 30) + 1)
    for at in result["times"]:
        bins[min(len(bins) - 1, max(0, int((at - result["started"]) // 30)))] += 1
    print(f"  requests per 30 s from the first webhook: {' '.join(map(str, bins))} (budget {budget // 2} per 30 s)")
    paced = result["last"] - min(result["times"], default=result["last"])
    print(f"  drain {drain:.1f}s vs minimum {minimum:.1f}s (requests / budget): {drain / minimum:.3f}x "
          f"(goal <= 1.15x); from Ordergroove's first request {paced:.1f}s = {paced / minimum:.3f}x")
    # Post requests beyond one per order: resent posts (Ordergroove answers 409), and refused (429) ones.
    print(f"  purchase posts lost: {orders - result['posted']}, duplicated: "
          f"{result['post_requests'] - result['posted']} (goal 0 and 0)")
    print(cpu.report(result["spent"], orders, "order"))


# --- Run inside the fake Ordergroove's process --------------------------------------------------------------------

def _og_setup(fake) -> None:
    fake.status_pending_polls = 0  # one status poll per post, answered at once: two calls per order


def _og_limit(fake, limit: int | None) -> None:
    with fake._state_lock:
        fake.rate_limit_per_minute, fake.rate_limited = limit, 0
        fake._admitted.clear()
    fake.clear_requests()


def _og_progress(fake, wanted: set[str]) -> dict:
    posts = fake.merchants["ogmerchant1"].purchase_posts
    return {"posted": sum(1 for o in wanted if o in posts),
            "polls": len(fake.requests_to("GET", r"^/sc/subscription/[^/]+/response"))}


def _og_stats(fake, wanted: set[str]) -> dict:
    from tests.fakes.ordergroove import max_in_window

    times = fake.request_times()
    return {**_og_progress(fake, wanted), "requests": len(times), "max_60s": max_in_window(times), "times": times,
            "last": max(times, default=0.0), "rate_limited": fake.rate_limited,
            "post_requests": len(fake.requests_to("POST", r"^/sc/subscription/create"))}


if __name__ == "__main__":
    main()
