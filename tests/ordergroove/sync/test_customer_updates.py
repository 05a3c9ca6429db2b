"""Customer updated → set contact details; default instrument updated → update payment default (seed 000)."""

from __future__ import annotations

import json

import pytest

from bigcommerce_app.inbox.services import inbound_event_process
from ordergroove import crypto, signatures
from ordergroove.models import CustomerSyncState, Delivery
from ordergroove.sync import services
from tests.fakes.ordergroove import decode_update_request
from tests.ordergroove.sync.conftest import OG_HASH_KEY, OG_MERCHANT_ID

pytestmark = pytest.mark.django_db

CUSTOMER_UPDATED = "store/customer/updated"
DEFAULT_UPDATED = "store/customer/payment/instrument/default/updated"


def _run(shop, scope: str, resource_id: int) -> str:
    result = inbound_event_process(shop.event(scope, resource_id).pk)
    for pk in Delivery.objects.filter(status="pending").values_list("pk", flat=True):
        services.delivery_attempt(pk)
    return result


@pytest.fixture
def og_customer(shop, fake_og):
    fake_og.add_customer(OG_MERCHANT_ID, shop.customer["id"], email="jane@example.com")
    return shop.customer


def test_email_change_sends_one_patch_with_the_json_authorization_header(shop, fake_og, og_customer):
    CustomerSyncState.objects.create(store=shop.store, merchant_user_id=str(og_customer["id"]),
                                     email="jane@example.com", phone_number="555-0100")
    shop.fake_bc.stores[shop.hash].customers[og_customer["id"]]["email"] = "jane.new@example.com"

    assert _run(shop, CUSTOMER_UPDATED, og_customer["id"]) == "done"

    [patch] = fake_og.requests_to("PATCH", r"/set_contact_details$")
    assert patch.path == f"/rest/customers/{og_customer['id']}/set_contact_details"
    assert patch.json() == {"email": "jane.new@example.com", "merchant": OG_MERCHANT_ID,
                            "merchant_user_id": str(og_customer["id"]), "phone_number": "555-0100"}
    auth = json.loads(patch.header("authorization"))
    assert set(auth) == {"public_id", "ts", "sig_field", "sig"}
    assert auth["public_id"] == OG_MERCHANT_ID and auth["sig_field"] == str(og_customer["id"])
    assert isinstance(auth["ts"], int)
    assert auth["sig"] == signatures.signature(str(og_customer["id"]), auth["ts"], OG_HASH_KEY)  # plain base64
    state = CustomerSyncState.objects.get()
    assert state.email == "jane.new@example.com" and state.contact_sent_at


def test_unchanged_email_sends_nothing(shop, fake_og, og_customer):
    CustomerSyncState.objects.create(store=shop.store, merchant_user_id=str(og_customer["id"]),
                                     email="jane@example.com", phone_number="555-0100",
                                     contact_sent_at="2026-01-01T00:00:00Z")
    assert _run(shop, CUSTOMER_UPDATED, og_customer["id"]) == "skipped"
    assert not fake_og.requests_to("PATCH", r"/set_contact_details$")
    assert not Delivery.objects.exists()


def test_a_purchase_post_records_the_contact_values_sent(shop, fake_og):
    order = shop.order(shop.mug_line())
    _run(shop, "store/order/created", order["id"])
    # The same customer saved without changes afterwards: nothing to tell Ordergroove.
    assert _run(shop, CUSTOMER_UPDATED, shop.customer["id"]) == "skipped"
    assert not fake_og.requests_to("PATCH", r"/set_contact_details$")


def test_a_newer_change_supersedes_one_still_waiting(shop, fake_og, og_customer):
    customers = shop.fake_bc.stores[shop.hash].customers
    customers[og_customer["id"]]["email"] = "first@example.com"
    inbound_event_process(shop.event(CUSTOMER_UPDATED, og_customer["id"]).pk)
    customers[og_customer["id"]]["email"] = "second@example.com"
    inbound_event_process(shop.event(CUSTOMER_UPDATED, og_customer["id"]).pk)
    for pk in Delivery.objects.filter(status="pending").values_list("pk", flat=True):
        services.delivery_attempt(pk)
    assert [r.json()["email"] for r in fake_og.requests_to("PATCH", r"/set_contact_details$")] == [
        "second@example.com"]
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["succeeded", "superseded"]


