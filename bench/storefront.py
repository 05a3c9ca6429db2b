"""Benchmark of the storefront endpoints against a bare Django view, served by the same gunicorn.

Run (from the repository root; Redis on 127.0.0.1:6379 is used as the cache when it is up, as in production):

    .venv/bin/python bench/storefront.py                  # defaults: 2 workers, 4 clients, 3 rounds x 1500 req
    .venv/bin/python bench/storefront.py --workers 2 --clients 4 --rounds 3 --requests 1500

It creates a throwaway SQLite database (migrated) with one installed, configured store, starts gunicorn with
bench/storefront_settings.py (no sandbox, DEBUG off) on a free loopback port, then drives
``GET /api/v1/merchant/ordergroove/signature?ts=`` (valid Current Customer JWTs for 100 customers, theme headers,
an allowed Origin), ``GET /api/v1/ordergroove/customer/has_subscriptions`` answered from the cache (each bench
customer's status is put in Redis first; with --cache locmem this phase is skipped: the status cache must be shared)
and ``GET /bench/bare`` (a view that only returns a constant) in alternating rounds with the same
bounded load generator: ``--clients`` processes, each sending requests one after another (no keep-alive: gunicorn's
sync workers close connections). It prints requests/s, p50 and p99 latency for each and the ratios
endpoint/bare (goal: >= 0.8, issue 17), and under each the CPU milliseconds per request of gunicorn, Redis and the load
generator (bench/cpu.py). Figures depend on the machine; only the ratio measured in one run means anything.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import cpu  # noqa: E402 - the repository root is on the path only from here

STORE_HASH = "benchstore"
ORIGIN = "https://bench-store.mybigcommerce.com"
HASH_KEY = "Mt!ZQ45q&GHsgiRD8{NB-_h87#rjvbn0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _prepare(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    script = (
        "import django; django.setup()\n"
        "from bigcommerce_app.models import Store\n"
        "from ordergroove.models import OrdergrooveSettings\n"
        f"s = Store.objects.create(store_hash={STORE_HASH!r}, status='installed', access_token='bench-token-x',"
        f" storefront_origins=[{ORIGIN!r}])\n"
        f"OrdergrooveSettings.objects.update_or_create(store=s, defaults=dict(merchant_id='benchmerchant',"
        f" hash_key={HASH_KEY!r}))\n"
        "from bench.storefront import subscriber_statuses_cache\n"
        "subscriber_statuses_cache()\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)


def subscriber_statuses_cache(count: int = 100) -> None:
    """Put every bench customer's subscriber status into the cache for an hour (the has_subscriptions phase
    measures a cache hit; a miss would ask Ordergroove, which the bench does not run)."""
    from ordergroove.storefront.selectors import (
        SUBSCRIBER_ACTIVE,
        subscriber_status_cache_key,
        subscriber_status_cache_set,
    )

    for i in range(count):
        subscriber_status_cache_set(subscriber_status_cache_key(STORE_HASH, 1000 + i), SUBSCRIBER_ACTIVE, 3600)


def _tokens(client_id: str, secret: str, count: int = 100) -> list[str]:
    import jwt

    now = int(time.time())
    return [jwt.encode({"customer": {"id": 1000 + i, "email": f"c{i}@example.com", "group_id": "0"},
                        "iss": "bc/apps", "sub": STORE_HASH, "store_hash": STORE_HASH, "iat": now, "exp": now + 900,
                        "version": 1, "aud": client_id, "application_id": client_id,
                        "operation": "current_customer"}, secret, algorithm="HS256") for i in range(count)]


def _client(args) -> tuple[list[float], int]:
    """One load-generator process: `n` sequential requests; returns latencies (s) and failures."""
    port, path_kind, n, tokens, client_id = args
    latencies: list[float] = []
    failures = 0
    for i in range(n):
        if path_kind in ("signature", "has_subscriptions"):
            path = (f"/api/v1/merchant/ordergroove/signature?ts={int(time.time())}" if path_kind == "signature"
                    else "/api/v1/ordergroove/customer/has_subscriptions")
            headers = {"Accept": "application/json", "Content-Type": "application/json",
                       "authorization-client": client_id, "Authorization": "BigCommerce",
                       "signed-payload": tokens[i % len(tokens)], "Origin": ORIGIN}
        else:
            path, headers = "/bench/bare", {"Accept": "application/json", "Origin": ORIGIN}
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                failures += 1
        except OSError:
            failures += 1
        finally:
            conn.close()
        latencies.append(time.perf_counter() - started)
    return latencies, failures


def _run(pool, port: int, kind: str, clients: int, requests: int, tokens, client_id, meter=None) -> dict:
    per_client = max(1, requests // clients)
    if meter is not None:
        meter.start()
    started = time.perf_counter()
    results = pool.map(_client, [(port, kind, per_client, tokens, client_id)] * clients)
    elapsed = time.perf_counter() - started
    latencies = sorted(x for lat, _ in results for x in lat)
    return {"n": len(latencies), "elapsed": elapsed, "latencies": latencies,
            "failures": sum(f for _, f in results), "cpu": meter.stop() if meter is not None else {}}


def _summary(runs: list[dict]) -> dict:
    latencies = sorted(x for r in runs for x in r["latencies"])
    n = len(latencies)
    cpu_seconds: dict[str, float] = {}
    for r in runs:
        for group, seconds in r["cpu"].items():
            cpu_seconds[group] = cpu_seconds.get(group, 0.0) + seconds
    return {"rps": n / sum(r["elapsed"] for r in runs), "p50": statistics.median(latencies) * 1000,
            "p99": latencies[min(n - 1, int(n * 0.99))] * 1000, "n": n, "failures": sum(r["failures"] for r in runs),
            "cpu": cpu_seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--clients", type=int, default=4, help="concurrent load-generator processes")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per endpoint")
    parser.add_argument("--requests", type=int, default=1500, help="requests per endpoint per round")
    parser.add_argument("--cache", choices=["auto", "redis", "locmem"], default="auto",
                        help="rate-limit counters in Redis (production) or per-process memory (to isolate their "
                             "cost); auto = Redis when it is running")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-storefront-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.storefront_settings", "BENCH_DB": str(tmp / "db.sqlite3"),
           "PYTHONPATH": str(ROOT), "VAR_DIR": str(tmp / "var")}
    if args.cache == "redis" or (args.cache == "auto" and _redis_up()):
        env["BENCH_REDIS_URL"] = "redis://127.0.0.1:6379/0"
        env["BENCH_CACHE_PREFIX"] = f"bench-{secrets.token_hex(6)}"  # own keys; nothing else is touched
    client_id, secret = "bench-client-id-0123456789abcdef", "bench-client-secret-0123456789abcdef"
    port = _free_port()
    gunicorn = None
    try:
        _prepare(env)
        gunicorn = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "middleware.wsgi:application", "--bind",
             f"127.0.0.1:{port}", "--workers", str(args.workers), "--worker-class", "sync", "--log-level", "warning",
             "--access-logfile", "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null"],
            cwd=ROOT, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            print("gunicorn did not start", file=sys.stderr)
            return 1
        tokens = _tokens(client_id, secret)
        kinds = ["bare", "signature"] + (["has_subscriptions"] if env.get("BENCH_REDIS_URL") else [])
        with multiprocessing.get_context("fork").Pool(args.clients) as pool:
            # Warm-up: imports, URL resolver, per-worker store cache, connections.
            for kind in kinds:
                warm = _run(pool, port, kind, args.clients, 200, tokens, client_id)
                if warm["failures"]:
                    print(f"warm-up of {kind} had {warm['failures']} failed requests", file=sys.stderr)
                    return 1
            meter = cpu.CpuMeter({"web": cpu.with_children(gunicorn.pid), "redis": cpu.named("redis-server"),
                                  "load generator": cpu.with_children(*(p.pid for p in pool._pool))})
            runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
            for _ in range(args.rounds):
                for kind in kinds:
                    runs[kind].append(_run(pool, port, kind, args.clients, args.requests, tokens, client_id, meter))
        summaries = {kind: _summary(runs[kind]) for kind in kinds}
        cache = "redis" if env.get("BENCH_REDIS_URL") else "locmem"
        print(f"gunicorn sync workers={args.workers}, clients={args.clients}, rounds={args.rounds}, cache={cache}")
        names = {"bare": "bare Django view", "signature": "signature endpoint", "has_subscriptions": "has_subs (hit)"}
        for kind, s in summaries.items():
            print(f"{names[kind]:20s} requests={s['n']:6d} failures={s['failures']:3d} {s['rps']:8.1f} req/s "
                  f"p50={s['p50']:6.2f} ms p99={s['p99']:6.2f} ms")
            print(cpu.report(s["cpu"], s["n"], "request"))
        bare = summaries["bare"]
        for kind in kinds[1:]:
            s = summaries[kind]
            print(f"ratio {kind}/bare: {s['rps'] / bare['rps']:.2f} (requests/s; goal >= 0.8), "
                  f"p50 {bare['p50'] / s['p50']:.2f}, p99 {bare['p99'] / s['p99']:.2f}")
        return 0 if not any(s["failures"] for s in summaries.values()) else 1
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
