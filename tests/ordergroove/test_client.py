"""The Ordergroove client against the fake Ordergroove over real sockets: byte-exact bodies, headers that
verify, the outcome table of DECISIONS §3.13, and failures recorded instead of raised."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest

from ordergroove import signatures
from ordergroove.client import OrdergrooveClient, OrdergrooveError, Outcome, classify
from tests.fakes.ordergroove import decode_create_request, decode_update_request
from tests.ordergroove.conftest import OG_API_KEY, OG_HASH_KEY, OG_MERCHANT_ID

pytestmark = pytest.mark.django_db

EXP_12_2099 = "kwWZ/53+x32tmofPBfCppQzDFDlnWL9lCXQ/q5nFNdk="  # ordergroove.md §3.2


def js_encode(text: str) -> str:
    return quote(text, safe="-_.!~*'()")


@pytest.fixture
def og_client(og_settings):
    return OrdergrooveClient(og_settings)


def _payload(order_id: str = "1001") -> dict:
    return {
        "merchant_order_id": order_id,
        "og_cart_tracking": False,
        "user": {"user_id": "42", "first_name": "José", "last_name": "Müller", "email": "a+b@example.com",
                 "shipping_address": {"address": "1 Main St & Co", "city": "Zürich", "country_code": "CH"}},
        "payment": {"token_id": "tok_abc123", "cc_exp_date": "12/2099", "cc_type": "VISA"},
        "products": [{"product": "111_222", "sku": "SKU-1", "subscription_info": {"quantity": 2},
                      "tracking_override": {"offer": "off1", "every": 1, "every_period": 3}}],
    }


@pytest.mark.parametrize(("status", "outcome"), [
    (200, Outcome.SUCCESS), (201, Outcome.SUCCESS), (202, Outcome.SUCCESS), (206, Outcome.SUCCESS),
    (207, Outcome.PARTIAL), (409, Outcome.DUPLICATE), (429, Outcome.RATE_LIMITED), (400, Outcome.FAILED),
    (401, Outcome.FAILED), (403, Outcome.FAILED), (404, Outcome.FAILED), (302, Outcome.FAILED),
    (500, Outcome.RETRY), (503, Outcome.RETRY), (None, Outcome.RETRY),
])
def test_outcome_table(status, outcome):
    assert classify(status) is outcome


# --- Purchase post ----------------------------------------------------------------------------------------

def test_purchase_post_body_is_create_request_plus_encoded_json_byte_for_byte(og_client, fake_og):
    response = og_client.purchase_post(_payload(), sig_field=42)

    assert response.outcome is Outcome.SUCCESS and response.status == 201
    assert response.subs_req_id and len(response.subs_req_id) == 24
    [sent] = fake_og.requests_to("POST", r"^/sc/subscription/create$")
    expected_json = (
        '{"merchant_id":"ogmerchant1","merchant_order_id":"1001","og_cart_tracking":false,'
        '"user":{"user_id":"42","first_name":"Jose","last_name":"Muller","email":"a+b@example.com",'
        '"shipping_address":{"address":"1 Main St & Co","city":"Zurich","country_code":"CH"}},'
        f'"payment":{{"token_id":"tok_abc123","cc_exp_date":"{EXP_12_2099}","cc_type":"1"}},'
        '"products":[{"product":"111_222","sku":"SKU-1","subscription_info":{"quantity":2},'
        '"tracking_override":{"offer":"off1","every":1,"every_period":3}}]}'
    )
    assert sent.body == ("create_request=" + js_encode(expected_json)).encode()
    assert sent.body.startswith(b"create_request=%7B%22merchant_id%22%3A%22ogmerchant1%22%2C")
    assert b"kwWZ%2F53%2Bx32tmofPBfCppQzDFDlnWL9lCXQ%2Fq5nFNdk%3D" in sent.body  # AES, encoded once
    assert b"a%2Bb%40example.com" in sent.body and b"1%20Main%20St%20%26%20Co" in sent.body
    assert sent.header("Content-Type") == "application/json"
    auth = signatures.authorization_header_verify(sent.header("authorization"), OG_HASH_KEY,
                                                  expected_public_id=OG_MERCHANT_ID, expected_sig_field="42")
    assert auth.sig_field == "42"
    assert decode_create_request(sent.body)["payment"]["cc_exp_date"] == EXP_12_2099
    assert sorted(response.transliterated_fields) == [
        "user.first_name", "user.last_name", "user.shipping_address.city"]
    assert response.auth_scope == "customer"


def test_purchase_post_request_summary_is_safe_to_store(og_client, fake_og):
    response = og_client.purchase_post(_payload(), sig_field="42")
    summary = json.dumps(response.request_summary)
    sent_auth = json.loads(fake_og.requests[0].header("authorization"))
    assert sent_auth["sig"] not in summary
    assert "tok_abc123" not in summary
    assert OG_HASH_KEY not in summary
    assert response.request_summary["method"] == "POST"
    assert response.request_summary["url"].endswith("/sc/subscription/create")
    assert response.request_summary["body"]["create_request"]["merchant_order_id"] == "1001"


def test_purchase_post_never_encrypts_twice(og_client, fake_og):
    payload = _payload()
    payload["payment"]["cc_exp_date"] = EXP_12_2099
    assert og_client.purchase_post(payload, sig_field="42").ok
    assert decode_create_request(fake_og.requests[0].body)["payment"]["cc_exp_date"] == EXP_12_2099


def test_purchase_post_same_order_twice_is_duplicate_and_counts_as_done(og_client, fake_og):
    assert og_client.purchase_post(_payload(), sig_field="42").outcome is Outcome.SUCCESS
    again = og_client.purchase_post(_payload(), sig_field="42")
    assert again.outcome is Outcome.DUPLICATE and again.status == 409 and again.ok
    assert "already received" in again.error
    assert len(fake_og.merchants[OG_MERCHANT_ID].purchase_posts) == 1


def test_purchase_post_validation_error_is_failed_with_ordergroove_words_and_alerts(og_client, fake_og):
    payload = _payload()
    del payload["payment"]
    response = og_client.purchase_post(payload, sig_field="42")
    assert response.outcome is Outcome.FAILED and response.status == 400
    assert response.error == "Ordergroove answered HTTP 400: Missing payment data to create record"
    assert response.should_alert
    with pytest.raises(OrdergrooveError) as err:
        response.raise_for_outcome()
    assert err.value.status == 400 and "Missing payment data" in err.value.body


def test_purchase_post_signed_for_another_customer_is_refused(og_client, fake_og):
    response = og_client.purchase_post(_payload(), sig_field="43")
    assert response.outcome is Outcome.FAILED and response.status == 403 and response.should_alert


def test_wrong_hash_key_is_an_authentication_failure(og_settings, fake_og):
    og_settings.hash_key = "X" * 32
    response = OrdergrooveClient(og_settings).purchase_post(_payload(), sig_field="42")
    assert response.status == 401 and response.outcome is Outcome.FAILED and response.should_alert


def test_5xx_is_retry_and_429_carries_retry_after(og_client, fake_og):
    fake_og.fail("POST", r"/sc/subscription/create", status=503)
    response = og_client.purchase_post(_payload(), sig_field="42")
    assert response.outcome is Outcome.RETRY and response.status == 503 and not response.ok
    fake_og.fail("POST", r"/sc/subscription/create", status=429, headers={"Retry-After": "7"})
    limited = og_client.purchase_post(_payload(), sig_field="42")
    assert limited.outcome is Outcome.RATE_LIMITED and limited.retry_after == 7.0
    fake_og.fail("POST", r"/sc/subscription/create", status=409, body={"error": "dup"})
    assert og_client.purchase_post(_payload("2002"), sig_field="42").outcome is Outcome.DUPLICATE


def test_timeout_is_retry_without_status_and_never_raises(og_settings, fake_og, settings):
    settings.ORDERGROOVE_TIMEOUT = 0.3
    fake_og.fail("POST", r"/sc/subscription/create", status=0, delay=1.0)
    response = OrdergrooveClient(og_settings).purchase_post(_payload(), sig_field="42")
    assert response.outcome is Outcome.RETRY and response.status is None
    assert "did not answer" in response.error
    with pytest.raises(OrdergrooveError) as err:
        response.raise_for_outcome()
    assert err.value.kind == "timeout" and err.value.transient


def test_a_request_delayed_past_the_tests_end_changes_nothing_after_the_fake_is_reset(og_settings, fake_og,
                                                                                       settings):
    """The timeout test's purchase post is still sleeping in the fake when the next test resets it; when it wakes
    it must not create its customer in the next test's Ordergroove (that made later tests flaky)."""
    settings.ORDERGROOVE_TIMEOUT = 0.2
    fake_og.fail("POST", r"/sc/subscription/create", status=0, delay=0.6)
    assert OrdergrooveClient(og_settings).purchase_post(_payload(), sig_field="42").outcome is Outcome.RETRY
    fake_og.reset()  # what the next test's fixture does
    fake_og.configure(og_settings, merchant_id=OG_MERCHANT_ID, hash_key=OG_HASH_KEY, api_key=OG_API_KEY)
    time.sleep(0.8)  # the delayed request wakes up
    assert OrdergrooveClient(og_settings).customer("42").status == 404


