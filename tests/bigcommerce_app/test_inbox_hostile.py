"""Hostile and unlucky bodies on `POST /webhooks/bigcommerce` (issue 14, findings 1, 2, 5 and 6), over real HTTP
against the live server on PostgreSQL: none gets a 5xx, what can never be stored gets a clear 4xx and changes
nothing, and one store's poisoned deliveries never fail another store's deliveries that share its group commit.
"""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from django.db import connection

from bigcommerce_app.inbox import intake
from bigcommerce_app.models import InboundEvent
from tests.bigcommerce_app.test_inbox_group_commit import _table_write_locked, _wait_for

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = InboundEvent._meta.db_table


def _send(url: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    """POST `body` as given (no re-encoding) to the intake; the status and the JSON error body, if any."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("POST", "/webhooks/bigcommerce", body=body,
                     headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        answer = json.loads(raw) if raw else {}
    except ValueError:
        answer = {"raw": raw[:200]}
    return response.status, answer


def _envelope(event_hash: str, data: str = '{"type": "order", "id": 7}', *, producer: str = "stores/abc123",
              scope: str = "store/order/created") -> str:
    """A webhook body written by hand, so that it can carry what json.dumps would never write."""
    return (f'{{"scope": "{scope}", "store_id": "1", "data": {data}, "hash": "{event_hash}", '
            f'"created_at": 1700000000, "producer": "{producer}"}}')


def _token(store) -> dict:
    return {"X-Webhook-Token": store.webhook_token}


# --- Finding 1: nesting is bounded before parsing -------------------------------------------------------------

@pytest.mark.parametrize("credentials", ["stranger", "store"])
def test_deeply_nested_json_is_a_400_and_stores_nothing(live_server, fake_bc, store, credentials):
    headers = _token(store) if credentials == "store" else {"X-Webhook-Token": "anything"}
    for body in ("[" * 5000 + "]" * 5000, _envelope("deep", "[" * 5000 + "]" * 5000),
                 _envelope("deep2", '{"a": ' * 5000 + "1" + "}" * 5000)):
        status, answer = _send(live_server.url, body.encode(), headers)
        assert status == 400, (status, answer)
        assert "nest" in answer["error"]
    assert InboundEvent.objects.count() == 0


def test_brackets_inside_strings_are_not_nesting(live_server, fake_bc, store):
    body = _envelope("brackets", json.dumps({"type": "order", "id": 7, "note": "[{" * 3000}))
    assert _send(live_server.url, body.encode(), _token(store))[0] == 200
    assert InboundEvent.objects.get().payload["data"]["note"] == "[{" * 3000


# --- Finding 2: a producer that cannot be a store hash never reaches the store lookup -------------------------

@pytest.mark.parametrize("producer", ["stores/abc\\u0000123", "stores/\\u0000", "stores/abc123\\u0000",
                                      "stores/\\ud800", "stores/ABC 123", "stores/" + "a" * 65])
def test_a_producer_that_is_no_store_hash_is_a_400(live_server, fake_bc, store, producer):
    status, answer = _send(live_server.url, _envelope("h1", producer=producer).encode(), _token(store))
    assert (status, answer["error"]) == (400, "producer must be 'stores/{store_hash}'")
    assert InboundEvent.objects.count() == 0


# --- Finding 5: bodies Python's json accepts and PostgreSQL's jsonb refuses -----------------------------------

REFUSED = {  # not JSON (RFC 8259 has no NaN or Infinity) or a number no JSON parser can hold: 400, nothing stored
    "nan": '{"type": "order", "id": NaN}',
    "infinity": '{"type": "order", "id": 7, "total": Infinity}',
    "minus-infinity": '{"type": "order", "id": 7, "total": -Infinity}',
    "overflow": '{"type": "order", "id": 7, "total": 1e999999}',
    "underflow": '{"type": "order", "id": 7, "total": 1e-999999}',
}
STORED_SAFELY = {  # JSON text PostgreSQL cannot hold as is: stored with U+FFFD in place of each such character
    "nul": ('{"type": "order", "id": 7, "note": "a\\u0000b"}', "a\ufffdb"),
    "lone-high-surrogate": ('{"type": "order", "id": 7, "note": "a\\ud800b"}', "a\ufffdb"),
    "lone-low-surrogate": ('{"type": "order", "id": 7, "note": "\\udc00"}', "\ufffd"),
    "nul-in-a-key": ('{"type": "order", "id": 7, "note": {"k\\u0000": "v"}}', {"k\ufffd": "v"}),
    "surrogate-pair": ('{"type": "order", "id": 7, "note": "\\ud83d\\ude00"}', "\U0001f600"),  # valid: unchanged
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_body_jsonb_refuses_is_a_400(live_server, fake_bc, store, case):
    status, answer = _send(live_server.url, _envelope(case, REFUSED[case]).encode(), _token(store))
    assert status == 400 and answer["error"], (status, answer)
    assert InboundEvent.objects.count() == 0


@pytest.mark.parametrize("case", sorted(STORED_SAFELY))
def test_text_jsonb_cannot_hold_is_stored_with_a_replacement_character(live_server, fake_bc, store, case):
    data, note = STORED_SAFELY[case]
    assert _send(live_server.url, _envelope(case, data).encode(), _token(store))[0] == 200
    event = InboundEvent.objects.get()
    assert (event.event_hash, event.resource_id, event.payload["data"]["note"]) == (case, "7", note)
    # The same delivery again (BigCommerce's retry) is the same event, not a second one.
    assert _send(live_server.url, _envelope(case, data).encode(), _token(store))[0] == 200
    assert InboundEvent.objects.count() == 1


@pytest.mark.parametrize("field", ["scope", "hash"])
@pytest.mark.parametrize("char", ["\\u0000", "\\udfff"])
def test_envelope_fields_jsonb_cannot_hold_are_a_400(live_server, fake_bc, store, field, char):
    body = _envelope(f"h{char}" if field == "hash" else "h1", scope=f"store/order/created{char}"
                     if field == "scope" else "store/order/created")
    status, answer = _send(live_server.url, body.encode(), _token(store))
    assert status == 400 and field in answer["error"]
    assert InboundEvent.objects.count() == 0


def test_raw_bytes_that_are_not_utf8_are_a_400(live_server, fake_bc, store):
    for raw in (b"\xed\xa0\x80", b"\xff", b"\xc3"):  # an encoded surrogate, a byte never in UTF-8, a cut sequence
        body = _envelope("raw", '{"type": "order", "id": 7, "note": "X"}').encode().replace(b"X", raw)
        status, answer = _send(live_server.url, body, _token(store))
        assert status == 400 and "UTF-8" in answer["error"]
    assert _send(live_server.url, json.dumps(json.loads(_envelope("u16"))).encode("utf-16"), _token(store))[0] == 400
    assert InboundEvent.objects.count() == 0


@contextmanager
def _data_error_trigger():
    """A database that refuses, as a data exception (SQLSTATE class 22, what jsonb raises for a body it cannot
    hold), any row whose resource id is 'poison': a refusal the intake's own checks did not foresee."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION inbox_refuse() RETURNS trigger AS $$ BEGIN "
                       "RAISE EXCEPTION 'refused row' USING ERRCODE = 'invalid_parameter_value'; END $$ "
                       "LANGUAGE plpgsql")
        cursor.execute(f"CREATE TRIGGER inbox_refuse BEFORE INSERT ON {TABLE} FOR EACH ROW "
                       "WHEN (NEW.resource_id = 'poison') EXECUTE FUNCTION inbox_refuse()")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER inbox_refuse ON {TABLE}")
            cursor.execute("DROP FUNCTION inbox_refuse()")