def test_default_card_change_sends_one_update_payment_default(shop, fake_og, og_customer):
    new_card = shop.fake_bc.add_instrument(shop.hash, og_customer["id"], brand="MASTERCARD", last_4="4444",
                                           expiry_month=3, expiry_year=2031, is_default=True)

    assert _run(shop, DEFAULT_UPDATED, og_customer["id"]) == "done"

    [post] = fake_og.requests_to("POST", r"/customer/update_payment_default$")
    raw = post.body.decode()
    assert raw.startswith("update_request={")  # the whole body is not URL-encoded, only each string in it
    body = decode_update_request(post.body)
    payment = body["payment"]
    assert body["merchant_id"] == OG_MERCHANT_ID and body["user"]["user_id"] == str(og_customer["id"])
    assert signatures.signature_verify(body["user"]["user_id"], body["user"]["ts"], body["user"]["sig"], OG_HASH_KEY)
    assert payment["card_type"] == "2" and payment["token_id"] == new_card["token"]
    assert crypto.aes_decrypt(payment["cc_exp_date"], OG_HASH_KEY) == "03/2031"
    assert crypto.aes_decrypt(payment["cc_last_4"], OG_HASH_KEY) == "4444"
    assert crypto.aes_decrypt(payment["cc_holder"], OG_HASH_KEY) == "Jane Doe"
    assert payment["billing"] == {"first_name": "Jane", "last_name": "Doe", "phone": "555-0100",
                                  "address": "1 Sample Street", "address2": "Apt 1", "city": "Austin",
                                  "country_code": "US", "zip_postal_code": "78701", "state_province_code": "TX"}
    # The AES value (base64 with + / =) travels URL-encoded inside the JSON.
    assert json.loads(raw[len("update_request="):])["payment"]["cc_exp_date"] != payment["cc_exp_date"]
    assert fake_og.merchants[OG_MERCHANT_ID].payments[str(og_customer["id"])]["cc_exp_date"] == "03/2031"
    # The same default again: nothing new to send.
    assert _run(shop, DEFAULT_UPDATED, og_customer["id"]) == "skipped"
    assert len(fake_og.requests_to("POST", r"/customer/update_payment_default$")) == 1


def test_paypal_default_follows_the_paypal_rule(shop, fake_og, og_customer):
    paypal = shop.fake_bc.add_instrument(shop.hash, og_customer["id"], kind="stored_paypal_account")
    _run(shop, DEFAULT_UPDATED, og_customer["id"])
    [post] = fake_og.requests_to("POST", r"/customer/update_payment_default$")
    payment = decode_update_request(post.body)["payment"]
    assert payment["payment_method"] == "PayPal" and "card_type" not in payment
    assert crypto.aes_decrypt(payment["cc_exp_date"], OG_HASH_KEY) == "12/2099"
    assert payment["token_id"] == paypal["token"]


def test_an_ordergroove_refusal_is_a_failed_delivery(shop, fake_og):
    # Not an Ordergroove customer: the legacy API answers 200 "Customer does not exist".
    _run(shop, DEFAULT_UPDATED, shop.customer["id"])
    delivery = Delivery.objects.get(kind="payment_default")
    assert delivery.status == "failed" and "Customer does not exist" in delivery.last_error


@pytest.fixture
def fake_gateway():
    from tests.fakes.payment_gateway import FakePaymentGateway

    server = FakePaymentGateway().start()
    yield server
    server.stop()


def test_payment_data_from_the_gateway_customers_api(shop, fake_og, og_customer, og_settings, fake_gateway):
    og_settings.payment_data_source = "gateway"
    og_settings.gateway_base_url = fake_gateway.url
    og_settings.gateway_api_key = fake_gateway.api_key
    og_settings.save()
    gw_customer = fake_gateway.add_customer(og_customer["id"])
    fake_gateway.add_card(gw_customer["uuid"], token="gw-tok-1", brand="AMEX", last4="0005", exp_month=12,
                          exp_year=2029, holder_name="Jane Q Doe")

    _run(shop, DEFAULT_UPDATED, og_customer["id"])

    assert [r.path for r in fake_gateway.requests] == [
        f"/v2/merchants/customers/{og_customer['id']}", f"/v2/customers/{gw_customer['uuid']}/payment-methods"]
    assert fake_gateway.requests[0].header("Authorization") == f"Bearer {fake_gateway.api_key}"
    payment = decode_update_request(fake_og.requests_to("POST", r"/update_payment_default$")[0].body)["payment"]
    assert payment["card_type"] == "3" and payment["token_id"] == "gw-tok-1"
    assert crypto.aes_decrypt(payment["cc_exp_date"], OG_HASH_KEY) == "12/2029"
    assert crypto.aes_decrypt(payment["cc_holder"], OG_HASH_KEY) == "Jane Q Doe"
    assert not shop.fake_bc.requests_to("GET", r"/stored-instruments$")
