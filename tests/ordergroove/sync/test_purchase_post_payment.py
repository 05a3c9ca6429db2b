"""The purchase post's `payment` is the instrument the order was paid with (DECISIONS §3.6, bigcommerce.md §4.5):
the order's vaulted-instrument transaction names it; the customer's default instrument only when there is none."""

from __future__ import annotations

import pytest

from bigcommerce_app.inbox.services import inbound_event_process
from ordergroove import crypto
from ordergroove.models import Delivery, PurchasePost
from ordergroove.sync import services
from tests.fakes.ordergroove import decode_create_request
from tests.ordergroove.sync.conftest import OG_HASH_KEY

pytestmark = pytest.mark.django_db

ORDER_CREATED = "store/order/created"


def _post_order(shop, fake_og, order: dict) -> tuple[dict, PurchasePost]:
    """Feed the order-created event through the inbox, send the delivery, return what Ordergroove received."""
    return _post_order_event(shop, fake_og, order, shop.event(ORDER_CREATED, order["id"]))


def _post_order_event(shop, fake_og, order: dict, event) -> tuple[dict, PurchasePost]:
    assert inbound_event_process(event.pk) == "done"
    services.delivery_attempt(Delivery.objects.get(kind="purchase_post", key=str(order["id"])).pk)
    [request] = fake_og.requests_to("POST", r"^/sc/subscription/create")
    return decode_create_request(request.body)["payment"], PurchasePost.objects.get(bc_order_id=order["id"])


def test_order_paid_with_a_non_default_card_posts_that_card(shop, fake_og):
    # The default is the conftest VISA 09/2030; the shopper paid with a second, non-default Mastercard.
    other = shop.fake_bc.add_instrument(shop.hash, shop.customer["id"], brand="MASTERCARD", last_4="4444",
                                        expiry_month=3, expiry_year=2031, is_default=False,
                                        billing={"first_name": "Janet", "last_name": "Roe", "address1": "2 Elm St",
                                                 "city": "Austin", "postal_code": "78702", "country_code": "US"})
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value),
                       transactions=[{"instrument": other, "event": "authorization"},
                                     {"instrument": other, "event": "capture"}])

    payment, post = _post_order(shop, fake_og, order)

    assert payment["token_id"] == other["token"] != shop.card["token"]
    assert payment["cc_type"] == "2"
    assert crypto.aes_decrypt(payment["cc_exp_date"], OG_HASH_KEY) == "03/2031"
    assert crypto.aes_decrypt(payment["cc_holder"], OG_HASH_KEY) == "Janet Roe"  # the stored instrument's holder
    assert post.payment_source == PurchasePost.PaymentSource.ORDER_TRANSACTION
    assert any("order's transaction" in note for note in post.delivery.notes)


def test_failed_and_refund_transactions_do_not_choose_the_instrument(shop, fake_og):
    declined = shop.fake_bc.add_instrument(shop.hash, shop.customer["id"], brand="AMEX", last_4="0005",
                                           is_default=False)
    paid = shop.fake_bc.add_instrument(shop.hash, shop.customer["id"], brand="DISCOVER", last_4="1117",
                                       expiry_month=11, expiry_year=2032, is_default=False)
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value),
                       transactions=[{"instrument": declined, "status": "error"},
                                     {"instrument": paid},
                                     {"instrument": declined, "event": "refund"}])

    payment, post = _post_order(shop, fake_og, order)

    assert payment["token_id"] == paid["token"] and payment["cc_type"] == "4"
    assert crypto.aes_decrypt(payment["cc_exp_date"], OG_HASH_KEY) == "11/2032"
    assert post.payment_source == "order_transaction"


def test_order_without_transactions_falls_back_to_the_default(shop, fake_og):
    shop.fake_bc.add_instrument(shop.hash, shop.customer["id"], brand="AMEX", is_default=False)
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value))

    payment, post = _post_order(shop, fake_og, order)

    assert payment["token_id"] == shop.card["token"] and payment["cc_type"] == "1"
    assert crypto.aes_decrypt(payment["cc_exp_date"], OG_HASH_KEY) == "09/2030"
    assert post.payment_source == PurchasePost.PaymentSource.DEFAULT_INSTRUMENT
    assert any("default instrument" in note and "no vaulted-instrument transaction" in note
               for note in post.delivery.notes)
    # The transactions were asked for, over HTTP, once.
    assert len(shop.fake_bc.requests_to("GET", rf"/v3/orders/{order['id']}/transactions$")) == 1


def test_order_paid_with_a_card_not_saved_falls_back_to_the_default(shop, fake_og):
    # A one-off card: the transaction has card details but no payment_instrument_token.
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value), transactions=[{
        "credit_card": {"card_type": "amex", "card_iin": "378282", "card_last4": "0005", "card_expiry_month": 1,
                        "card_expiry_year": 2033}}])

    payment, post = _post_order(shop, fake_og, order)

    assert payment["token_id"] == shop.card["token"]
    assert post.payment_source == "default_instrument"


