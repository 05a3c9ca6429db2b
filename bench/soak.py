"""The soak (issue 14): the production topology under a mixed load and scheduled faults; then what BigCommerce
sent is reconciled with what Ordergroove, the payments API and the SFTP drop-off received.

    .venv/bin/python bench/soak.py --minutes 5          # needs PostgreSQL on 127.0.0.1:5432 and redis-server

It starts, on loopback and free ports, the commands of docker/ (entrypoint.sh's web — migrate, then gunicorn with
2 worker processes —, two Celery workers, beat; compose.yaml's redis-server, append-only) with production
settings (bench/soak/settings.py: only the retry and lease waits are scaled down), a PostgreSQL database of its
own (created, then dropped), and the project's fakes of BigCommerce, Ordergroove and the SFTP drop-off. Two
stores are installed through the OAuth callback and configured through the console API. Then, for --minutes:
order webhooks (some delivered twice, anything not answered 2xx delivered again), customer and default-card
updates, storefront calls, signed recurring-order placements (posted again on no answer or 999), Ordergroove
events and feed runs, while every minute brings one of each fault (bench/soak/faults.py). After a bounded drain
it prints the table (bench/soak/reconcile.py) and exits 1 when a goal is not met. Every process it started is
stopped and the database dropped, on success, failure or Ctrl-C; logs are kept (path printed) on failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from bench.soak.topology import Topology  # noqa: E402
from bench.soak.vendors import APP_HOST, APP_URL, Vendors  # noqa: E402

STORES = ("soakstorea", "soakstoreb")


def service_env(topology: Topology, vendor_env: dict[str, str], workdir: Path) -> dict[str, str]:
    """docker/env.example filled in, pointing at the soak's own database, Redis and fakes."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "TEST_RUN"))}
    env.update(vendor_env)
    env.update({
        "DJANGO_SETTINGS_MODULE": "bench.soak.settings", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
        "APP_URL": APP_URL, "ALLOWED_HOSTS": f"{APP_HOST},127.0.0.1", "SECRET_KEY": secrets.token_urlsafe(48),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "DATABASE_URL": topology.database_url,
        "REDIS_URL": topology.redis_url, "VAR_DIR": str(workdir / "var"), "LOG_LEVEL": "INFO",
        "WORKER_CONCURRENCY": "2", "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "METRICS_TOKEN": secrets.token_urlsafe(24),
        # The vendors are fakes on 127.0.0.1 over plain HTTP: the explicit setting that lets merchant-entered
        # endpoints point there (production's default refuses anything but HTTPS to public addresses).
        "OUTBOUND_ALLOWED_ADDRESSES": "public+loopback", "OUTBOUND_HTTPS_ONLY": "false",
    })
    (workdir / "var").mkdir(exist_ok=True)
    return env


def soak(args: argparse.Namespace, workdir: Path) -> bool:
    vendors = Vendors(workdir)
    topology = Topology(workdir, {}, pg_url=args.postgres, db_name=f"soak_{os.getpid()}_{secrets.token_hex(3)}",
                        keep_database=args.keep_database)
    try:
        topology.env = service_env(topology, vendors.start(), workdir)
        os.environ.update(topology.env)
        topology.create_database()
        started = time.monotonic()
        topology.start()
        import django

        django.setup()
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # the fake SFTP server's side of the cuts
        from bench.soak import database  # imports the models: after django.setup()
        from bench.soak.faults import Injector
        from bench.soak.load import Load, Recorder
        from bench.soak.reconcile import Watch, fault_log, print_table, reconcile, wait_drained

        for index, store_hash in enumerate(STORES):
            vendors.install(topology.web_url, store_hash, index)
        print(f"soak: service up and {len(STORES)} stores installed in {time.monotonic() - started:.1f}s "
              f"(web {topology.web_url}, redis {topology.redis_port}, database {topology.db_name})", flush=True)

        recorder = Recorder()
        watch = Watch(vendors, recorder)
        load = Load(topology.web_url, vendors, recorder)
        injector = Injector(topology, vendors, load)
        seconds = args.minutes * 60
        watch.start()
        load.start(rate=args.rate, max_requests=int(seconds * args.rate * 12))
        faults = threading.Thread(target=injector.run, args=(seconds,), name="soak-faults", daemon=True)
        faults.start()
        load.load_stop.wait(seconds)
        load.stop()
        injector.stop.set()
        faults.join(timeout=60)
        print(f"soak: load over after {seconds:.0f}s ({len(recorder.answers)} requests, "
              f"{len(injector.records)} faults); draining (at most {args.drain:.0f}s)", flush=True)
        drain_seconds, left = wait_drained(load, vendors, args.drain,
                                           lambda: database.outstanding(STORES))
        load.stop_retries()
        watch.stop()
        result = reconcile(load, vendors, watch, injector.records, recorder, topology.summary(),
                           database.feed_runs(STORES), database.og_event_counts(STORES),
                           unplanned=topology.unplanned_exits())
        result.row("drain", f"{drain_seconds:.0f} s" + ("" if not any(left.values()) else
                                                         f", still outstanding: {left}"))
        print("\nFaults (time since the first, what was hit, recovery = fault over → next success):")
        print(fault_log(injector.records))
        print_table(result, f"Soak: {args.minutes:g} min of load, {args.rate:g} order webhooks/s, 2 stores")
        if result.failures:
            for table, counts in database.unfinished().items():
                print(f"database, {table}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        return not result.failures
    finally:
        topology.stop()
        vendors.stop()


def _interrupted(*_args) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up as Ctrl-C does


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5, help="length of the load (one round of faults a minute)")
    parser.add_argument("--rate", type=float, default=3, help="order webhooks per second (other callers scale)")
    parser.add_argument("--drain", type=float, default=150, help="longest wait for the work to finish (s)")
    parser.add_argument("--postgres", default=os.environ.get("SOAK_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
                        help="PostgreSQL server URL (without database)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the service logs even when all goals pass")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database (investigation)")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        print("soak: redis-server is not on PATH", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupted)
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    started = time.monotonic()
    ok = False
    try:
        ok = soak(args, workdir)
    except KeyboardInterrupt:
        print("soak: interrupted; every process stopped, database dropped", file=sys.stderr)
    finally:
        print(f"soak: {time.monotonic() - started:.0f}s in all", flush=True)
        if ok and not args.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"soak: service logs kept in {workdir / 'logs'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
