"""Instructions per request of the webhook intake and of the bare Django view, counted by valgrind (callgrind).

Run (from the repository root; needs `valgrind` and PostgreSQL on 127.0.0.1:5432; about three minutes):

    .venv/bin/python bench/webhooks_instructions.py                # 300 requests of each kind
    .venv/bin/python bench/webhooks_instructions.py --requests 500

Wall-clock figures of bench/webhooks.py move with the load of this shared machine; instruction counts do not, so
they tell whether a change to the intake made it cheaper. The script creates a throwaway PostgreSQL database
(migrated, one installed store), then re-runs itself under `valgrind --tool=callgrind`, calling the WSGI
application (middleware.wsgi, as gunicorn does) in process and in one thread: warm-up, then the bare view, then
the intake, each phase ended by `os.getppid()` (the dump trigger). One thread means one request per group-commit
statement, so the intake's database share is higher than under load. The relay's publishing to the broker is
replaced by a no-op in the measuring process only: it runs in its own thread, off the request path.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STORE_HASH, TOKEN = "benchwh", "bench-webhook-token-0123456789abcdef"


def _environ(path: str, body: bytes) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json", "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1", "HTTP_X_WEBHOOK_TOKEN": TOKEN, "HTTP_USER_AGENT": "BigCommerce",
            "HTTP_ACCEPT": "*/*", "HTTP_ACCEPT_ENCODING": "gzip, deflate"}


def _body(prefix: str, i: int) -> bytes:
    return json.dumps({"scope": "store/bench/intake", "store_id": "1000001", "data": {"type": "order", "id": i},
                       "hash": f"{prefix}-{i:08d}", "created_at": 1765000000,
                       "producer": f"stores/{STORE_HASH}"}).encode()


def _measured(requests: int) -> None:
    """Runs under callgrind: the phases, separated by os.getppid() (the dump trigger)."""
    import gc

    import django

    django.setup()
    from bigcommerce_app.inbox.relay import relay
    from middleware.wsgi import application

    relay.submit = lambda event_ids: None  # measuring process only: publishing is off the request path

    def start_response(status, headers, exc_info=None):
        assert status.startswith("200"), status

    def run(path: str, prefix: str, n: int) -> None:
        for i in range(n):
            body = application(_environ(path, _body(prefix, i)), start_response)
            b"".join(body)
            body.close()

    run("/bench/bare", "warm", 100)
    run("/webhooks/bigcommerce", "warm", 100)
    gc.freeze()  # as middleware/wsgi.py does after loading
    os.getppid()
    run("/bench/bare", "bare", requests)
    os.getppid()
    run("/webhooks/bigcommerce", "intake", requests)
    os.getppid()


def _prepare(env: dict) -> None:
    code = ("import django; django.setup(); from django.core.management import call_command; "
            "call_command('migrate', verbosity=0); from bigcommerce_app.models import Store; "
            f"Store.objects.create(store_hash={STORE_HASH!r}, status='installed', access_token='x', "
            f"webhook_token={TOKEN!r})")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="requests of each kind counted")
    parser.add_argument("--measured", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measured:
        _measured(args.requests)
        return 0
    if not shutil.which("valgrind"):
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 1
    import psycopg

    base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    db_name = f"bench_webhooks_instr_{os.getpid()}"
    out = Path(f"/tmp/{db_name}.callgrind")  # noqa: S108 - a per-run name, removed below
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.webhooks_settings", "PYTHONPATH": str(ROOT),
           "BENCH_DATABASE_URL": f"{base}/{db_name}", "REDIS_URL": "redis://127.0.0.1:9/0"}
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    try:
        _prepare(env)
        started = time.monotonic()
        subprocess.run(["valgrind", "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out}",
                        sys.executable, __file__, "--measured", "--requests", str(args.requests)],
                       cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        per_request = {}
        for part, phase in enumerate(["bare Django view", "webhook intake"], start=2):  # part 1: start-up
            text = Path(f"{out}.{part}").read_text()
            total = int(next(line.split()[1] for line in text.splitlines() if line.startswith("totals:")))
            per_request[phase] = total / args.requests
        bare, intake = per_request["bare Django view"], per_request["webhook intake"]
        print(f"instructions per request ({args.requests} each, in process, one thread, callgrind; "
              f"{time.monotonic() - started:.0f} s):")
        print(f"  bare Django view   {bare:12,.0f}")
        print(f"  webhook intake     {intake:12,.0f}   extra over bare {intake - bare:12,.0f}")
        return 0
    finally:
        for path in out.parent.glob(f"{out.name}*"):
            path.unlink()
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