def test_connection_refused_is_retry(og_settings, fake_og):
    og_settings.subscription_api_url = "http://127.0.0.1:9/sc/subscription/create"
    response = OrdergrooveClient(og_settings).purchase_post(_payload(), sig_field="42")
    assert response.outcome is Outcome.RETRY and response.status is None and "could not be reached" in response.error


def test_unconfigured_store_is_a_clear_error(og_settings):
    og_settings.hash_key = ""
    with pytest.raises(OrdergrooveError, match="hash key"):
        OrdergrooveClient(og_settings).purchase_post(_payload(), sig_field="42")


# --- Purchase post status ----------------------------------------------------------------------------------

def test_status_is_pending_then_result_with_application_scope(og_client, fake_og):
    subs_req_id = og_client.purchase_post(_payload(), sig_field="42").subs_req_id
    first = og_client.purchase_post_status(subs_req_id)
    assert first.status == 202 and first.pending and first.outcome is Outcome.SUCCESS
    assert first.auth_scope == "application"
    second = og_client.purchase_post_status(subs_req_id)
    assert second.status == 200 and not second.pending
    assert second.data["customer"] == "42" and second.data["errors"] == {}
    assert list(second.data["subscriptions"][0]) == ["111_222"]
    [sent, _] = fake_og.requests_to("GET", rf"^/sc/subscription/{subs_req_id}/response$")
    assert sent.header("x-api-key") == OG_API_KEY
    assert OG_API_KEY not in json.dumps(first.request_summary)
    assert og_client.purchase_post_status("000000000000000000000000").status == 404


