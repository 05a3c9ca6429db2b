"""The app lifecycle as BigCommerce drives it: install, load, uninstall, remove user (issue 2)."""

from __future__ import annotations

import logging
import time

import jwt
import pytest
from django.db import connection

from bigcommerce_app.models import AuditEvent, Store, StoreUser, WebhookSubscription
from bigcommerce_app.registry import BASE_SCOPES

pytestmark = pytest.mark.django_db


def _raw_column(table: str, column: str, store_hash: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE store_hash = %s", [store_hash])  # noqa: S608
        return cursor.fetchone()[0]


def test_install_stores_the_token_encrypted_and_registers_hooks_once(client, fake_bc):
    params = fake_bc.issue_code("abc123")
    response = client.get("/bigcommerce/auth", params)

    assert response.status_code == 302 and response["Location"].startswith("/console/?t=")
    store = Store.objects.get(store_hash="abc123")
    bc_token = fake_bc.stores["abc123"].access_token
    assert store.access_token == bc_token
    raw = _raw_column("bigcommerce_app_store", "access_token", "abc123")
    assert raw and bc_token not in raw
    assert store.scope == params["scope"]
    assert store.status == Store.Status.INSTALLED
    hooks = list(fake_bc.stores["abc123"].hooks.values())
    assert sorted(h["scope"] for h in hooks) == sorted(BASE_SCOPES)
    for hook in hooks:
        assert hook["destination"] == "http://testserver/webhooks/bigcommerce"
        assert hook["headers"] == {"X-Webhook-Token": store.webhook_token}
        assert hook["is_active"]
    assert WebhookSubscription.objects.filter(store=store, is_active=True).count() == len(BASE_SCOPES)
    assert set(StoreUser.objects.filter(store=store).values_list("bc_user_id", flat=True)) == {24654, 12345}


def test_token_exchange_sends_the_registered_redirect_uri(client, fake_bc):
    client.get("/bigcommerce/auth", fake_bc.issue_code("abc123"))
    exchange = fake_bc.requests_to("POST", r"^/oauth2/token$")[0].json()
    assert exchange["redirect_uri"] == "http://testserver/bigcommerce/auth"
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["context"] == "stores/abc123"


def test_reinstall_upserts_and_creates_no_duplicate_hooks(client, fake_bc):
    client.get("/bigcommerce/auth", fake_bc.issue_code("abc123"))
    first_token = Store.objects.get().access_token
    client.get("/bigcommerce/auth", fake_bc.issue_code("abc123"))

    assert Store.objects.count() == 1
    assert Store.objects.get().access_token != first_token  # the fresh token replaced the old one
    assert len(fake_bc.stores["abc123"].hooks) == len(BASE_SCOPES)
    assert AuditEvent.objects.filter(kind="reinstalled").count() == 1


def test_load_reenables_a_hook_bigcommerce_deactivated(client, fake_bc, store):
    hook = next(iter(fake_bc.stores["abc123"].hooks.values()))
    hook["is_active"] = False
    response = client.get("/bigcommerce/load", {"signed_payload_jwt": fake_bc.signed_payload_jwt("abc123")})
    assert response.status_code == 302
    assert hook["is_active"] is True
    assert len(fake_bc.stores["abc123"].hooks) == len(BASE_SCOPES)


def test_auth_without_code_is_a_clear_400_and_changes_nothing(client, fake_bc):
    response = client.get("/bigcommerce/auth", {"context": "stores/abc123"})
    assert response.status_code == 400
    assert b"missing its code" in response.content
    assert Store.objects.count() == 0


def test_auth_with_a_rejected_code_answers_502_and_stores_nothing(client, fake_bc):
    response = client.get("/bigcommerce/auth", {"code": "nope", "context": "stores/abc123", "scope": "x"})
    assert response.status_code == 502
    assert Store.objects.count() == 0


def test_load_with_a_valid_jwt_opens_the_console_and_records_the_user(client, fake_bc, store):
    token = fake_bc.signed_payload_jwt("abc123", user_id=777, user_email="staff@example.com")
    response = client.get("/bigcommerce/load", {"signed_payload_jwt": token})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"Store abc123" in page.content
    assert StoreUser.objects.get(store=store, bc_user_id=777).email == "staff@example.com"
    csp = page["Content-Security-Policy"]
    assert "frame-ancestors" in csp and "https://*.mybigcommerce.com" in csp
    assert "X-Frame-Options" not in page


def _forged(fake_bc, **overrides):
    now = int(time.time())
    claims = {"aud": fake_bc.client_id, "iss": "bc", "iat": now, "nbf": now - 5, "exp": now + 86400,
              "sub": "stores/abc123", "user": {"id": 1, "email": "x@example.com"}, "owner": {"id": 1}}
    secret = overrides.pop("_secret", fake_bc.client_secret)
    algorithm = overrides.pop("_alg", "HS256")
    drop = overrides.pop("_drop", None)
    claims.update(overrides)
    if drop:
        claims.pop(drop)
    return jwt.encode(claims, secret, algorithm=algorithm)


def _none_alg(fake_bc):
    return jwt.encode({"aud": fake_bc.client_id, "iss": "bc", "sub": "stores/abc123", "iat": int(time.time()),
                       "nbf": int(time.time()), "exp": int(time.time()) + 60, "user": {"id": 1}}, None,
                      algorithm="none")


@pytest.mark.parametrize("make_token", [
    pytest.param(lambda f: _forged(f, _secret="wrong-secret-wrong-secret-wrong-secret"), id="wrong-secret"),
    pytest.param(lambda f: _forged(f, aud="another-app"), id="wrong-aud"),
    pytest.param(lambda f: _forged(f, iss="bc/apps"), id="wrong-iss"),
    pytest.param(lambda f: _forged(f, exp=int(time.time()) - 120, iat=int(time.time()) - 90000,
                                   nbf=int(time.time()) - 90000), id="expired"),
    pytest.param(lambda f: _forged(f, nbf=int(time.time()) + 600, iat=int(time.time()) + 600), id="nbf-future"),
    pytest.param(_none_alg, id="alg-none"),
    pytest.param(lambda f: _forged(f, _alg="HS512"), id="hs512-header"),
    pytest.param(lambda f: _forged(f, _drop="sub"), id="missing-sub"),
    pytest.param(lambda f: _forged(f, sub="stores/"), id="empty-sub"),
    pytest.param(lambda f: "not.a.jwt", id="garbage"),
    pytest.param(lambda f: _forged(f, sub="stores/zzz999"), id="unknown-store"),
])
def test_load_refuses_bad_tokens_with_401_and_changes_nothing(client, fake_bc, store, make_token):
    users_before = StoreUser.objects.count()
    audit_before = AuditEvent.objects.count()
    response = client.get("/bigcommerce/load", {"signed_payload_jwt": make_token(fake_bc)})
    assert response.status_code == 401
    assert StoreUser.objects.count() == users_before
    assert AuditEvent.objects.count() == audit_before


def test_load_refuses_rs256_header_with_the_secret_as_key(client, fake_bc, store):
    header = jwt.utils.base64url_encode(b'{"alg":"RS256","typ":"JWT"}').decode()
    body = _forged(fake_bc).split(".")[1]
    response = client.get("/bigcommerce/load", {"signed_payload_jwt": f"{header}.{body}.c2ln"})
    assert response.status_code == 401


def test_load_tolerates_small_clock_skew(client, fake_bc, store):
    now = int(time.time())
    token = fake_bc.signed_payload_jwt("abc123", iat=now + 30, nbf=now + 25)
    assert client.get("/bigcommerce/load", {"signed_payload_jwt": token}).status_code == 302


def test_uninstall_purges_secrets_and_keeps_the_audit_trail(client, fake_bc, store):
    from ordergroove.models import OrdergrooveSettings

    og = OrdergrooveSettings.objects.get(store=store)
    og.hash_key = "Mt!ZQ45q&GHsgiRD8{NB-_h87#rjvbn0"
    og.save()
    response = client.get("/bigcommerce/uninstall", {"signed_payload_jwt": fake_bc.signed_payload_jwt("abc123")})
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    store.refresh_from_db()
    og.refresh_from_db()
    assert store.status == Store.Status.UNINSTALLED
    assert store.access_token == "" and store.webhook_token == "" and og.hash_key == ""
    assert _raw_column("bigcommerce_app_store", "access_token", "abc123") == ""
    kinds = set(AuditEvent.objects.filter(store=store).values_list("kind", flat=True))
    assert {"installed", "uninstalled"} <= kinds
    # An uninstalled store cannot be loaded.
    load = client.get("/bigcommerce/load", {"signed_payload_jwt": fake_bc.signed_payload_jwt("abc123")})
    assert load.status_code == 401


def test_uninstall_with_a_bad_token_is_401_and_keeps_the_store(client, fake_bc, store):
    response = client.get("/bigcommerce/uninstall", {"signed_payload_jwt": _forged(fake_bc, aud="other")})
    assert response.status_code == 401
    store.refresh_from_db()
    assert store.status == Store.Status.INSTALLED and store.access_token


def test_remove_user_revokes_that_users_console_access(client, fake_bc, store):
    load = client.get("/bigcommerce/load", {"signed_payload_jwt": fake_bc.signed_payload_jwt(
        "abc123", user_id=555, user_email="temp@example.com")})
    console_link = load["Location"]
    assert client.get(console_link).status_code == 200
    payload = fake_bc.signed_payload_jwt("abc123", user_id=555, user_email="temp@example.com")
    response = client.get("/bigcommerce/remove-user", {"signed_payload_jwt": payload})
    assert response.status_code == 200
    assert client.get(console_link).status_code == 401
    # A load token issued before the removal no longer opens the console either.
    assert client.get("/bigcommerce/load", {"signed_payload_jwt": payload}).status_code == 403
    # Other users are unaffected.
    owner_load = client.get("/bigcommerce/load", {"signed_payload_jwt": fake_bc.signed_payload_jwt("abc123")})
    assert client.get(owner_load["Location"]).status_code == 200


def test_a_401_from_bigcommerce_marks_the_store_as_needing_reauthorization(fake_bc, store):
    from bigcommerce_app.client import BigCommerceUnauthorized, client_for_store

    fake_bc.stores["abc123"].access_token = "rotated-elsewhere"
    with pytest.raises(BigCommerceUnauthorized):
        client_for_store(store).store_information()
    store.refresh_from_db()
    assert store.status == Store.Status.NEEDS_REAUTH
    assert AuditEvent.objects.filter(store=store, kind="needs_reauth").exists()


def test_no_secret_reaches_the_logs_during_install_and_load(client, fake_bc, caplog, settings):
    caplog.set_level(logging.DEBUG)
    client.get("/bigcommerce/auth", fake_bc.issue_code("abc123"))
    fake_bc.fail("GET", r"/v3/hooks$", status=500, body={"title": f"echo {fake_bc.stores['abc123'].access_token}"})
    client.get("/bigcommerce/load", {"signed_payload_jwt": fake_bc.signed_payload_jwt("abc123")})
    logging.getLogger("test").warning("token in a message: %s", fake_bc.stores["abc123"].access_token)
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert fake_bc.stores["abc123"].access_token not in text
    assert settings.BIGCOMMERCE_CLIENT_SECRET not in text
    assert "[REDACTED]" in text