def test_token_not_among_stored_instruments_uses_the_transactions_card(shop, fake_og):
    # The card was removed from the customer's wallet after checkout: its token is still what paid the order.
    gone = {"type": "stored_card", "token": "a" * 64, "brand": "MASTERCARD", "last_4": "5100",
            "issuer_identification_number": "510510", "expiry_month": 7, "expiry_year": 2029}
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value), transactions=[{"instrument": gone}])

    payment, post = _post_order(shop, fake_og, order)

    assert payment["token_id"] == "a" * 64 and payment["cc_type"] == "2"
    assert crypto.aes_decrypt(payment["cc_exp_date"], OG_HASH_KEY) == "07/2029"
    assert crypto.aes_decrypt(payment["cc_holder"], OG_HASH_KEY) == "Jane Doe"  # the order's billing name
    assert post.payment_source == "order_transaction"
    assert any("card details from the transaction" in note for note in post.delivery.notes)


def test_order_paid_with_a_stored_paypal_account_keeps_the_paypal_rule(shop, fake_og):
    paypal = shop.fake_bc.add_instrument(shop.hash, shop.customer["id"], kind="stored_paypal_account",
                                         is_default=False)
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value),
                       transactions=[{"instrument": paypal, "method": "electronic_wallet", "gateway": "paypal"}])

    payment, post = _post_order(shop, fake_og, order)

    assert payment["token_id"] == paypal["token"]
    assert payment["payment_method"] == "PayPal" and "cc_type" not in payment
    assert crypto.aes_decrypt(payment["cc_exp_date"], OG_HASH_KEY) == "12/2099"
    assert post.payment_source == "order_transaction"


def test_one_time_orders_read_no_transactions(shop, fake_og):
    order = shop.order(shop.mug_line(), transactions=[{"instrument": shop.card}])
    assert inbound_event_process(shop.event(ORDER_CREATED, order["id"]).pk) == "done"

    assert PurchasePost.objects.get(bc_order_id=order["id"]).payment_source == ""
    assert not shop.fake_bc.requests_to("GET", r"/transactions$")


def test_without_the_transactions_scope_the_default_is_posted(shop, fake_og):
    # An app installed before it asked for store_v2_transactions_read_only: BigCommerce answers 403.
    other = shop.fake_bc.add_instrument(shop.hash, shop.customer["id"], brand="MASTERCARD", is_default=False)
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value), transactions=[{"instrument": other}])
    shop.fake_bc.fail("GET", r"/transactions$", status=403, body={"status": 403, "title": "Missing scope"})

    payment, post = _post_order(shop, fake_og, order)

    assert payment["token_id"] == shop.card["token"]
    assert post.payment_source == "default_instrument"
    assert any("store_v2_transactions_read_only" in note for note in post.delivery.notes)


def test_a_transactions_outage_retries_the_event(shop, fake_og):
    other = shop.fake_bc.add_instrument(shop.hash, shop.customer["id"], brand="MASTERCARD", is_default=False)
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value), transactions=[{"instrument": other}])
    shop.fake_bc.fail("GET", r"/transactions$", status=503)
    event = shop.event(ORDER_CREATED, order["id"])

    assert inbound_event_process(event.pk) == "pending"  # transient: retried later, never the default card
    assert not PurchasePost.objects.filter(bc_order_id=order["id"]).exists()

    event.refresh_from_db()
    event.next_attempt_at = None
    event.save()
    payment, post = _post_order_event(shop, fake_og, order, event)
    assert payment["token_id"] == other["token"] and post.payment_source == "order_transaction"


@pytest.fixture
def gateway_shop(shop, og_settings):
    from tests.fakes.payment_gateway import FakePaymentGateway

    server = FakePaymentGateway().start()
    og_settings.payment_data_source = "gateway"
    og_settings.gateway_base_url = server.url
    og_settings.gateway_api_key = server.api_key
    og_settings.save()
    shop.gateway = server
    shop.gw_customer = server.add_customer(shop.customer["id"])
    yield shop
    server.stop()


def test_gateway_source_posts_the_gateway_card_the_order_was_paid_with(gateway_shop, fake_og):
    shop = gateway_shop
    shop.gateway.add_card(shop.gw_customer["uuid"], token="gw-default", brand="VISA", is_default=True)
    shop.gateway.add_card(shop.gw_customer["uuid"], token="gw-used", brand="AMEX", exp_month=5, exp_year=2030,
                          is_default=False)
    used = {"type": "stored_card", "token": "gw-used", "brand": "AMEX", "last_4": "0005"}
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value), transactions=[{"instrument": used}])

    payment, post = _post_order(shop, fake_og, order)

    assert payment["token_id"] == "gw-used" and payment["cc_type"] == "3"
    assert crypto.aes_decrypt(payment["cc_exp_date"], OG_HASH_KEY) == "05/2030"
    assert post.payment_source == "order_transaction"


def test_gateway_source_posts_the_order_token_even_when_its_vault_lacks_it(gateway_shop, fake_og):
    # token_id is the BigCommerce stored-instrument token (DECISIONS §3.6) that placement charges: the gateway's
    # default card must not replace the one the order was paid with.
    shop = gateway_shop
    shop.gateway.add_card(shop.gw_customer["uuid"], token="gw-default", brand="VISA", is_default=True)
    order = shop.order(shop.coffee_line(option_value=shop.monthly_value), transactions=[{"instrument": shop.card}])

    payment, post = _post_order(shop, fake_og, order)

    assert payment["token_id"] == shop.card["token"] and payment["cc_type"] == "1"
    assert crypto.aes_decrypt(payment["cc_exp_date"], OG_HASH_KEY) == "09/2030"
    assert post.payment_source == "order_transaction"
    assert any("card details from the transaction" in note for note in post.delivery.notes)