def test_status_without_api_key_uses_customer_scope(og_settings, fake_og):
    og_settings.api_key = ""
    client = OrdergrooveClient(og_settings)
    subs_req_id = client.purchase_post(_payload(), sig_field="42").subs_req_id
    response = client.purchase_post_status(subs_req_id, sig_field="42")
    assert response.auth_scope == "customer" and response.pending
    with pytest.raises(OrdergrooveError):
        client.purchase_post_status(subs_req_id)


# --- Contact details ----------------------------------------------------------------------------------------

def test_set_contact_details_body_and_header(og_client, fake_og):
    fake_og.add_customer(OG_MERCHANT_ID, "42", email="old@example.com")
    response = og_client.set_contact_details("42", email="new@example.com", phone_number="555-0100")
    assert response.outcome is Outcome.SUCCESS
    assert response.data == {"phone_number": "555-0100", "email": "new@example.com"}
    [sent] = fake_og.requests_to("PATCH", r"^/rest/customers/42/set_contact_details$")
    assert sent.body == (b'{"email": "new@example.com", "merchant": "ogmerchant1", "merchant_user_id": "42", '
                         b'"phone_number": "555-0100"}')
    assert sent.header("content-type") == "application/json"
    signatures.authorization_header_verify(sent.header("authorization"), OG_HASH_KEY, expected_sig_field="42")


def test_set_contact_details_omits_unknown_phone_and_maps_errors(og_client, fake_og):
    fake_og.add_customer(OG_MERCHANT_ID, "42")
    og_client.set_contact_details("42", email="new@example.com")
    assert json.loads(fake_og.requests[-1].body) == {"email": "new@example.com", "merchant": "ogmerchant1",
                                                      "merchant_user_id": "42"}
    missing = og_client.set_contact_details("99", email="x@example.com")
    assert missing.status == 404 and missing.outcome is Outcome.FAILED
    assert missing.error.endswith("Unable to find requested asset.")
    bad = og_client.set_contact_details("42", email="not-an-email")
    assert bad.status == 400 and "email" in bad.error


# --- Payment update -----------------------------------------------------------------------------------------

PAYMENT = {
    "card_type": "MASTERCARD", "cc_exp_date": "01/2019", "cc_last_4": "4444", "cc_holder": "Zoë O'Neil & Sons",
    "token_id": "a" * 64,
    "billing": {"first_name": "Zoë", "last_name": "O'Neil", "address": "5 Rue de l'Église", "city": "Paris",
                "country_code": "FR", "zip_postal_code": "75001", "phone": "+33 1 23"},
}


