"""The storefront endpoints (DECISIONS §2) through Django's test client, with the real JWT verification, the fake
BigCommerce's customer tokens and the fake Ordergroove over sockets."""

from __future__ import annotations

import time
import uuid
from urllib.parse import unquote

import jwt
import pytest
from django.conf import settings as django_settings

from bigcommerce_app.models import Store
from ordergroove import signatures
from ordergroove.storefront import conf
from ordergroove.storefront.redis_link import storefront_redis
from ordergroove.storefront.selectors import storefront_caches_clear, subscriber_status_cache_key
from tests.ordergroove.conftest import OG_HASH_KEY, OG_MERCHANT_ID

pytestmark = pytest.mark.django_db

SIGNATURE = "/api/v1/merchant/ordergroove/signature"
HAS_SUBS = "/api/v1/ordergroove/customer/has_subscriptions"
STOREFRONT = "https://store-abc123.mybigcommerce.com"


@pytest.fixture(autouse=True)
def isolated(settings):
    """Fresh per-test cache namespace (rate-limit windows, subscriber status) and worker caches."""
    settings.STOREFRONT_CACHE_NAMESPACE = f"t-{uuid.uuid4().hex}"
    settings.STOREFRONT_RATE_PER_CUSTOMER = "1000/m"
    settings.STOREFRONT_RATE_PER_IP = "1000/m"
    storefront_caches_clear()
    yield
    storefront_caches_clear()


def theme_headers(token: str | None, *, client_id: str | None = None, origin: str = STOREFRONT) -> dict:
    """What seed 002's theme sends (Django test client header names)."""
    headers = {"HTTP_ACCEPT": "application/json", "CONTENT_TYPE": "application/json",
               "HTTP_AUTHORIZATION_CLIENT": client_id or django_settings.BIGCOMMERCE_CLIENT_ID,
               "HTTP_AUTHORIZATION": "BigCommerce", "HTTP_ORIGIN": origin}
    if token is not None:
        headers["HTTP_SIGNED_PAYLOAD"] = token
    return headers


def get_signature(client, token, ts=None, **kwargs):
    ts = int(time.time()) if ts is None else ts
    return client.get(SIGNATURE, {"ts": ts}, **theme_headers(token, **kwargs))


# --- Signature ------------------------------------------------------------------------------------------------

def test_signature_for_the_customer_in_the_token(client, og_settings, fake_bc):
    ts = int(time.time())
    response = get_signature(client, fake_bc.customer_jwt("abc123", 4927), ts)
    assert response.status_code == 200
    data = response.json()["data"]
    assert "%2F" in data or "%2B" in data or "%3D" in data  # URL-encoded, as the theme decodeURIComponent()s it
    assert signatures.signature_verify("4927", ts, unquote(data), OG_HASH_KEY)
    assert response["Access-Control-Allow-Origin"] == STOREFRONT
    assert response["Cache-Control"] == "no-store"


def test_hs512_customer_token_is_accepted(client, og_settings, fake_bc):
    assert get_signature(client, fake_bc.customer_jwt("abc123", 7, algorithm="HS512")).status_code == 200


def test_a_customer_never_gets_a_signature_for_another_id(client, og_settings, fake_bc):
    """Any id in the query string is ignored: the signature is always over the token's customer."""
    ts = int(time.time())
    response = client.get(SIGNATURE, {"ts": ts, "customer_id": "1", "user_id": "1", "sig_field": "1"},
                          **theme_headers(fake_bc.customer_jwt("abc123", 4927)))
    sig = unquote(response.json()["data"])
    assert signatures.signature_verify("4927", ts, sig, OG_HASH_KEY)
    assert not signatures.signature_verify("1", ts, sig, OG_HASH_KEY)


def test_a_tampered_token_naming_another_customer_is_refused(client, og_settings, fake_bc):
    header, payload, sig = fake_bc.customer_jwt("abc123", 4927).split(".")
    other_payload = fake_bc.customer_jwt("abc123", 1).split(".")[1]
    response = get_signature(client, f"{header}.{other_payload}.{sig}")
    assert response.status_code == 401 and "data" not in response.json()


