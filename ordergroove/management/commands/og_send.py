"""`manage.py og_send`: play Ordergroove against the running service (sandbox and staging checks).

    manage.py og_send placement --store sandbox1            # a signed order XML → a paid recurring order
    manage.py og_send event --store sandbox1 --type order.reject --message "Card declined"

`placement` reads the store's BigCommerce data (a customer's default stored card, the first catalog variants)
through the BigCommerce client, builds Ordergroove's documented order XML (ordergroove.md §8.2), signs the
`Authorization` header with the store's hash key and posts it to `/ordergroove/order-placement`. `event` posts a
seed-003 event envelope signed with the store's webhook verification key to `/webhooks/ordergroove`.
"""

from __future__ import annotations

import json
import secrets
import time
from decimal import Decimal
from xml.sax.saxutils import escape

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bigcommerce_app.client import BigCommerceError, client_for_store
from bigcommerce_app.identifiers import og_product_id
from bigcommerce_app.models import Store
from ordergroove import signatures
from ordergroove.models import OrdergrooveSettings
from ordergroove.store_settings.selectors import og_settings_get

DEFAULT_CUSTOMER = 501  # the sandbox's demo shopper (tests/fakes/sandbox.py)


def placement_xml(*, og_order_id: str, public_id: str, customer: dict, token: str, items: list[dict],
                  shipping: str) -> bytes:
    """Ordergroove's documented order XML with the given values."""
    address = (customer.get("addresses") or [{}])[0]
    first, last = customer.get("first_name", ""), customer.get("last_name", "")

    def field(tag: str, value) -> str:
        return f"<{tag}>{escape(str(value or ''))}</{tag}>"

    parts = []
    for kind in ("Shipping", "Billing"):
        parts += [field(f"customer{kind}FirstName", address.get("first_name") or first),
                  field(f"customer{kind}LastName", address.get("last_name") or last),
                  field(f"customer{kind}Address1", address.get("address1") or "1 Sample Street"),
                  field(f"customer{kind}Address2", address.get("address2")),
                  field(f"customer{kind}City", address.get("city") or "Austin"),
                  field(f"customer{kind}State", address.get("state_or_province") or "Texas"),
                  field(f"customer{kind}Zip", address.get("postal_code") or "78701"),
                  field(f"customer{kind}Phone", address.get("phone") or customer.get("phone")),
                  field(f"customer{kind}Country", address.get("country_code") or "US")]
    item_xml = "".join(
        "<item>" + field("qty", i["qty"]) + field("sku", i["sku"]) + field("name", i["name"])
        + field("product_id", i["product_id"]) + field("discount", "0.00") + field("finalPrice", i["final_price"])
        + field("price", i["price"]) + "</item>" for i in items)
    subtotal = sum(Decimal(i["final_price"]) for i in items)
    head = "".join([
        field("orderOgId", og_order_id), field("orderPublicId", public_id),
        field("orderOgDate", time.strftime("%Y-%m-%d")), field("orderItemsCount", len(items)),
        field("orderSubtotalValue", subtotal), field("orderSubtotalDiscount", "0.00"), field("orderSalesTax", "0.00"),
        field("orderDiscount", "0.00"), field("orderShipping", shipping),
        field("orderTotalValue", subtotal + Decimal(shipping)), field("orderCurrency", "USD"),
        field("orderPaymentMethod", "CC"), field("orderTokenId", token)])
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<order><head>{head}</head><customer>'
            + field("customerPartnerId", customer["id"]) + field("customerFirstName", first)
            + field("customerLastName", last) + field("customerEmail", customer.get("email"))
            + "".join(parts) + f"</customer><items>{item_xml}</items></order>")
    return body.encode("utf-8")


