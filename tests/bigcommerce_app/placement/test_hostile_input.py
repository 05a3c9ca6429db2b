"""Hostile order placements (issue 14, findings 3 and 7): a malformed `Authorization` header or a number in the
order XML that no real order carries gets Ordergroove's ERROR answer with a 4xx, at once, and changes nothing:
no placement row left `processing`, no BigCommerce order."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

import pytest

from bigcommerce_app.models import OrderPlacement
from tests.bigcommerce_app.placement.conftest import CUSTOMER_ID, authorization, item_xml, og_signature, post_placement
from tests.ordergroove.conftest import OG_MERCHANT_ID

pytestmark = pytest.mark.django_db


def _answer(response) -> dict:
    root = ET.fromstring(response.content)
    return {child.tag: (child.text or "") for child in root}


def _nothing_changed(shop) -> None:
    assert not OrderPlacement.objects.exists()
    assert shop.fake_bc.requests_to("POST", rf"/stores/{shop.store.store_hash}/v2/orders$") == []
    assert shop.bc.orders == {}


def _raw_header(ts_json: str, *, public_id: str = OG_MERCHANT_ID, sig_field: str = str(CUSTOMER_ID)) -> str:
    """A header whose `ts` is written verbatim into the JSON (to send numbers json.dumps would not write)."""
    sig = og_signature(sig_field, int(time.time()))
    return ('{"public_id": ' + json.dumps(public_id) + ', "sig": ' + json.dumps(sig) + ', "ts": ' + ts_json
            + ', "sig_field": ' + json.dumps(sig_field) + "}")


@pytest.mark.parametrize("ts_json", [
    '"\u00b2"',            # "²": str.isdigit() says yes, int() says no
    '"\u0663"',            # Arabic-Indic three: int() accepts it, it is not a Unix time
    "1" + "0" * 400,       # 10**400, a valid JSON number
    "1e400",               # a float JSON number Python reads as inf
    '"1_700_000_000"',     # int() accepts underscores
    "-5",
    "true",
], ids=["superscript-two", "arabic-digit", "ten-to-the-400", "float-inf", "underscores", "negative", "bool"])
def test_a_malformed_ts_is_refused_with_403_and_changes_nothing(client, shop, ts_json):
    response = post_placement(client, shop.xml(), auth=_raw_header(ts_json))

    assert response.status_code == 403
    assert _answer(response)["code"] == "ERROR"
    _nothing_changed(shop)


@pytest.mark.parametrize("field", ["public_id", "sig_field"])
def test_a_nul_character_in_the_header_is_refused_with_403_and_changes_nothing(client, shop, field):
    values = {"public_id": OG_MERCHANT_ID, "sig_field": str(CUSTOMER_ID)}
    values[field] += "\x00"
    header = json.dumps({**values, "ts": int(time.time()), "sig": og_signature(values["sig_field"],
                                                                              int(time.time()))})
    assert "\\u0000" in header

    response = post_placement(client, shop.xml(), auth=header)

    assert response.status_code == 403
    assert "NUL" in _answer(response)["errorMsg"]
    _nothing_changed(shop)


def _item(shop, **overrides) -> str:
    large = shop.treats_large()
    fields = {"product_id": f"{shop.treats['id']}_{large['id']}", "sku": large["sku"], "qty": 2,
              "final_price": "20.78", "price": "12.99", **overrides}
    return item_xml(**fields)


@pytest.mark.parametrize("overrides", [
    {"qty": "1e999999"}, {"qty": "Infinity"}, {"qty": "-Infinity"}, {"qty": "NaN"}, {"qty": "1" + "0" * 30},
    {"qty": "\u00b2"}, {"qty": "0"}, {"qty": "-3"}, {"qty": "2.5"}, {"qty": "1000001"},
    {"final_price": "1e999999"}, {"final_price": "Infinity"}, {"final_price": "9" * 40},
    {"final_price": "5E+3"}, {"price": "1e999999"}, {"discount": "-1e999999"},
], ids=lambda o: f"{next(iter(o))}={next(iter(o.values()))[:12] if isinstance(next(iter(o.values())), str) else ''}")
def test_an_unbounded_number_in_an_item_is_refused_at_once_with_the_error_answer(client, shop, overrides):
    started = time.process_time()
    response = post_placement(client, shop.xml(items=[_item(shop, **overrides)]), auth=authorization())

    assert time.process_time() - started < 5  # a guard against a CPU-bound hang, not a speed measurement
    assert response.status_code == 400
    result = _answer(response)
    assert (result["code"], result["errorCode"]) == ("ERROR", "020")
    _nothing_changed(shop)


@pytest.mark.parametrize("head", [
    {"shipping": "1e999999"}, {"shipping": "Infinity"}, {"sales_tax": "1e999999"}, {"sales_tax": "NaN"},
    {"subtotal_discount": "9" * 30}, {"shipping": "999999999"},
], ids=lambda o: "-".join(f"{k}={v[:10]}" for k, v in o.items()))
def test_an_unbounded_order_amount_is_refused_with_the_error_answer(client, shop, head):
    response = post_placement(client, shop.xml(**head), auth=authorization())

    assert response.status_code == 400
    assert _answer(response)["code"] == "ERROR"
    _nothing_changed(shop)


@pytest.mark.parametrize("product_id", ["\u00b2_\u00b3", "9" * 30 + "_1", "1_" + "9" * 30])
def test_a_product_id_that_is_not_a_bigcommerce_id_falls_back_to_the_sku(client, shop, product_id):
    response = post_placement(client, shop.xml(items=[_item(shop, product_id=product_id)]), auth=authorization())

    assert response.status_code == 200
    assert _answer(response)["code"] == "SUCCESS"
    sent = shop.fake_bc.requests_to("POST", rf"/stores/{shop.store.store_hash}/v2/orders$")[0].json()
    assert sent["products"][0]["variant_id"] == shop.treats_large()["id"]


@pytest.mark.parametrize("customer_id", ["\u00b2", "9" * 30])
def test_a_customer_partner_id_that_is_not_a_bigcommerce_id_fails_the_placement_finally(client, shop, customer_id):
    response = post_placement(client, shop.xml(customer_id=customer_id), auth=authorization(customer_id))

    assert response.status_code == 200
    assert (_answer(response)["code"], _answer(response)["errorCode"]) == ("ERROR", "020")
    placement = OrderPlacement.objects.get()
    assert placement.state == OrderPlacement.State.FAILED
    assert shop.bc.orders == {}
