"""POST /ordergroove/order-placement: Ordergroove's recurring orders become paid BigCommerce orders
(issue 7; DECISIONS §3.10, §3.11; ordergroove.md §8)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from bigcommerce_app.models import Alert, OrderPlacement
from bigcommerce_app.placement.selectors import is_recurring_order
from ordergroove.constants import RECURRING_ORDER_EXTERNAL_SOURCE
from tests.bigcommerce_app.placement.conftest import CARD_TOKEN, CUSTOMER_ID, authorization, item_xml, post_placement

pytestmark = pytest.mark.django_db


def answer(response) -> dict:
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "order"
    return {child.tag: (child.text or "") for child in root}


def orders_created(shop) -> list:
    return shop.fake_bc.requests_to("POST", rf"/stores/{shop.store.store_hash}/v2/orders$")


# --- Success -----------------------------------------------------------------------------------------------------

def test_success_creates_one_paid_order_with_the_xml_lines_prices_shipping_and_addresses(client, shop):
    response = post_placement(client, shop.xml(), auth=authorization())

    assert response.status_code == 200
    result = answer(response)
    assert result["code"] == "SUCCESS"
    order_id = int(result["orderId"])
    assert list(shop.bc.orders) == [order_id]

    sent = orders_created(shop)[0].json()
    assert sent["status_id"] == 0
    assert sent["customer_id"] == CUSTOMER_ID
    assert sent["external_source"] == RECURRING_ORDER_EXTERNAL_SOURCE
    assert sent["external_order_id"] == "17071718"
    large = shop.treats_large()
    assert [(p["product_id"], p.get("variant_id"), p["quantity"], p["price_ex_tax"], p["price_inc_tax"])
            for p in sent["products"]] == [
        (shop.treats["id"], large["id"], 2, 10.39, 10.39),  # finalPrice 20.78 over 2; JSON numbers (issue 14)
        (shop.food["id"], shop.food["base_variant_id"], 1, 22.49, 22.49),
    ]
    assert sent["base_shipping_cost"] == sent["shipping_cost_inc_tax"] == "5.9500"
    assert sent["discount_amount"] == "0.0000"
    assert sent["billing_address"] == {
        "first_name": "Jane", "last_name": "Doe", "company": "", "street_1": "99 Billing Road", "street_2": "",
        "city": "Dallas", "state": "TX", "zip": "75201", "phone": "555-0199", "email": "jane@example.com",
        "country_iso2": "US"}
    shipping = sent["shipping_addresses"][0]
    assert [shipping[k] for k in ("street_1", "street_2", "city", "zip", "country_iso2")] == [
        "12 Bark Avenue", "Suite 4", "Austin", "78701", "US"]
    assert "Ordergroove recurring order 17071718" in sent["staff_notes"]

    order = shop.bc.orders[order_id]
    assert order["status_id"] == 11 and order["payment_status"] == "captured"
    assert order["total_inc_tax"] == "49.2200"  # 20.78 + 22.49 + 5.95
    payment = shop.bc.payments[0]
    assert payment["order_id"] == order_id and payment["result"] == "success"
    assert payment["is_recurring"] is True
    assert payment["payment"]["instrument"] == {"type": "stored_card", "token": CARD_TOKEN}
    tokens = shop.fake_bc.requests_to("POST", r"/v3/payments/access_tokens$")
    assert tokens[0].json() == {"order": {"id": order_id, "is_recurring": True}}

    placement = OrderPlacement.objects.get()
    assert (placement.state, placement.bc_order_id, placement.answer_code) == ("succeeded", order_id, "SUCCESS")
    assert is_recurring_order(shop.store, order_id)


def test_sales_tax_is_spread_over_the_lines_so_the_charge_matches_ordergroove(client, shop):
    response = post_placement(client, shop.xml(sales_tax="4.33"), auth=authorization())

    assert answer(response)["code"] == "SUCCESS"
    lines = orders_created(shop)[0].json()["products"]
    assert [line["price_ex_tax"] for line in lines] == [10.39, 22.49]
    tax = sum(float(line["price_inc_tax"]) * line["quantity"] - float(line["price_ex_tax"]) * line["quantity"]
              for line in lines)
    assert round(tax, 2) == 4.33


def test_an_item_without_our_variant_form_is_found_by_sku(client, shop):
    items = [item_xml(product_id="17550870", sku="CAT-T-L", qty=1, final_price="12.99", price="12.99")]
    response = post_placement(client, shop.xml(items=items), auth=authorization())

    assert answer(response)["code"] == "SUCCESS"
    line = orders_created(shop)[0].json()["products"][0]
    assert (line["product_id"], line["variant_id"]) == (shop.treats["id"], shop.treats_large()["id"])


def test_order_level_incentive_is_applied_as_the_order_discount(client, shop):
    incentives = ("<incentives><incentive><target>order</target><target_id>ioi-1</target_id>"
                  "<code>OG-5OFF-17071718</code></incentive></incentives>")
    response = post_placement(client, shop.xml(subtotal_discount="5.00", incentives=incentives), auth=authorization())

    assert answer(response)["code"] == "SUCCESS"
    sent = orders_created(shop)[0].json()
    assert sent["discount_amount"] == "5.0000"
    assert "OG-5OFF-17071718" in sent["staff_notes"]
    assert OrderPlacement.objects.get().coupon_codes == ["OG-5OFF-17071718"]


# --- Free shipping (DECISIONS §3.11) --------------------------------------------------------------------------------

def _enable_free_shipping(shop, *, delete_after_use: bool = False):
    og = shop.og_settings
    og.free_shipping_enabled = True
    og.free_shipping_coupon = "FREESHIP"
    og.delete_coupons_after_use = delete_after_use
    og.save()


def test_free_shipping_records_the_coupon_and_ships_at_zero(client, shop):
    _enable_free_shipping(shop)
    response = post_placement(client, shop.xml(shipping="0.00"), auth=authorization())

    assert answer(response)["code"] == "SUCCESS"
    sent = orders_created(shop)[0].json()
    assert sent["base_shipping_cost"] == "0.0000"
    assert "FREESHIP" in sent["staff_notes"]
    placement = OrderPlacement.objects.get()
    assert placement.free_shipping and placement.coupon_codes == ["FREESHIP"]


def test_an_explicit_free_shipping_flag_wins_over_the_shipping_amount(client, shop):
    _enable_free_shipping(shop)
    xml = shop.xml(shipping="7.50", extra_head="\n    <orderFreeShipping>true</orderFreeShipping>")
    assert answer(post_placement(client, xml, auth=authorization()))["code"] == "SUCCESS"
    assert orders_created(shop)[0].json()["base_shipping_cost"] == "0.0000"


def test_without_the_console_setting_shipping_is_charged_as_sent(client, shop):
    xml = shop.xml(shipping="0.00", extra_head="\n    <orderFreeShipping>true</orderFreeShipping>")
    assert answer(post_placement(client, xml, auth=authorization()))["code"] == "SUCCESS"
    assert OrderPlacement.objects.get().free_shipping is False


def test_delete_coupons_after_use_removes_the_per_order_coupon_and_keeps_the_free_shipping_one(client, shop):
    _enable_free_shipping(shop, delete_after_use=True)
    shop.bc.coupons[7] = {"id": 7, "code": "FREESHIP", "name": "FREESHIP", "type": "free_shipping"}
    shop.bc.coupons[8] = {"id": 8, "code": "OG-ONCE-1", "name": "OG-ONCE-1", "type": "per_total_discount"}
    incentives = "<incentives><incentive><target>order</target><code>OG-ONCE-1</code></incentive></incentives>"
    response = post_placement(client, shop.xml(shipping="0.00", subtotal_discount="3.00", incentives=incentives),
                              auth=authorization())

    assert answer(response)["code"] == "SUCCESS"
    assert set(shop.bc.coupons) == {7}


# --- Failures map to Ordergroove codes; nothing half-paid stays -----------------------------------------------------

@pytest.mark.parametrize(("outcome", "code", "words"), [
    ("declined", "140", "Insufficient funds"),
    ("expired", "120", "expired"),
    ("do_not_retry", "160", "Do not honor"),
    ("error", "999", "Temporary failure"),
])
def test_a_failed_charge_answers_the_ordergroove_code_and_cancels_the_order(client, shop, outcome, code, words):
    shop.bc.payment_outcome = outcome
    response = post_placement(client, shop.xml(), auth=authorization())

    assert response.status_code == 200
    result = answer(response)
    assert (result["code"], result["errorCode"]) == ("ERROR", code)
    assert words in result["errorMsg"]  # BigCommerce's own words
    (order,) = shop.bc.orders.values()
    assert order["status_id"] == 5  # cancelled, never left Incomplete or half-paid
    assert f"#{order['id']} was not charged and has been cancelled" in result["errorMsg"]
    assert OrderPlacement.objects.get().state == "failed"


def test_no_stored_instrument_with_the_token_is_170_and_creates_nothing(client, shop):
    response = post_placement(client, shop.xml(token="not-a-token-of-this-customer"), auth=authorization())

    result = answer(response)
    assert (result["code"], result["errorCode"]) == ("ERROR", "170")
    assert shop.bc.orders == {} and shop.bc.payments == []


def test_an_expired_stored_card_is_120_before_any_order_exists(client, shop):
    shop.bc.instruments[CUSTOMER_ID][0].update({"expiry_month": 1, "expiry_year": 2020})
    result = answer(post_placement(client, shop.xml(), auth=authorization()))
    assert (result["code"], result["errorCode"]) == ("ERROR", "120")
    assert shop.bc.orders == {}


def test_unknown_customer_is_020_and_creates_nothing(client, shop):
    xml = shop.xml(customer_id="999999")
    result = answer(post_placement(client, xml, auth=authorization("999999")))
    assert (result["code"], result["errorCode"]) == ("ERROR", "020")
    assert "999999" in result["errorMsg"]
    assert shop.bc.orders == {}


def test_bigcommerce_5xx_on_order_creation_is_999_and_creates_nothing(client, shop):
    shop.fake_bc.fail("POST", r"/v2/orders$", status=503, body=[{"status": 503, "message": "Store maintenance"}])
    result = answer(post_placement(client, shop.xml(), auth=authorization()))

    assert (result["code"], result["errorCode"]) == ("ERROR", "999")
    assert "Store maintenance" in result["errorMsg"]
    assert shop.bc.orders == {} and shop.bc.payments == []


def test_bigcommerce_timeout_on_order_creation_is_999_after_checking_no_order_exists(client, shop, settings):
    settings.BIGCOMMERCE_TIMEOUT = 0.5
    shop.fake_bc.fail("POST", r"/v2/orders$", status=504, delay=1.0)
    result = answer(post_placement(client, shop.xml(), auth=authorization()))

    assert (result["code"], result["errorCode"]) == ("ERROR", "999")
    assert shop.fake_bc.requests_to("GET", r"/v2/orders$")[0].q("external_order_id") == "17071718"
    assert shop.bc.orders == {}


def test_a_timed_out_charge_that_went_through_is_a_success(client, shop, settings):
    settings.BIGCOMMERCE_TIMEOUT = 0.5
    shop.fake_bc.fail("POST", r"/payments-host/", status=0, delay=1.0)  # slow answer, but the charge happens
    result = answer(post_placement(client, shop.xml(), auth=authorization()))

    assert result["code"] == "SUCCESS"
    (order,) = shop.bc.orders.values()
    assert order["status_id"] == 11


def test_invalid_address_refused_by_bigcommerce_is_130(client, shop):
    shop.fake_bc.fail("POST", r"/v2/orders$", status=400,
                      body=[{"status": 400, "message": "The field 'zip' in billing_address is invalid."}])
    result = answer(post_placement(client, shop.xml(), auth=authorization()))
    assert (result["code"], result["errorCode"]) == ("ERROR", "130")


# --- Refused requests: clean ERROR answers, nothing created ---------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<order><head><orderOgId>&lol4;</orderOgId></head></order>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE order [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<order><head><orderOgId>&xxe;</orderOgId></head></order>"""