def _forged_tokens(fake_bc) -> dict[str, str | None]:
    now = int(time.time())
    base = {"customer": {"id": 4927, "email": "x@example.com", "group_id": "0"}, "iss": "bc/apps", "sub": "abc123",
            "iat": now, "exp": now + 900, "version": 1, "aud": django_settings.BIGCOMMERCE_CLIENT_ID,
            "application_id": django_settings.BIGCOMMERCE_CLIENT_ID, "store_hash": "abc123",
            "operation": "current_customer"}
    secret = django_settings.BIGCOMMERCE_CLIENT_SECRET
    return {
        "guest (no token)": None,
        "empty token": "",
        "garbage": "not-a-jwt",
        "forged (other secret)": jwt.encode(base, "someone-elses-secret-0123456789abcdef", algorithm="HS256"),
        "alg none": jwt.encode(base, None, algorithm="none"),
        "alg none, unsigned with trailing dot": jwt.encode(base, None, algorithm="none").rstrip(".") + ".",
        "HS384": jwt.encode(base, secret, algorithm="HS384"),
        "expired": fake_bc.customer_jwt("abc123", 4927, iat=now - 1900, exp=now - 1000),
        "wrong audience": fake_bc.customer_jwt("abc123", 4927, aud="another-app-client-id"),
        "wrong issuer": fake_bc.customer_jwt("abc123", 4927, iss="bc"),
        "wrong operation": fake_bc.customer_jwt("abc123", 4927, operation="something_else"),
        "lives longer than 15 minutes": fake_bc.customer_jwt("abc123", 4927, exp=now + 86400),
        "other store (not installed)": fake_bc.customer_jwt("zzz999", 4927),
        "sub and store_hash disagree": jwt.encode({**base, "store_hash": "zzz999"}, secret, algorithm="HS256"),
        "no customer": fake_bc.customer_jwt("abc123", 4927, customer={"id": None}),
        "customer id not a number": fake_bc.customer_jwt("abc123", 4927, customer={"id": "1 OR 1=1"}),
    }


def test_forged_expired_wrong_audience_other_store_guest_and_alg_none_get_401_and_no_signature(
        client, og_settings, fake_bc, fake_og):
    for name, token in _forged_tokens(fake_bc).items():
        for path in (SIGNATURE, HAS_SUBS):
            response = client.get(path, {"ts": int(time.time())}, **theme_headers(token))
            assert response.status_code == 401, (name, path, response.content)
            body = response.json()
            assert "data" not in body and "status" not in body, name
            assert response["WWW-Authenticate"].startswith("BigCommerce")
    assert fake_og.requests == []  # nothing was asked of Ordergroove for any of them


def test_authorization_client_must_be_this_app(client, og_settings, fake_bc):
    token = fake_bc.customer_jwt("abc123", 4927)
    assert get_signature(client, token, client_id="another-client").status_code == 401
    response = client.get(SIGNATURE, {"ts": int(time.time())}, HTTP_SIGNED_PAYLOAD=token)
    assert response.status_code == 401


def test_uninstalled_store_gets_401_and_unconfigured_store_503(client, og_settings, fake_bc):
    token = fake_bc.customer_jwt("abc123", 4927)
    og_settings.hash_key = ""
    og_settings.save()
    response = get_signature(client, token)
    assert response.status_code == 503 and "not configured" in response.json()["detail"]
    Store.objects.filter(store_hash="abc123").update(status=Store.Status.UNINSTALLED)
    storefront_caches_clear()
    assert get_signature(client, token).status_code == 401


@pytest.mark.parametrize("ts", ["", "abc", "-5", "1.5", "99999999999999"])
def test_bad_ts_is_400(client, og_settings, fake_bc, ts):
    response = client.get(SIGNATURE, {"ts": ts}, **theme_headers(fake_bc.customer_jwt("abc123", 1)))
    assert response.status_code == 400 and "ts" in response.json()["detail"]


def test_ts_window_is_two_hours_each_way(client, og_settings, fake_bc):
    token = fake_bc.customer_jwt("abc123", 1)
    now = int(time.time())
    assert get_signature(client, token, now - 7100).status_code == 200
    assert get_signature(client, token, now + 7100).status_code == 200
    assert get_signature(client, token, now - 7300).status_code == 400
    assert get_signature(client, token, now + 7300).status_code == 400


