"""Order placement fixtures: a store configured for Ordergroove, a shopper with a stored card and a catalog in
the fake BigCommerce, and the documented order XML (ordergroove.md §8.2) with the shop's values."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import pytest

from tests.ordergroove import conftest as ordergroove_fixtures
from tests.ordergroove.conftest import OG_HASH_KEY, OG_MERCHANT_ID

# The Ordergroove fixtures (the fake Ordergroove, a store configured against it) live with the Ordergroove tests;
# the placement tests moved to tests/bigcommerce_app/placement/ with the code and use them from here.
fake_og_server = ordergroove_fixtures.fake_og_server
fake_og = ordergroove_fixtures.fake_og
og_settings = ordergroove_fixtures.og_settings

CUSTOMER_ID = 501
CARD_TOKEN = "84596bea275fa254da820056bdc3e495bdf01fd11c51b0336347d447ee16200c"


def og_signature(sig_field: str, ts: int, key: str = OG_HASH_KEY) -> str:
    """Ordergroove's customer-scope signature, computed here independently: base64(HMAC-SHA256(key, "field|ts"))."""
    return base64.b64encode(hmac.new(key.encode(), f"{sig_field}|{ts}".encode(), hashlib.sha256).digest()).decode()


def authorization(sig_field: str = str(CUSTOMER_ID), *, ts: int | None = None, key: str = OG_HASH_KEY,
                  public_id: str = OG_MERCHANT_ID) -> str:
    ts = int(time.time()) if ts is None else ts
    return json.dumps({"public_id": public_id, "sig": og_signature(sig_field, ts, key), "ts": ts,
                       "sig_field": sig_field})


def item_xml(*, product_id: str, sku: str, qty: int, final_price: str, price: str, name: str = "Training Treat Pack",
             discount: str = "0.00") -> str:
    return f"""
    <item>
      <publicId>53045416aae111ecb1798e2cf0ff778f</publicId>
      <offerPublicId>a60cd8da1f6111ea9096bc764e101db1</offerPublicId>
      <qty>{qty}</qty>
      <sku><![CDATA[{sku}]]></sku>
      <name><![CDATA[{name}]]></name>
      <product_id><![CDATA[{product_id}]]></product_id>
      <discount>{discount}</discount>
      <finalPrice>{final_price}</finalPrice>
      <price>{price}</price>
    </item>"""