def test_update_payment_default_encodes_each_field_and_encrypts_exp_last4_holder(og_client, fake_og):
    fake_og.add_customer(OG_MERCHANT_ID, "42")
    response = og_client.update_payment_default("42", PAYMENT)
    assert response.outcome is Outcome.SUCCESS and response.body == "SUCCESS"
    assert response.auth_scope == "body"
    [sent] = fake_og.requests_to("POST", r"^/legacy/customer/update_payment_default$")
    decoded = decode_update_request(sent.body)
    ts, sig = decoded["user"]["ts"], decoded["user"]["sig"]
    assert signatures.signature_verify("42", ts, sig, OG_HASH_KEY)
    holder = og_client._encrypt_once("Zoe O'Neil & Sons")
    last4 = og_client._encrypt_once("4444")
    expected = (
        'update_request={"merchant_id":"ogmerchant1",'
        f'"user":{{"user_id":"42","ts":"{ts}","sig":"{js_encode(sig)}"}},'
        '"payment":{"card_type":"2",'
        '"cc_exp_date":"nq%2BUQCFXsSJQx%2FdOvA%2BzwQzDFDlnWL9lCXQ%2Fq5nFNdk%3D",'
        f'"cc_last_4":"{js_encode(last4)}","cc_holder":"{js_encode(holder)}","token_id":"{"a" * 64}",'
        '"billing":{"first_name":"Zoe","last_name":"O\'Neil","address":"5%20Rue%20de%20l\'Eglise","city":"Paris",'
        '"country_code":"FR","zip_postal_code":"75001","phone":"%2B33%201%2023"}}}'
    )
    assert sent.body == expected.encode()
    assert fake_og.merchants[OG_MERCHANT_ID].payments["42"]["cc_holder"] == "Zoe O'Neil & Sons"
    assert fake_og.merchants[OG_MERCHANT_ID].payments["42"]["cc_exp_date"] == "01/2019"
    assert "payment.cc_holder" in response.transliterated_fields
    assert sig not in json.dumps(response.request_summary) and "a" * 64 not in json.dumps(response.request_summary)


def test_update_payment_default_error_text_is_failed_even_with_http_200(og_client, fake_og):
    response = og_client.update_payment_default("404404", PAYMENT)
    assert response.status == 200 and response.outcome is Outcome.FAILED
    assert response.error == "Ordergroove refused the payment update: Customer does not exist"


def test_paypal_payment_update(og_client, fake_og):
    fake_og.add_customer(OG_MERCHANT_ID, "42")
    response = og_client.update_payment_default("42", {"payment_method": "PayPal", "cc_exp_date": "12/2099",
                                                    "cc_holder": "Jane", "token_id": "B-123"})
    assert response.ok
    decoded = decode_update_request(fake_og.requests[-1].body)
    assert decoded["payment"]["payment_method"] == "PayPal" and "card_type" not in decoded["payment"]
    assert decoded["payment"]["cc_exp_date"] == EXP_12_2099


# --- Customer / subscriptions / connection -------------------------------------------------------------------

def test_customer_and_live_subscriptions(og_client, fake_og):
    assert og_client.customer("42").status == 404
    fake_og.add_subscription(OG_MERCHANT_ID, "42", live=False)
    fake_og.add_subscription(OG_MERCHANT_ID, "42", product="5_6", live=True)
    fake_og.add_subscription(OG_MERCHANT_ID, "77", live=True)
    assert og_client.customer("42").data["merchant_user_id"] == "42"
    live = og_client.live_subscriptions("42")
    assert live.outcome is Outcome.SUCCESS
    assert [s["product"] for s in live.data["results"]] == ["5_6"]
    sent = fake_og.requests_to("GET", r"^/rest/subscriptions/$")[-1]
    assert sent.q("live") == "True"
    signatures.authorization_header_verify(sent.header("authorization"), OG_HASH_KEY, expected_sig_field="42")


def test_check_connection(og_settings, fake_og):
    assert OrdergrooveClient(og_settings).check_connection().outcome is Outcome.SUCCESS
    og_settings.hash_key = "Y" * 32
    refused = OrdergrooveClient(og_settings).check_connection()
    assert refused.outcome is Outcome.FAILED and "hash key" in refused.error
    fake_og.fail("GET", r"/rest/customers/", status=502)
    assert OrdergrooveClient(og_settings).check_connection().outcome is Outcome.RETRY


def test_each_operation_uses_its_own_base_url(og_settings, fake_og):
    client = OrdergrooveClient(og_settings)
    fake_og.add_customer(OG_MERCHANT_ID, "42")
    client.purchase_post(_payload(), sig_field="42")
    client.set_contact_details("42", email="n@example.com")
    client.update_payment_default("42", PAYMENT)
    prefixes = [r.path.split("/")[1] for r in fake_og.requests]
    assert prefixes == ["sc", "rest", "legacy"]