class Command(BaseCommand):
    help = "Post a signed Ordergroove order placement or webhook event to the running service."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        placement = sub.add_parser("placement", help="post a recurring order XML")
        placement.add_argument("--store", required=True, help="store hash")
        placement.add_argument("--customer", type=int, default=DEFAULT_CUSTOMER, help="BigCommerce customer id")
        placement.add_argument("--og-order-id", default="", help="orderOgId (default: a new one)")
        placement.add_argument("--items", type=int, default=2, help="how many catalog variants to order")
        placement.add_argument("--shipping", default="5.00", help="orderShipping")
        placement.add_argument("--url", default="", help="service base URL (default APP_URL)")
        event = sub.add_parser("event", help="post an Ordergroove webhook event")
        event.add_argument("--store", required=True, help="store hash")
        event.add_argument("--type", default="order.success", help="event type, e.g. order.reject")
        event.add_argument("--order-public-id", default="", help="Ordergroove order public id")
        event.add_argument("--customer", default=str(DEFAULT_CUSTOMER), help="merchant_user_id")
        event.add_argument("--bc-order-id", default="", help="order_merchant_id")
        event.add_argument("--message", default="", help="rejected_message")
        event.add_argument("--id", default="", help="event id (default: a new one; repeat one to test dedupe)")
        event.add_argument("--url", default="", help="service base URL (default APP_URL)")

    def handle(self, *args, **options) -> None:
        if settings.SANDBOX_MODE and not settings.RUNNING_SERVICE and not options["url"]:
            # Only a running `manage.py run` knows where the sandbox's fake BigCommerce listens (var/run.json).
            raise CommandError("The sandbox is not running in this checkout: start it with `make run`, then run this "
                               "command again from another terminal.")
        store = Store.objects.filter(store_hash=options["store"]).first()
        if store is None:
            raise CommandError(f"No store {options['store']!r} is installed.")
        og = og_settings_get(store)
        if og is None:
            raise CommandError("The store has no Ordergroove settings.")
        base = (options["url"] or settings.APP_URL).rstrip("/")
        if options["what"] == "placement":
            self._placement(store, og, base, options)
        else:
            self._event(store, og, base, options)

    def _placement(self, store: Store, og: OrdergrooveSettings, base: str, options: dict) -> None:
        if not (og.merchant_id and og.hash_key):
            raise CommandError("Set the Ordergroove merchant id and hash key in the console settings first.")
        client = client_for_store(store)
        customer_id = options["customer"]
        try:
            customer = client.customer(customer_id)
            instruments = client.stored_instruments(customer_id) if customer else []
            items = []
            for product in client.products(include="variants", limit=10):
                variant = (product.get("variants") or [{}])[0]
                if not variant.get("id"):
                    continue
                price = Decimal(str(variant.get("calculated_price") or product.get("price") or 0)).quantize(
                    Decimal("0.01"))
                items.append({"product_id": og_product_id(product["id"], variant["id"]), "sku": variant.get("sku", ""),
                              "name": product.get("name", ""), "qty": 1, "price": price, "final_price": price})
                if len(items) >= options["items"]:
                    break
        except BigCommerceError as exc:
            raise CommandError(f"Reading the store from BigCommerce failed: {exc}") from exc
        if customer is None:
            raise CommandError(f"BigCommerce has no customer {customer_id}; pass --customer.")
        instrument = next((i for i in instruments if i.get("is_default")), instruments[0] if instruments else None)
        if instrument is None:
            raise CommandError(f"Customer {customer_id} has no stored card in BigCommerce.")
        if not items:
            raise CommandError("The BigCommerce catalog has no products.")
        og_order_id = options["og_order_id"] or str(int(time.time() * 1000))
        body = placement_xml(og_order_id=og_order_id, public_id=secrets.token_hex(16), customer=customer,
                             token=instrument["token"], items=items, shipping=options["shipping"])
        headers = {"Content-Type": "application/xml",
                   "Authorization": signatures.authorization_header(og.merchant_id, customer_id, og.hash_key)}
        response = requests.post(f"{base}/ordergroove/order-placement", data=body, headers=headers, timeout=120)
        self.stdout.write(f"Placement of Ordergroove order {og_order_id}: HTTP {response.status_code}")
        self.stdout.write(response.text)

    def _event(self, store: Store, og: OrdergrooveSettings, base: str, options: dict) -> None:
        if not og.webhook_verification_key:
            raise CommandError("Set the Ordergroove webhook verification key in the console settings first.")
        event_type = options["type"]
        obj = {"type": event_type.split(".", 1)[0], "merchant": og.merchant_id,
               "public_id": options["order_public_id"] or secrets.token_hex(16), "customer": options["customer"],
               "order_merchant_id": options["bc_order_id"] or None, "rejected_message": options["message"] or None,
               "status_display": {"order.success": "Success", "order.reject": "Rejected"}.get(event_type, ""),
               "created": int(time.time())}
        if obj["type"] == "subscriber":
            obj = {"merchant_user_id": options["customer"], "live": True, "created": int(time.time())}
        payload = {"id": options["id"] or secrets.token_hex(10), "type": event_type, "created": int(time.time()),
                   "data": {"object": obj}}
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json",
                   "Ordergroove-Signature": signatures.webhook_signature_header(og.webhook_verification_key, body)}
        response = requests.post(f"{base}/webhooks/ordergroove", params={"store": store.store_hash}, data=body,
                                 headers=headers, timeout=30)
        self.stdout.write(f"Event {payload['id']} ({event_type}): HTTP {response.status_code} {response.text}")
