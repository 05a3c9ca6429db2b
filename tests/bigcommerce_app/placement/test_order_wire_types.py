"""`POST /v2/orders` sends what BigCommerce's orders v2 reference types (issue 14, finding 14):
`orderCatalogProduct_Post.price_inc_tax` and `price_ex_tax` are numbers (not "18.9900" strings), exact to the
four places V2 keeps; order-level amounts stay "Float-As-String". The fake BigCommerce refuses other types with
400 as the reference does."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from tests.bigcommerce_app.placement.conftest import authorization, item_xml, post_placement

pytestmark = pytest.mark.django_db


def _sent_raw(shop) -> bytes:
    return shop.fake_bc.requests_to("POST", rf"/stores/{shop.store.store_hash}/v2/orders$")[0].body


@pytest.mark.parametrize(("final_price", "qty", "wire"), [
    ("20.78", 2, b'"price_ex_tax": 10.39'),        # 10.3900
    ("100.00", 3, b'"price_ex_tax": 33.3333'),      # 33.33333... rounded half up to four places
    ("0.30", 3, b'"price_ex_tax": 0.1'),            # 0.1 exactly, not 0.09999999999999999
    ("999999.99", 1, b'"price_ex_tax": 999999.99'),
    ("0.0002", 4, b'"price_ex_tax": 0.0001'),       # 0.00005 rounds half up
    ("12", 1, b'"price_ex_tax": 12.0'),
])
def test_line_prices_are_json_numbers_with_the_exact_four_place_value(client, shop, final_price, qty, wire):
    large = shop.treats_large()
    items = [item_xml(product_id=f"{shop.treats['id']}_{large['id']}", sku=large["sku"], qty=qty,
                      final_price=final_price, price=final_price)]
    response = post_placement(client, shop.xml(items=items), auth=authorization())

    assert ET.fromstring(response.content).findtext("code") == "SUCCESS", response.content
    raw = _sent_raw(shop)
    assert wire in raw
    line = json.loads(raw)["products"][0]
    assert type(line["price_inc_tax"]) is float and type(line["price_ex_tax"]) is float
    assert type(line["quantity"]) is int and type(line["product_id"]) is int and type(line["variant_id"]) is int
    sent = json.loads(raw)
    assert re.fullmatch(r"\d+\.\d{4}", sent["base_shipping_cost"])  # order-level: Float-As-String


def _post_order(fake_bc, store_hash: str, token: str, body: dict) -> tuple[int, object]:
    request = urllib.request.Request(f"{fake_bc.url}/stores/{store_hash}/v2/orders", method="POST",
                                     data=json.dumps(body).encode(),
                                     headers={"X-Auth-Token": token, "Content-Type": "application/json",
                                              "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(("where", "field", "value"), [
    ("line", "price_inc_tax", "18.9900"), ("line", "price_ex_tax", "18.99"), ("line", "quantity", "2"),
    ("line", "product_id", "1"), ("line", "price_ex_tax", True), ("order", "customer_id", "501"),
    ("order", "status_id", "0"), ("order", "base_shipping_cost", "free"), ("order", "staff_notes", 5),
])
def test_the_fake_bigcommerce_refuses_what_the_reference_types_otherwise(shop, where, field, value):
    large = shop.treats_large()
    line = {"product_id": shop.treats["id"], "variant_id": large["id"], "quantity": 1, "price_inc_tax": 12.99,
            "price_ex_tax": 12.99}
    body = {"customer_id": 501, "status_id": 0, "products": [line], "base_shipping_cost": "5.9500",
            "billing_address": {"first_name": "Jane", "street_1": "1 Road", "city": "Austin", "zip": "78701",
                                "country_iso2": "US"}}
    token = shop.bc.access_token
    assert _post_order(shop.fake_bc, shop.store.store_hash, token, body)[0] == 200

    (line if where == "line" else body)[field] = value
    status, answer = _post_order(shop.fake_bc, shop.store.store_hash, token, body)

    assert status == 400
    assert answer == [{"status": 400, "message": f"The field '{field}' is invalid."}]