def test_signature_path_writes_nothing_to_the_database(client, og_settings, fake_bc, django_assert_max_num_queries):
    token = fake_bc.customer_jwt("abc123", 1)
    get_signature(client, token)  # warms the per-worker store cache
    with django_assert_max_num_queries(0):
        assert get_signature(client, token).status_code == 200


# --- Subscriber status ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("setup", "expected"), [
    ("live", {"status": True, "subscriber_status": 1}),
    ("cancelled", {"status": False, "subscriber_status": 0}),
    ("customer_only", {"status": False, "subscriber_status": 0}),
    ("unknown", {"status": False, "subscriber_status": -1}),
])
def test_has_subscriptions(client, og_settings, fake_bc, fake_og, setup, expected):
    if setup == "live":
        fake_og.add_subscription(OG_MERCHANT_ID, "4927", live=False)
        fake_og.add_subscription(OG_MERCHANT_ID, "4927", live=True)
    elif setup == "cancelled":
        fake_og.add_subscription(OG_MERCHANT_ID, "4927", live=False)
    elif setup == "customer_only":
        fake_og.add_customer(OG_MERCHANT_ID, "4927")
    fake_og.add_subscription(OG_MERCHANT_ID, "555", live=True)  # another customer's never counts
    response = client.get(HAS_SUBS, **theme_headers(fake_bc.customer_jwt("abc123", 4927)))
    assert response.status_code == 200
    assert response.json() == expected
    assert response["Access-Control-Allow-Origin"] == STOREFRONT
    for request in fake_og.requests:
        signatures.authorization_header_verify(request.header("authorization"), OG_HASH_KEY,
                                               expected_sig_field="4927")


def test_has_subscriptions_is_cached_per_store_and_customer(client, og_settings, fake_bc, fake_og):
    fake_og.add_subscription(OG_MERCHANT_ID, "4927", live=True)
    headers = theme_headers(fake_bc.customer_jwt("abc123", 4927))
    assert client.get(HAS_SUBS, **headers).json()["subscriber_status"] == 1
    calls = len(fake_og.requests)
    fake_og.merchants[OG_MERCHANT_ID].subscriptions.clear()
    assert client.get(HAS_SUBS, **headers).json()["subscriber_status"] == 1
    assert len(fake_og.requests) == calls
    other = client.get(HAS_SUBS, **theme_headers(fake_bc.customer_jwt("abc123", 4928))).json()
    assert other["subscriber_status"] == -1


def test_a_workers_copy_of_a_status_answers_like_the_shared_cache_and_not_longer(client, og_settings, fake_bc,
                                                                               fake_og):
    """Each process keeps the statuses it read from Redis until the Redis entry's own expiry: another worker (a
    process without the copy) reads the same status from Redis, and once the entry is gone from both places the
    customer gets Ordergroove's current answer."""
    if storefront_redis() is None:
        pytest.skip("the per-process copy exists only in front of Redis")
    fake_og.add_subscription(OG_MERCHANT_ID, "4927", live=True)
    headers = theme_headers(fake_bc.customer_jwt("abc123", 4927))
    assert client.get(HAS_SUBS, **headers).json()["subscriber_status"] == 1
    calls = len(fake_og.requests)
    fake_og.merchants[OG_MERCHANT_ID].subscriptions.clear()
    storefront_caches_clear()  # another worker: no copy of its own
    assert client.get(HAS_SUBS, **headers).json()["subscriber_status"] == 1  # from Redis
    assert client.get(HAS_SUBS, **headers).json()["subscriber_status"] == 1  # from its copy
    assert len(fake_og.requests) == calls
    link = storefront_redis()
    key = f"{link.prefix}:{subscriber_status_cache_key('abc123', 4927)}"
    assert 0 < link.call("TTL", key) <= conf.subscriber_status_ttl()
    link.call("DEL", key)  # the entry expired
    storefront_caches_clear()
    assert client.get(HAS_SUBS, **headers).json()["subscriber_status"] == 0  # a customer, no live subscription