@pytest.mark.parametrize(("body", "status"), [
    (b"<order><head><orderOgId>1</orderOgId>", 400),  # malformed
    (b"not xml at all", 400),
    (BILLION_LAUGHS, 400),
    (EXTERNAL_ENTITY, 400),
    (b"<order><head><orderOgId>1</orderOgId></head></order>", 400),  # no customer, no items
])
def test_unusable_xml_is_a_clean_error_and_nothing_is_created(client, shop, body, status):
    response = post_placement(client, body, auth=authorization())

    assert response.status_code == status
    result = answer(response)
    assert result["code"] == "ERROR" and result["errorMsg"]
    assert orders_created(shop) == [] and OrderPlacement.objects.count() == 0


def test_oversize_body_is_refused_before_parsing(client, shop, settings):
    settings.ORDERGROOVE_PLACEMENT_MAX_BODY_BYTES = 2048
    body = shop.xml(items=shop.items() * 20)
    response = post_placement(client, body, auth=authorization())

    assert response.status_code == 413
    assert answer(response)["code"] == "ERROR"
    assert orders_created(shop) == []


@pytest.mark.parametrize("make_auth", [
    pytest.param(lambda: authorization(key="some other merchant's key 012345"), id="wrong-signature"),
    pytest.param(lambda: authorization(ts=int(time.time()) - 2 * 3600 - 60), id="stale-ts"),
    pytest.param(lambda: authorization(public_id="unknown-merchant"), id="unknown-merchant"),
    pytest.param(lambda: authorization("502"), id="signed-for-another-customer"),
    pytest.param(lambda: "not json", id="malformed-header"),
    pytest.param(lambda: None, id="missing-header"),
])
def test_unauthenticated_placements_are_403_errors_and_create_nothing(client, shop, make_auth):
    response = post_placement(client, shop.xml(), auth=make_auth())

    assert response.status_code == 403
    result = answer(response)
    assert (result["code"], result["errorCode"]) == ("ERROR", "403")
    assert orders_created(shop) == [] and OrderPlacement.objects.count() == 0