def _one_batch(url: str, leader: tuple[bytes, dict], rest: list[tuple[bytes, dict]]) -> tuple[int, list[int]]:
    """`leader` alone in the first statement, every request of `rest` that reaches the database together in the
    second (the others are answered before it); the statuses."""
    writer = intake._EVENT_WRITER
    with ThreadPoolExecutor(max_workers=len(rest) + 1) as pool, _table_write_locked():
        first = pool.submit(_send, url, *leader)
        _wait_for(lambda: writer._busy and not writer._queue, "the first request to lead")
        answers = [pool.submit(_send, url, *args) for args in rest]
        _wait_for(lambda: len(writer._queue) + sum(answer.done() for answer in answers) == len(rest),
                  "the other requests to queue behind it or be answered")
    return first.result()[0], [answer.result()[0] for answer in answers]


def test_a_row_the_database_refuses_fails_only_its_own_delivery(live_server, fake_bc, store, install_store):
    """Group commit isolation: a data error on one row of a batch retries the batch row by row, so the other
    rows (here of another store) are stored and answered 200; the refused delivery alone gets a 400."""
    other = install_store("def456")
    good = [(_envelope(f"good-{n}", producer="stores/def456").encode(), _token(other)) for n in range(6)]
    poison = (_envelope("bad", '{"type": "order", "id": "poison"}').encode(), _token(store))
    with _data_error_trigger():
        first, answers = _one_batch(live_server.url, (_envelope("lead").encode(), _token(store)),
                                    good[:3] + [poison] + good[3:])
    assert first == 200 and answers == [200] * 3 + [400] + [200] * 3
    assert sorted(InboundEvent.objects.values_list("event_hash", flat=True)) == sorted(
        ["lead"] + [f"good-{n}" for n in range(6)])


def test_poisoned_deliveries_of_one_store_never_fail_another_stores(live_server, fake_bc, store, install_store):
    """The issue's reproduction: one store's deliveries carrying every kind of body jsonb refuses, concurrent
    with another store's good deliveries; first forced into one statement, then as a free-running burst."""
    other = install_store("def456")
    poisoned = [(_envelope(f"p-{name}", data).encode(), _token(store))
                for name, data in [*REFUSED.items(), *((n, d) for n, (d, _) in STORED_SAFELY.items())]]
    good = [(_envelope(f"good-{n}", producer="stores/def456").encode(), _token(other)) for n in range(4)]
    first, answers = _one_batch(live_server.url, (_envelope("lead").encode(), _token(store)), good + poisoned)
    assert first == 200 and answers[:len(good)] == [200] * len(good)
    assert all(status in (200, 400) for status in answers), answers  # every poisoned one: a clear answer, no 5xx

    burst_good = [(_envelope(f"burst-{n}", producer="stores/def456").encode(), _token(other)) for n in range(80)]
    burst = [item for pair in zip(burst_good, poisoned * 8, strict=False) for item in pair]
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda args: _send(live_server.url, *args)[0], burst))
    assert [status for status, item in zip(statuses, burst, strict=True) if item in burst_good] == [200] * 80
    assert all(status in (200, 400) for status in statuses)
    stored = set(InboundEvent.objects.filter(store=other).values_list("event_hash", flat=True))
    assert stored == {f"good-{n}" for n in range(4)} | {f"burst-{n}" for n in range(80)}


# --- Finding 6: Standard Webhooks headers on a body that is not UTF-8, and malformed signature headers ---------

def _signed(fake_bc, body: bytes, *, age: int = 0, signature: str | None = None) -> dict:
    headers = fake_bc.standard_webhook_headers(body, ts=int(time.time()) - age)
    if signature is not None:
        headers["webhook-signature"] = signature
    return headers


@pytest.mark.parametrize("age", [3600, 0])
def test_a_signed_body_that_is_not_utf8_is_a_400(live_server, fake_bc, store, age):
    for body in (_envelope("latin", '{"type": "order", "id": 7, "note": "caf\xe9"}').encode("latin-1"),
                 _envelope("utf16").encode("utf-16")):
        status, answer = _send(live_server.url, body, {**_token(store), **_signed(fake_bc, body, age=age)})
        assert status == 400 and "UTF-8" in answer["error"], (status, answer)
    assert InboundEvent.objects.count() == 0


@pytest.mark.parametrize("signature", ["v1", "v1,a,b", "v1,!!!not-base64", "v1,YQ", "v2 v1", ",", " "])
@pytest.mark.parametrize("age", [3600, 0])
def test_malformed_signature_headers_are_a_401(live_server, fake_bc, store, signature, age):
    body = _envelope("sig").encode()
    headers = {**_token(store), **_signed(fake_bc, body, age=age, signature=signature)}
    status, answer = _send(live_server.url, body, headers)
    assert status == 401 and answer["error"], (status, answer)
    assert InboundEvent.objects.count() == 0


# --- Size: bounded before the body is read -----------------------------------------------------------------------

@pytest.mark.parametrize("size", [256 * 1024 + 1, 3 * 1024 * 1024])
def test_a_body_over_the_limit_is_refused_unread(live_server, fake_bc, store, size):
    body = _envelope("big", json.dumps({"type": "order", "id": 7, "note": "x" * size})).encode()
    status, answer = _send(live_server.url, body, _token(store))
    assert (status, answer["error"]) == (413, "payload too large")
    assert InboundEvent.objects.count() == 0


def test_a_signed_body_made_storable_still_verifies_against_what_was_sent(live_server, fake_bc, store):
    body = _envelope("signed-nul", '{"type": "order", "id": 7, "note": "a\\u0000b"}').encode()
    assert _send(live_server.url, body, {**_token(store), **_signed(fake_bc, body)})[0] == 200
    event = InboundEvent.objects.get()
    assert (event.signature, event.payload["data"]["note"]) == ("valid", "a\ufffdb")