def test_ordergroove_down_or_slow_is_503_not_a_guess(client, og_settings, fake_bc, fake_og, settings):
    headers = theme_headers(fake_bc.customer_jwt("abc123", 4927))
    fake_og.fail("GET", r"/rest/subscriptions/", status=502)
    response = client.get(HAS_SUBS, **headers)
    assert response.status_code == 503
    assert "status" not in response.json() and "Ordergroove" in response.json()["detail"]
    settings.ORDERGROOVE_TIMEOUT = 0.3
    fake_og.fail("GET", r"/rest/subscriptions/", status=0, delay=1.0)
    assert client.get(HAS_SUBS, **headers).status_code == 503
    # Nothing was cached from the failures: once Ordergroove answers, the customer gets the truth.
    fake_og.add_subscription(OG_MERCHANT_ID, "4927", live=True)
    assert client.get(HAS_SUBS, **headers).json() == {"status": True, "subscriber_status": 1}


def test_ordergroove_refusing_our_signature_is_503(client, og_settings, fake_bc, fake_og):
    fake_og.merchants[OG_MERCHANT_ID].hash_key = "Z" * 32
    response = client.get(HAS_SUBS, **theme_headers(fake_bc.customer_jwt("abc123", 4927)))
    assert response.status_code == 503


# --- CORS ---------------------------------------------------------------------------------------------------------

def test_preflight_for_the_theme_headers_from_a_storefront_origin(client, og_settings):
    for path in (SIGNATURE, HAS_SUBS):
        response = client.options(path, HTTP_ORIGIN=STOREFRONT, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
                                  HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,authorization-client,"
                                                                     "content-type,signed-payload")
        assert response.status_code == 204
        assert response["Access-Control-Allow-Origin"] == STOREFRONT
        allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
        assert {"authorization-client", "signed-payload", "authorization", "content-type"} <= allowed
        assert "GET" in response["Access-Control-Allow-Methods"]
        assert response["Vary"] == "Origin"


def test_other_origins_get_no_cors_headers(client, og_settings, fake_bc):
    evil = "https://evil.example"
    preflight = client.options(SIGNATURE, HTTP_ORIGIN=evil, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert not any(h.lower().startswith("access-control-") for h in preflight.headers)
    response = get_signature(client, fake_bc.customer_jwt("abc123", 1), origin=evil)
    assert "Access-Control-Allow-Origin" not in response


def test_a_token_of_one_store_is_not_readable_from_another_stores_storefront(client, og_settings, fake_bc,
                                                                               install_store, fake_og):
    other = install_store("def456")
    fake_og.configure(other.og_settings, merchant_id="ogmerchant2")
    storefront_caches_clear()
    response = get_signature(client, fake_bc.customer_jwt("abc123", 1), origin="https://store-def456.mybigcommerce.com")
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response


def test_errors_are_readable_by_storefront_origins(client, og_settings):
    response = get_signature(client, None)
    assert response.status_code == 401 and response["Access-Control-Allow-Origin"] == STOREFRONT


# --- Rate limits -----------------------------------------------------------------------------------------------

def test_per_customer_rate_limit_429_with_retry_after(client, og_settings, fake_bc, settings):
    settings.STOREFRONT_RATE_PER_CUSTOMER = "3/m"
    token = fake_bc.customer_jwt("abc123", 4927)
    assert [get_signature(client, token).status_code for _ in range(3)] == [200, 200, 200]
    limited = get_signature(client, token)
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert "data" not in limited.json()
    assert limited["Access-Control-Allow-Origin"] == STOREFRONT
    assert get_signature(client, fake_bc.customer_jwt("abc123", 4928)).status_code == 200  # others unaffected


def test_per_ip_rate_limit_counts_bad_tokens_too_and_ignores_spoofed_forwarded_for(client, og_settings, fake_bc,
                                                                                    settings):
    settings.STOREFRONT_RATE_PER_IP = "4/m"
    for i in range(4):
        response = client.get(SIGNATURE, {"ts": 1}, HTTP_SIGNED_PAYLOAD="bad", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",
                              REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 401
    limited = client.get(SIGNATURE, {"ts": int(time.time())}, REMOTE_ADDR="203.0.113.9",
                         **theme_headers(fake_bc.customer_jwt("abc123", 1)))
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    fresh = client.get(SIGNATURE, {"ts": int(time.time())}, REMOTE_ADDR="203.0.113.10",
                       **theme_headers(fake_bc.customer_jwt("abc123", 1)))
    assert fresh.status_code == 200


def test_openapi_schema_lists_the_storefront_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert SIGNATURE in schema and HAS_SUBS in schema
