"""Intake group commit (issue 4): webhook requests of one process that arrive together are written by one
statement, and each is still answered only once its own row is committed. Over real HTTP (the live server runs
a thread per request, like gunicorn's gthread workers), on PostgreSQL and on SQLite.

To make the batch deterministic, the test holds a write lock on the events table from another connection: the
first request (the leader) waits on it inside its INSERT while the others queue up behind it; releasing the
lock lets the leader finish alone and the next leader write everything that queued in one statement. Every
row of one statement carries the same `received_at`, which is how the tests see the batches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.conf import settings as django_settings
from django.db import connection

from bigcommerce_app.inbox import intake
from bigcommerce_app.models import InboundEvent

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = InboundEvent._meta.db_table


def _post(url: str, token: str, resource_id: str, event_hash: str, store_hash: str = "abc123") -> int:
    body = json.dumps({"scope": "store/order/created", "store_id": "1", "hash": event_hash, "created_at": 1700000000,
                       "producer": f"stores/{store_hash}", "data": {"type": "order", "id": resource_id}}).encode()
    request = urllib.request.Request(f"{url}/webhooks/bigcommerce", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "X-Webhook-Token": token})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _wait_for(condition, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@contextmanager
def _table_write_locked():
    """Another connection holds a lock that makes every INSERT into the events table wait."""
    other = connection.copy()  # a second connection to the same test database
    other.connect()
    try:
        if other.vendor == "postgresql":
            other.set_autocommit(False)
            with other.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE")
        else:
            with other.cursor() as cursor:
                cursor.execute("BEGIN IMMEDIATE")  # SQLite: the database's one write lock
        yield
    finally:
        if other.vendor == "postgresql":
            other.rollback()
        else:
            with other.cursor() as cursor:
                cursor.execute("ROLLBACK")
        other.close()


def _post_in_two_batches(url: str, token: str, first: tuple[str, str], rest: list[tuple[str, str]]) -> tuple[int, list]:
    """`first` alone in the first statement, then every request of `rest` in the second; the answers."""
    writer = intake._EVENT_WRITER
    with ThreadPoolExecutor(max_workers=len(rest) + 1) as pool, _table_write_locked():
        first_answer = pool.submit(_post, url, token, *first)
        _wait_for(lambda: writer._busy and not writer._queue, "the first request to lead")
        answers = [pool.submit(_post, url, token, *args) for args in rest]
        _wait_for(lambda: len(writer._queue) == len(rest), "the other requests to queue behind it")
        assert not first_answer.done() and not any(a.done() for a in answers)  # nothing answered before its commit
    return first_answer.result(), [a.result() for a in answers]


def _batches() -> list[list[str]]:
    by_time: dict = {}
    for received_at, event_hash in InboundEvent.objects.order_by("pk").values_list("received_at", "event_hash"):
        by_time.setdefault(received_at, []).append(event_hash)
    return [sorted(hashes) for hashes in by_time.values()]


def test_requests_queued_together_share_one_statement_and_duplicates_are_stored_once(live_server, fake_bc, store):
    rest = [(str(n), f"order-{n}") for n in range(4) for _ in range(3)]  # 4 events, each delivered 3 times
    rest += [("100", "order-first")] * 2  # and two more copies of the first event
    first, answers = _post_in_two_batches(live_server.url, store.webhook_token, ("100", "order-first"), rest)

    assert first == 200 and answers == [200] * len(rest)  # every copy acknowledged
    assert _batches() == [["order-first"], ["order-0", "order-1", "order-2", "order-3"]]
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {"pending"}


def test_a_failed_statement_is_a_503_for_exactly_its_requests_and_stores_none_of_them(live_server, fake_bc, store):
    rest = [(str(n), f"order-{n}") for n in range(5)] + [("poison", "order-poison")]
    with _poison_trigger():
        first, answers = _post_in_two_batches(live_server.url, store.webhook_token, ("100", "order-first"), rest)
    assert first == 200
    assert answers == [503] * len(rest)  # the whole second statement failed: nothing acknowledged
    assert _batches() == [["order-first"]]  # and nothing of it half-stored

    # BigCommerce delivers the refused ones again once the database is well: each stored once.
    with ThreadPoolExecutor(max_workers=len(rest)) as pool:
        again = list(pool.map(lambda args: _post(live_server.url, store.webhook_token, *args), rest))
    assert again == [200] * len(rest)
    assert InboundEvent.objects.count() == 1 + len(rest)


def test_a_store_deleted_under_the_cache_fails_only_its_own_requests(live_server, fake_bc, store, install_store):
    """A foreign-key failure in a batch (a store deleted by another process while this one still has its auth
    facts cached): the statement is retried row by row, so the other store's requests of the same batch are
    stored, and the deleted store's request re-checks its store and is refused."""
    other = install_store("def456")
    assert _post(live_server.url, other.webhook_token, "1", "warm", store_hash="def456") == 200
    cached = intake._STORE_AUTH["def456"]
    other.delete()
    intake._STORE_AUTH["def456"] = cached  # as another process's cache would still hold it

    writer = intake._EVENT_WRITER
    with ThreadPoolExecutor(max_workers=4) as pool, _table_write_locked():
        first = pool.submit(_post, live_server.url, store.webhook_token, "1", "order-a")
        _wait_for(lambda: writer._busy and not writer._queue, "the first request to lead")
        kept = pool.submit(_post, live_server.url, store.webhook_token, "2", "order-b")
        gone = pool.submit(_post, live_server.url, other.webhook_token, "3", "order-c", store_hash="def456")
        _wait_for(lambda: len(writer._queue) == 2, "the other requests to queue")
    assert (first.result(), kept.result(), gone.result()) == (200, 200, 401)
    assert sorted(InboundEvent.objects.values_list("event_hash", flat=True)) == ["order-a", "order-b"]


@contextmanager
def _poison_trigger():
    """A database that fails any statement carrying the event whose resource id is 'poison' (not a constraint
    violation: a plain database error, as a full disk or a dropped connection would be)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE FUNCTION inbox_poison() RETURNS trigger AS $$ BEGIN "
                           "RAISE EXCEPTION 'poisoned batch'; END $$ LANGUAGE plpgsql")
            cursor.execute(f"CREATE TRIGGER inbox_poison BEFORE INSERT ON {TABLE} FOR EACH ROW "
                           "WHEN (NEW.resource_id = 'poison') EXECUTE FUNCTION inbox_poison()")
        else:  # SQLite: json() of a malformed text is a runtime error (OperationalError), not a constraint
            cursor.execute(f"CREATE TRIGGER inbox_poison BEFORE INSERT ON {TABLE} "
                           "WHEN NEW.resource_id = 'poison' BEGIN SELECT json('{'); END")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER inbox_poison{' ON ' + TABLE if connection.vendor == 'postgresql' else ''}")
            if connection.vendor == "postgresql":
                cursor.execute("DROP FUNCTION inbox_poison()")


@pytest.mark.skipif(os.environ.get("TEST_DATABASE") == "sqlite" or connection.vendor == "sqlite",
                    reason="already running on SQLite")
def test_the_same_guarantees_hold_on_sqlite():
    """The development database (SQLite) takes the same multi-row statement: this module again, on SQLite."""
    env = {key: value for key, value in os.environ.items() if key not in ("CI", "DATABASE_URL")}
    env.update(TEST_DATABASE="sqlite", TEST_RUN_ID=f"{django_settings.RUN_ID}-sqlite")
    result = subprocess.run([sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider",
                             "-k", "not sqlite"], cwd=django_settings.BASE_DIR, env=env, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout
