"""Storefront endpoints under hostile input and a cache outage (issue 14, findings 8 and 10): numbers from outside
are parsed as bounded ASCII integers and refused with a clear 4xx, and the subscriber status keeps answering while
Redis is unreachable."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import redis

from ordergroove.storefront.redis_link import storefront_redis
from ordergroove.storefront.selectors import subscriber_status_cache_key
from tests.ordergroove.conftest import OG_MERCHANT_ID
from tests.ordergroove.test_storefront import (  # noqa: F401 - isolated: the same autouse fixture
    HAS_SUBS,
    SIGNATURE,
    STOREFRONT,
    get_signature,
    isolated,
    theme_headers,
)

pytestmark = pytest.mark.django_db


# "²" and "١٢٣" are str.isdigit() digits (int() refuses the first and reads the second as 123); fullwidth forms,
# signs, underscores and huge numbers are not Unix seconds either (a NUL never reaches the view: the URL is refused
# before routing).
@pytest.mark.parametrize("ts", ["²", "١٢٣", "１７００００００００", "+1700000000", "1_700_000_000", "9" * 400])
def test_a_ts_that_is_not_plain_ascii_digits_is_400(client, og_settings, fake_bc, ts):
    response = client.get(SIGNATURE, {"ts": ts}, **theme_headers(fake_bc.customer_jwt("abc123", 1)))
    assert response.status_code == 400
    assert response.json() == {"detail": "ts must be the current time in whole Unix seconds."}


@pytest.mark.parametrize("customer_id", ["²", "١٢٣", "4927²", "0", "-1", "+4927", " 4927", "4927.0", "9" * 400,
                                         10 ** 400, 2 ** 63, 0, -4927, 4927.0, True, None, [4927]])
def test_a_signed_customer_id_that_is_not_a_bounded_positive_integer_is_401(client, og_settings, fake_bc, fake_og,
                                                                            customer_id):
    token = fake_bc.customer_jwt("abc123", 4927, customer={"id": customer_id, "email": "x@example.com"})
    for path in (SIGNATURE, HAS_SUBS):
        response = client.get(path, {"ts": int(time.time())}, **theme_headers(token))
        assert response.status_code == 401, (customer_id, path, response.content)
        assert response.json() == {"detail": "The customer token names no customer."}
    assert fake_og.requests == []


def test_a_signed_customer_id_as_ascii_digits_is_the_customer(client, og_settings, fake_bc):
    token = fake_bc.customer_jwt("abc123", 4927, customer={"id": "4927", "email": "x@example.com"})
    assert get_signature(client, token).status_code == 200


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_has_subscriptions_answers_from_ordergroove_while_redis_is_unreachable(client, og_settings, fake_bc, fake_og,
                                                                              settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0"}}
    fake_og.add_subscription(OG_MERCHANT_ID, "4927", live=True)
    headers = theme_headers(fake_bc.customer_jwt("abc123", 4927))
    for _ in range(2):  # every call, not only the first
        response = client.get(HAS_SUBS, **headers)
        assert response.status_code == 200, response.content
        assert response.json() == {"status": True, "subscriber_status": 1}
    assert len(fake_og.requests) == 2  # nothing could be cached: Ordergroove was asked each time
    # Ordergroove down as well: the documented 503, still not a crash.
    fake_og.fail("GET", r"/rest/subscriptions/", status=502)
    response = client.get(HAS_SUBS, **headers)
    assert response.status_code == 503 and response.json()["code"] == "ordergroove_unavailable"


# The headers the DRF views answered with (captured before issue 17 moved the endpoints to plain Django views);
# the theme's JavaScript and the schema fuzz read them.
_COMMON = {"Allow": "GET, OPTIONS", "Cache-Control": "no-store", "Vary": "Origin", "X-Frame-Options": "DENY",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "Cross-Origin-Opener-Policy": "same-origin"}
_READABLE = {"Access-Control-Allow-Origin": STOREFRONT, "Access-Control-Expose-Headers": "Retry-After"}


def _headers(response) -> dict:
    return {name: value for name, value in response.headers.items() if name != "Content-Length"}


def test_the_exact_headers_of_success_refusals_and_preflights(client, og_settings, fake_bc, settings):
    token = fake_bc.customer_jwt("abc123", 4927)
    ok = get_signature(client, token)
    assert _headers(ok) == {**_COMMON, **_READABLE, "Content-Type": "application/json"}
    refused = get_signature(client, None)
    assert refused.content == b'{"detail":"Sign in to the store: the signed-payload customer token is missing."}'
    assert _headers(refused) == {**_COMMON, **_READABLE, "Content-Type": "application/json",
                                 "WWW-Authenticate": 'BigCommerce realm="storefront"'}
    other_method = client.post(SIGNATURE, **theme_headers(token))
    assert (other_method.status_code, other_method.content) == (405, b'{"detail":"Method \\"POST\\" not allowed."}')
    assert _headers(other_method) == {**_COMMON, **_READABLE, "Content-Type": "application/json"}
    preflight = client.options(HAS_SUBS, HTTP_ORIGIN=STOREFRONT, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert preflight.status_code == 204 and preflight.content == b""
    assert _headers(preflight) == {**_COMMON, "Content-Type": "text/html; charset=utf-8",
                                   "Access-Control-Allow-Origin": STOREFRONT,
                                   "Access-Control-Allow-Methods": "GET, OPTIONS",
                                   "Access-Control-Allow-Headers": "authorization-client, signed-payload, "
                                                                   "authorization, content-type, accept",
                                   "Access-Control-Max-Age": "600"}
    settings.STOREFRONT_RATE_PER_CUSTOMER = "1/m"
    throttled = get_signature(client, token)
    assert throttled.status_code == 429
    wait = throttled["Retry-After"]
    assert throttled.content == (b'{"detail":"Request was throttled. Expected available in %s second%s."}'
                                 % (wait.encode(), b"" if wait == "1" else b"s"))
    assert _headers(throttled) == {**_COMMON, **_READABLE, "Content-Type": "application/json", "Retry-After": wait}


def _redis_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            server.poll()
            assert server.returncode is None, "redis-server did not start"
            time.sleep(0.05)
    raise AssertionError("redis-server did not answer")


@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs the redis-server binary")
def test_the_storefront_rides_out_a_restart_of_its_redis(client, og_settings, fake_bc, fake_og, settings):
    """A private Redis (never the machine's own) is stopped and started again: calls in between still answer, and
    afterwards the storefront's connection is back (statuses and rate-limit counts land in the new server, whose
    script cache is empty)."""
    port = _closed_port()
    server = _redis_server(port)
    try:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                       "LOCATION": f"redis://127.0.0.1:{port}/0"}}
        settings.STOREFRONT_RATE_SYNC_SECONDS = "0"  # every request syncs its counts
        fake_og.add_subscription(OG_MERCHANT_ID, "4927", live=True)
        fake_og.add_subscription(OG_MERCHANT_ID, "4928", live=True)
        assert client.get(HAS_SUBS, **theme_headers(fake_bc.customer_jwt("abc123", 4927))).status_code == 200
        server.terminate()
        server.wait(timeout=10)
        down = client.get(HAS_SUBS, **theme_headers(fake_bc.customer_jwt("abc123", 4928)))
        assert down.status_code == 200 and down.json()["subscriber_status"] == 1  # asked of Ordergroove
        assert get_signature(client, fake_bc.customer_jwt("abc123", 4928)).status_code == 200
        server = _redis_server(port)
        assert client.get(HAS_SUBS, **theme_headers(fake_bc.customer_jwt("abc123", 4928))).status_code == 200
        assert get_signature(client, fake_bc.customer_jwt("abc123", 4928)).status_code == 200
        link = storefront_redis()
        assert link.call("GET", f"{link.prefix}:{subscriber_status_cache_key('abc123', 4928)}").startswith(b"1|")
        assert link.call("KEYS", f"{link.prefix}:rl:*")  # the counts reached the restarted server
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_storefront_redis_link_sends_every_argument_type_and_refuses_others():
    # redis_link.py packs commands with hiredis's C packer directly: str (UTF-8), bytes, int and float arguments
    # reach Redis as redis-py would send them, anything else is redis-py's DataError and the link keeps working.
    link = storefront_redis()
    key = f"{link.prefix}:test-pack:{time.time_ns()}"
    try:
        assert link.call("SET", key, "Zoë", "EX", 60) == b"OK"
        assert link.call("GET", key.encode()) == "Zoë".encode()
        assert link.call("INCRBY", f"{key}:n", 7) == 7
        assert link.call("INCRBYFLOAT", f"{key}:n", 0.5) == b"7.5"
        with pytest.raises(redis.DataError):
            link.call("GET", object())
        assert link.call("GET", key) == "Zoë".encode()
    finally:
        link.call("DEL", key, f"{key}:n")