def test_wrong_content_type_is_refused(client, shop):
    response = post_placement(client, shop.xml(), auth=authorization(), content_type="application/json")
    assert response.status_code == 415
    assert answer(response)["code"] == "ERROR"
    assert orders_created(shop) == []


# --- Idempotency on orderOgId ---------------------------------------------------------------------------------------

def test_a_repeated_placement_returns_the_first_answer_and_creates_nothing(client, shop):
    first = post_placement(client, shop.xml(), auth=authorization())
    again = post_placement(client, shop.xml(), auth=authorization())

    assert again.content == first.content
    assert len(shop.bc.orders) == 1 and len(orders_created(shop)) == 1 and len(shop.bc.payments) == 1


def test_a_repeated_failed_placement_is_answered_again_within_the_replay_window(client, shop):
    shop.bc.payment_outcome = "declined"
    first = post_placement(client, shop.xml(), auth=authorization())
    shop.bc.payment_outcome = "success"
    again = post_placement(client, shop.xml(), auth=authorization())

    assert again.content == first.content
    assert len(orders_created(shop)) == 1


def test_ordergroove_retrying_a_failed_order_later_places_it_again(client, shop, settings):
    settings.ORDERGROOVE_PLACEMENT_ERROR_REPLAY_SECONDS = 0
    shop.bc.payment_outcome = "declined"
    first = answer(post_placement(client, shop.xml(), auth=authorization()))
    shop.bc.payment_outcome = "success"
    retry = answer(post_placement(client, shop.xml(), auth=authorization()))

    assert first["errorCode"] == "140" and retry["code"] == "SUCCESS"
    statuses = sorted(o["status_id"] for o in shop.bc.orders.values())
    assert statuses == [5, 11]  # the declined order stays cancelled, the retry is paid
    placement = OrderPlacement.objects.get()
    assert placement.attempts == 2 and placement.bc_order_id == int(retry["orderId"])
    first_order = next(o["id"] for o in shop.bc.orders.values() if o["status_id"] == 5)
    assert is_recurring_order(shop.store, first_order)


def test_merchant_configuration_payment_errors_raise_an_alert(client, shop):
    shop.fake_bc.fail("POST", r"/payments-host/", status=422,
                      body={"status": 422, "title": "Payment gateway is not configured", "code": 30000})
    result = answer(post_placement(client, shop.xml(), auth=authorization()))
    assert result["errorCode"] == "999"
    assert Alert.objects.filter(store=shop.store, kind="order_placement_failed").exists()