def order_xml(*, og_order_id: str = "17071718", customer_id: str = str(CUSTOMER_ID), token: str = CARD_TOKEN,
              items: list[str], shipping: str = "5.95", subtotal_discount: str = "0.00", sales_tax: str = "0.00",
              extra_head: str = "", incentives: str = "") -> bytes:
    """The D-ROP example order, with this shop's customer, card and items."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<order>
  <head>
    <orderOgId>{og_order_id}</orderOgId>
    <orderPublicId>0a52e64caa1911ecbea15e94dbd6dbdx</orderPublicId>
    <orderOgDate><![CDATA[2022-03-23]]></orderOgDate>
    <orderSourcePartnerId>196</orderSourcePartnerId>
    <orderSourcePartnerName><![CDATA[Pet Store]]></orderSourcePartnerName>
    <orderItemsCount>{len(items)}</orderItemsCount>
    <orderSubtotalValue>10.39</orderSubtotalValue>
    <orderSubtotalDiscount>{subtotal_discount}</orderSubtotalDiscount>
    <orderSalesTax>{sales_tax}</orderSalesTax>
    <orderDiscount>2.60</orderDiscount>
    <orderShipping>{shipping}</orderShipping>
    <orderTotalValue>10.39</orderTotalValue>
    <orderCurrency>USD</orderCurrency>
    <orderPaymentPublicId>3c9efe848c0511ebaf4c2ec47f35ff80</orderPaymentPublicId>
    <orderPaymentDataLocation>OG</orderPaymentDataLocation>
    <orderPaymentMethod>CC</orderPaymentMethod>
    <orderCcType><![CDATA[Visa]]></orderCcType>
    <orderCcOwner/>
    <orderCcNumber/>
    <orderCcExpire><![CDATA[q42FjUuxkypYzVfumFf31pIMS7y+ZfBf/PmQwRSAECE=]]></orderCcExpire>
    <orderTokenId><![CDATA[{token}]]></orderTokenId>
    <orderPaymentLabel/>{extra_head}
  </head>
  <customer>
    <customerOgId>4778263</customerOgId>
    <customerPartnerId><![CDATA[{customer_id}]]></customerPartnerId>
    <customerName><![CDATA[Jane Doe]]></customerName>
    <customerFirstName><![CDATA[Jane]]></customerFirstName>
    <customerLastName><![CDATA[Doe]]></customerLastName>
    <customerEmail><![CDATA[jane@example.com]]></customerEmail>
    <customerLocale>en-us</customerLocale>
    <customerShippingFirstName><![CDATA[Jane]]></customerShippingFirstName>
    <customerShippingLastName><![CDATA[Doe]]></customerShippingLastName>
    <customerShippingAddress><![CDATA[12 Bark Avenue Suite 4]]></customerShippingAddress>
    <customerShippingAddress1><![CDATA[12 Bark Avenue]]></customerShippingAddress1>
    <customerShippingAddress2><![CDATA[Suite 4]]></customerShippingAddress2>
    <customerShippingCity><![CDATA[Austin]]></customerShippingCity>
    <customerShippingState><![CDATA[TX]]></customerShippingState>
    <customerShippingZip><![CDATA[78701]]></customerShippingZip>
    <customerShippingPhone><![CDATA[555-0100]]></customerShippingPhone>
    <customerShippingFax/>
    <customerShippingCompany/>
    <customerShippingCountry><![CDATA[US]]></customerShippingCountry>
    <customerBillingFirstName><![CDATA[Jane]]></customerBillingFirstName>
    <customerBillingLastName><![CDATA[Doe]]></customerBillingLastName>
    <customerBillingAddress1><![CDATA[99 Billing Road]]></customerBillingAddress1>
    <customerBillingAddress2/>
    <customerBillingCity><![CDATA[Dallas]]></customerBillingCity>
    <customerBillingState><![CDATA[TX]]></customerBillingState>
    <customerBillingZip><![CDATA[75201]]></customerBillingZip>
    <customerBillingPhone><![CDATA[555-0199]]></customerBillingPhone>
    <customerBillingCompany/>
    <customerBillingCountry><![CDATA[US]]></customerBillingCountry>
  </customer>
  <items>{''.join(items)}
  </items>{incentives}
</order>""".encode()


@dataclass
class Shop:
    store: object
    og_settings: object
    fake_bc: object
    treats: dict
    food: dict

    @property
    def bc(self):
        return self.fake_bc.stores[self.store.store_hash]

    def treats_large(self) -> dict:
        return self.treats["variants"][1]

    def items(self) -> list[str]:
        """Two lines: 2 × large treats (final 20.78) and 1 × dog food (final 22.49)."""
        large = self.treats_large()
        return [
            item_xml(product_id=f"{self.treats['id']}_{large['id']}", sku=large["sku"], qty=2, final_price="20.78",
                     price="12.99", discount="5.20"),
            item_xml(product_id=f"{self.food['id']}_{self.food['base_variant_id']}", sku="DOG-5", qty=1,
                     final_price="22.49", price="24.99", name="Dog Food 5 lb", discount="2.50"),
        ]

    def xml(self, **kwargs) -> bytes:
        kwargs.setdefault("items", self.items())
        return order_xml(**kwargs)


@pytest.fixture
def shop(store, og_settings, fake_bc) -> Shop:
    fake_bc.add_customer(store.store_hash, customer_id=CUSTOMER_ID, email="jane@example.com")
    fake_bc.add_instrument(store.store_hash, CUSTOMER_ID, token=CARD_TOKEN, last_4="4242")
    treats = fake_bc.add_product(store.store_hash, name="Cat Treats", price=6.5, sku="CAT-T",
                                 variants=[{"sku": "CAT-T-S"}, {"sku": "CAT-T-L", "price": 12.99}])
    food = fake_bc.add_product(store.store_hash, name="Dog Food 5 lb", price=24.99, sku="DOG-5")
    return Shop(store=store, og_settings=og_settings, fake_bc=fake_bc, treats=treats, food=food)


def post_placement(client, body: bytes, *, auth: str | None = None, content_type: str = "application/xml"):
    headers = {} if auth is None else {"HTTP_AUTHORIZATION": auth}
    return client.post("/ordergroove/order-placement", data=body, content_type=content_type, **headers)
