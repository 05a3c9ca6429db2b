"""Fake BigCommerce: OAuth (login host), the store REST API (V2/V3), the payments host, and a webhook
emitter. Behaviour follows spec/bigcommerce.md §9: X-Auth-Token required, V2 array errors vs V3 object
errors, V2 string decimals and `204` empty lists, V3 `meta.pagination`, `limit` ≤ 250, rate-limit headers on
every response and `429` past the quota.

One server answers for all three hosts: point BIGCOMMERCE_LOGIN_URL, BIGCOMMERCE_API_URL and
BIGCOMMERCE_PAYMENTS_URL at `url`, `url` and `url + "/payments-host"`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests

from tests.fakes.base import FakeServer, Request, Response
from tests.fakes.bigcommerce_content import register_content_routes

DEFAULT_SCOPE = (
    "store_v2_orders store_v2_products_read_only store_v2_customers_read_only "
    "store_stored_payment_instruments_read_only store_payments_methods_read "
    "store_payments_access_token_create store_v2_marketing store_v2_information_read_only "
    "store_channel_settings_read_only store_sites_read_only store_v2_transactions_read_only "
    "store_v2_content store_content_checkout"
)


def money(value: float | int | str) -> str:
    """V2 decimals are strings with four places."""
    return f"{float(value):.4f}"


@dataclass
class FakeStore:
    store_hash: str
    store_id: int
    access_token: str = ""
    scope: str = DEFAULT_SCOPE
    hooks: dict[int, dict] = field(default_factory=dict)
    products: dict[int, dict] = field(default_factory=dict)
    trees: list[dict] = field(default_factory=list)
    tree_categories: dict[int, list[dict]] = field(default_factory=dict)
    orders: dict[int, dict] = field(default_factory=dict)
    order_products: dict[int, list[dict]] = field(default_factory=dict)
    order_shipping: dict[int, list[dict]] = field(default_factory=dict)
    order_transactions: dict[int, list[dict]] = field(default_factory=dict)
    customers: dict[int, dict] = field(default_factory=dict)
    instruments: dict[int, list[dict]] = field(default_factory=dict)
    payment_methods: list[dict] = field(default_factory=list)
    payment_access_tokens: dict[str, dict] = field(default_factory=dict)
    payments: list[dict] = field(default_factory=list)
    coupons: dict[int, dict] = field(default_factory=dict)
    channels: list[dict] = field(default_factory=list)
    sites: dict[int, dict] = field(default_factory=dict)
    # Payment outcome for the next charges: "success", "declined", "expired", "do_not_retry", "error".
    payment_outcome: str = "success"
    info: dict = field(default_factory=dict)
    scripts: dict[str, dict] = field(default_factory=dict)  # Scripts API, by uuid
    pages: dict[int, dict] = field(default_factory=dict)  # Pages API, by id
    cookie_consent: bool = False  # a consent banner hides scripts of consent_category "unknown"


class FakeBigCommerce(FakeServer):
    name = "fake-bigcommerce"

    def __init__(self, *, client_id: str, client_secret: str, **kwargs):
        self.client_id = client_id
        self.client_secret = client_secret
        self.stores: dict[str, FakeStore] = {}
        self.codes: dict[str, dict] = {}
        self.redirect_uri: str | None = None  # when set, token exchange requires exactly this
        self.ids = itertools.count(1000)
        # Rate limiting: requests per window per store; None = unlimited.
        self.quota: int | None = None
        self.window_ms = 30000
        self._windows: dict[str, tuple[float, int]] = {}
        self.rate_limited_responses = 0
        self.pat_secret = secrets.token_hex(16)
        super().__init__(**kwargs)

    # --- Setup helpers used by tests and the sandbox -------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.stores.clear()
            self.codes.clear()
            self.quota = None
            self._windows.clear()
            self.rate_limited_responses = 0
            self.redirect_uri = None
        self.clear_requests()

    def add_store(self, store_hash: str = "abc123", **info) -> FakeStore:
        with self.lock:
            store = self.stores.get(store_hash)
            if store is None:
                store = FakeStore(store_hash=store_hash, store_id=1000000 + len(self.stores))
                store.info = {
                    "id": store_hash, "name": info.get("name", f"Store {store_hash}"),
                    "domain": f"store-{store_hash}.mybigcommerce.com",
                    "secure_url": f"https://store-{store_hash}.mybigcommerce.com",
                    "control_panel_base_url": f"https://store-{store_hash}.mybigcommerce.com",
                    "currency": "USD", "store_id": store.store_id, "default_channel_id": 1,
                    "plan_name": "Plus",
                }
                store.channels = [{"id": 1, "name": "Default", "type": "storefront", "platform": "bigcommerce",
                                   "status": "active"}]
                store.sites[1] = {"id": 1, "channel_id": 1, "url": store.info["secure_url"],
                                  "urls": [{"url": store.info["secure_url"], "type": "primary"}]}
                self.stores[store_hash] = store
            return store

    def issue_code(self, store_hash: str, *, user_id: int = 24654, user_email: str = "merchant@example.com",
                   owner_id: int = 12345, owner_email: str = "owner@example.com",
                   scope: str = DEFAULT_SCOPE) -> dict[str, str]:
        """What BigCommerce puts in the auth callback's query string after the merchant clicks Install."""
        store = self.add_store(store_hash)
        code = secrets.token_hex(8)
        account_uuid = str(uuid.uuid4())
        with self.lock:
            self.codes[code] = {"store_hash": store_hash, "scope": scope, "account_uuid": account_uuid,
                                "user": {"id": user_id, "username": user_email, "email": user_email},
                                "owner": {"id": owner_id, "username": owner_email, "email": owner_email}}
            store.scope = scope
        return {"code": code, "scope": scope, "context": f"stores/{store_hash}", "account_uuid": account_uuid}

    def signed_payload_jwt(self, store_hash: str, *, user_id: int = 24654, user_email: str = "merchant@example.com",
                           owner_id: int = 12345, owner_email: str = "owner@example.com", **overrides) -> str:
        """A `signed_payload_jwt` as BigCommerce sends to load/uninstall/remove_user (bigcommerce.md §1.4)."""
        now = int(time.time())
        claims = {"aud": self.client_id, "iss": "bc", "iat": now, "nbf": now - 5, "exp": now + 86400,
                  "jti": str(uuid.uuid4()), "sub": f"stores/{store_hash}",
                  "user": {"id": user_id, "email": user_email, "locale": "en-US"},
                  "owner": {"id": owner_id, "email": owner_email}, "url": "/", "channel_id": None}
        claims.update(overrides)
        return jwt.encode(claims, self.client_secret, algorithm="HS256")

    def customer_jwt(self, store_hash: str, customer_id: int, *, email: str = "shopper@example.com",
                     algorithm: str = "HS256", **overrides) -> str:
        """The storefront's `/customer/current.jwt` answer (bigcommerce.md §2)."""
        now = int(time.time())
        claims = {"customer": {"id": customer_id, "email": email, "group_id": "0"}, "iss": "bc/apps",
                  "sub": store_hash, "iat": now, "exp": now + 900, "version": 1, "aud": self.client_id,
                  "application_id": self.client_id, "store_hash": store_hash, "operation": "current_customer"}
        claims.update(overrides)
        return jwt.encode(claims, self.client_secret, algorithm=algorithm)

    def next_id(self) -> int:
        return next(self.ids)

    # Catalog seeding -------------------------------------------------------------------------------------
    def add_product(self, store_hash: str, *, name: str, price: float = 10.0, sku: str | None = None,
                    variants: list[dict] | None = None, modifiers: list[dict] | None = None,
                    inventory_tracking: str = "none", inventory_level: int = 0, image_url: str | None = None,
                    categories: list[int] | None = None, custom_url: str | None = None,
                    is_visible: bool = True, availability: str = "available", product_id: int | None = None
                    ) -> dict:
        store = self.add_store(store_hash)
        pid = product_id or self.next_id()
        base_variant_id = self.next_id()
        sku = sku or f"SKU-{pid}"
        product_variants = []
        for index, variant in enumerate(variants or [{}]):
            vid = base_variant_id if index == 0 else self.next_id()
            product_variants.append({
                "id": vid, "product_id": pid, "sku": variant.get("sku", sku if index == 0 else f"{sku}-{index}"),
                "price": variant.get("price"), "calculated_price": variant.get("price", price),
                "sale_price": None, "inventory_level": variant.get("inventory_level", inventory_level),
                "purchasing_disabled": variant.get("purchasing_disabled", False),
                "image_url": variant.get("image_url", ""),
                "option_values": variant.get("option_values", []),
            })
        product_modifiers = []
        for modifier in modifiers or []:
            mid = modifier.get("id") or self.next_id()
            values = []
            for value in modifier.get("option_values", []):
                values.append({"id": value.get("id") or self.next_id(), "option_id": mid,
                               "label": value["label"], "sort_order": len(values),
                               "is_default": value.get("is_default", False), "value_data": None,
                               "adjusters": {}})
            product_modifiers.append({"id": mid, "product_id": pid, "name": modifier["name"],
                                      "display_name": modifier.get("display_name", modifier["name"]),
                                      "type": modifier.get("type", "dropdown"), "required": False,
                                      "option_values": values})
        product = {
            "id": pid, "name": name, "type": "physical", "sku": sku, "price": price,
            "calculated_price": price, "sale_price": 0, "inventory_tracking": inventory_tracking,
            "inventory_level": inventory_level, "is_visible": is_visible, "availability": availability,
            "categories": categories or [], "base_variant_id": base_variant_id,
            "custom_url": {"url": custom_url or f"/{name.lower().replace(' ', '-')}/", "is_customized": False},
            "images": ([{"id": self.next_id(), "is_thumbnail": True, "url_standard": image_url,
                         "url_zoom": image_url, "url_thumbnail": image_url}] if image_url else []),
            "variants": product_variants, "modifiers": product_modifiers,
            "date_modified": "2026-01-01T00:00:00+00:00",
        }
        with self.lock:
            store.products[pid] = product
        return product

    def add_customer(self, store_hash: str, *, customer_id: int | None = None, email: str = "shopper@example.com",
                     first_name: str = "Jane", last_name: str = "Doe", phone: str = "555-0100") -> dict:
        store = self.add_store(store_hash)
        cid = customer_id or self.next_id()
        customer = {"id": cid, "email": email, "first_name": first_name, "last_name": last_name,
                    "phone": phone, "company": "", "customer_group_id": 0, "addresses": [],
                    "date_modified": "2026-01-01T00:00:00Z"}
        with self.lock:
            store.customers[cid] = customer
        return customer

    def add_instrument(self, store_hash: str, customer_id: int, *, token: str | None = None, brand: str = "VISA",
                       last_4: str = "1111", expiry_month: int = 9, expiry_year: int = 2030,
                       is_default: bool = True, kind: str = "stored_card", billing: dict | None = None) -> dict:
        store = self.add_store(store_hash)
        instrument: dict[str, Any] = {"type": kind, "token": token or secrets.token_hex(32), "is_default": is_default}
        if kind == "stored_card":
            instrument.update({"brand": brand, "expiry_month": expiry_month, "expiry_year": expiry_year,
                               "issuer_identification_number": "411111", "last_4": last_4})
        elif kind == "stored_paypal_account":
            instrument["email"] = "paypal@example.com"
        instrument["billing_address"] = billing or {
            "first_name": "Jane", "last_name": "Doe", "email": "shopper@example.com", "company": "",
            "address1": "1 Sample Street", "address2": "Apt 1", "city": "Austin", "postal_code": "78701",
            "state_or_province": "Texas", "state_or_province_code": "TX", "country_code": "US",
            "phone": "555-0100"}
        with self.lock:
            rows = store.instruments.setdefault(customer_id, [])
            if is_default:
                for row in rows:
                    row["is_default"] = False
            rows.append(instrument)
        return instrument

    def add_order(self, store_hash: str, *, customer_id: int, products: list[dict],
                  billing_address: dict | None = None, shipping_address: dict | None = None,
                  external_source: str = "", status_id: int = 11, order_id: int | None = None,
                  payment_method: str = "Credit Card", transactions: list[dict] | None = None) -> dict:
        """A placed storefront order. `products`: [{"product_id", "variant_id", "quantity", "price",
        "name", "sku", "product_options": [{"product_option_id", "value", "display_name"}]}].
        `transactions`: keyword arguments of `add_transaction` for each of the order's payment transactions."""
        store = self.add_store(store_hash)
        oid = order_id or self.next_id()
        billing = billing_address or {"first_name": "Jane", "last_name": "Doe", "company": "",
                                      "street_1": "1 Sample Street", "street_2": "Apt 1", "city": "Austin",
                                      "state": "Texas", "zip": "78701", "country": "United States",
                                      "country_iso2": "US", "phone": "555-0100", "email": "shopper@example.com"}
        shipping = shipping_address or dict(billing)
        lines = []
        subtotal = 0.0
        for line in products:
            qty = int(line.get("quantity", 1))
            price = float(line.get("price", 10))
            subtotal += qty * price
            lines.append({
                "id": self.next_id(), "order_id": oid, "product_id": line["product_id"],
                "variant_id": line.get("variant_id"), "name": line.get("name", "Item"),
                "sku": line.get("sku", ""), "quantity": qty, "base_price": money(price),
                "price_ex_tax": money(price), "price_inc_tax": money(price),
                "total_ex_tax": money(qty * price), "total_inc_tax": money(qty * price),
                "discounted_total_inc_tax": money(qty * price), "applied_discounts": [],
                "type": "physical",
                "product_options": [
                    {"id": self.next_id(), "product_option_id": opt["product_option_id"],
                     "value": str(opt["value"]), "display_name": opt.get("display_name", "Subscription"),
                     "display_value": opt.get("display_value", ""), "type": "Multiple choice"}
                    for opt in line.get("product_options", [])
                ],
            })
        order = {
            "id": oid, "customer_id": customer_id, "status_id": status_id, "status": "Awaiting Fulfillment",
            "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            "subtotal_ex_tax": money(subtotal), "subtotal_inc_tax": money(subtotal),
            "total_ex_tax": money(subtotal), "total_inc_tax": money(subtotal), "currency_code": "USD",
            "billing_address": billing, "external_source": external_source, "payment_method": payment_method,
            "staff_notes": "", "discount_amount": money(0), "base_shipping_cost": money(0),
            "products": {"url": f"{self.url}/stores/{store_hash}/v2/orders/{oid}/products",
                         "resource": f"/orders/{oid}/products"},
            "shipping_addresses": {"url": f"{self.url}/stores/{store_hash}/v2/orders/{oid}/shipping_addresses",
                                   "resource": f"/orders/{oid}/shipping_addresses"},
        }
        with self.lock:
            store.orders[oid] = order
            store.order_products[oid] = lines
            store.order_shipping[oid] = [{"id": self.next_id(), "order_id": oid, **shipping,
                                          "shipping_method": "Flat Rate"}]
        for tx in transactions or []:
            self.add_transaction(store_hash, oid, **tx)
        return order

    def add_transaction(self, store_hash: str, order_id: int, *, instrument: dict | None = None,
                        method: str = "credit_card", event: str = "purchase", status: str = "ok",
                        gateway: str = "stripe", amount: float | None = None, **fields) -> dict:
        """An Orders V3 transaction of the order. With `instrument` (a row of `add_instrument`) it was paid with
        that vaulted instrument: `payment_instrument_token` and, for a card, `credit_card` come from it."""
        store = self.add_store(store_hash)
        order = store.orders.get(order_id, {})
        tx: dict[str, Any] = {
            "id": self.next_id(), "order_id": str(order_id), "event": event, "method": method,
            "amount": float(amount if amount is not None else order.get("total_inc_tax") or 0),
            "currency": order.get("currency_code", "USD"), "gateway": gateway,
            "gateway_transaction_id": uuid.uuid4().hex[:16], "payment_method_id": f"{gateway}.card",
            "date_created": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), "test": True,
            "status": status, "fraud_review": False, "reference_transaction_id": None, "offline": None,
            "custom": None, "payment_instrument_token": None, "avs_result": {}, "cvv_result": {},
            "credit_card": None, "gift_certificate": None, "store_credit": None,
        }
        if instrument is not None:
            tx["payment_instrument_token"] = instrument["token"]
            if instrument.get("type") == "stored_card":
                tx["credit_card"] = {"card_type": str(instrument.get("brand", "")).lower(),
                                     "card_iin": instrument.get("issuer_identification_number", ""),
                                     "card_last4": instrument.get("last_4", ""),
                                     "card_expiry_month": instrument.get("expiry_month"),
                                     "card_expiry_year": instrument.get("expiry_year")}
        tx.update(fields)
        with self.lock:
            store.order_transactions.setdefault(order_id, []).append(tx)
        return tx

    # --- Webhook emitter ------------------------------------------------------------------------------
    def webhook_payload(self, store_hash: str, scope: str, data: dict, *, created_at: int | None = None) -> dict:
        store = self.add_store(store_hash)
        created = created_at or int(time.time())
        digest = hashlib.sha1(json.dumps([scope, data, created], sort_keys=True).encode()).hexdigest()  # noqa: S324
        return {"scope": scope, "store_id": str(store.store_id), "data": data, "hash": digest,
                "created_at": created, "producer": f"stores/{store_hash}"}

    def standard_webhook_headers(self, body: bytes, *, msg_id: str | None = None, ts: int | None = None) -> dict:
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        ts = ts or int(time.time())
        signed = f"{msg_id}.{ts}.".encode() + body
        sig = base64.b64encode(hmac.new(self.client_secret.encode(), signed, hashlib.sha256).digest()).decode()
        return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": f"v1,{sig}"}

    def emit(self, store_hash: str, scope: str, data: dict, *, payload: dict | None = None,
             sign: bool = True, timeout: float = 10) -> list[requests.Response]:
        """Deliver an event to every active hook of the store for `scope`, as BigCommerce does."""
        store = self.add_store(store_hash)
        payload = payload or self.webhook_payload(store_hash, scope, data)
        body = json.dumps(payload).encode()
        answers = []
        for hook in list(store.hooks.values()):
            if hook["scope"] != scope or not hook["is_active"]:
                continue
            headers = {"Content-Type": "application/json", **(hook.get("headers") or {})}
            if sign:
                headers.update(self.standard_webhook_headers(body))
            answers.append(requests.post(hook["destination"], data=body, headers=headers, timeout=timeout))
        return answers

    # --- Routes ---------------------------------------------------------------------------------------------
    def register_routes(self) -> None:
        r = self.route
        r("POST", r"/oauth2/token", self.h_token)
        s = r"/stores/(?P<hash>[a-z0-9]+)"
        r("GET", s + r"/v2/store", self.api(self.h_store_info))
        r("GET", s + r"/v2/time", self.api(lambda req, st: Response.json({"time": int(time.time())})))
        r("GET", s + r"/v3/hooks", self.api(self.h_hooks_list))
        r("POST", s + r"/v3/hooks", self.api(self.h_hook_create))
        r("GET", s + r"/v3/hooks/(?P<id>\d+)", self.api(self.h_hook_get))
        r("PUT", s + r"/v3/hooks/(?P<id>\d+)", self.api(self.h_hook_update))
        r("DELETE", s + r"/v3/hooks/(?P<id>\d+)", self.api(self.h_hook_delete))
        r("GET", s + r"/v3/channels", self.api(self.h_channels))
        r("GET", s + r"/v3/channels/(?P<id>\d+)/site", self.api(self.h_channel_site))
        r("GET", s + r"/v3/catalog/products", self.api(self.h_products))
        r("GET", s + r"/v3/catalog/products/(?P<id>\d+)", self.api(self.h_product))
        r("GET", s + r"/v3/catalog/products/(?P<id>\d+)/modifiers", self.api(self.h_modifiers))
        r("GET", s + r"/v3/catalog/products/(?P<id>\d+)/variants", self.api(self.h_variants))
        r("GET", s + r"/v3/catalog/variants", self.api(self.h_variants_find))
        r("GET", s + r"/v3/catalog/trees", self.api(self.h_trees))
        r("GET", s + r"/v3/catalog/trees/(?P<id>\d+)/categories", self.api(self.h_tree_categories))
        r("GET", s + r"/v2/orders", self.api(self.h_orders_list))
        r("POST", s + r"/v2/orders", self.api(self.h_order_create))
        r("GET", s + r"/v2/orders/(?P<id>\d+)", self.api(self.h_order_get))
        r("PUT", s + r"/v2/orders/(?P<id>\d+)", self.api(self.h_order_update))
        r("GET", s + r"/v2/orders/(?P<id>\d+)/products", self.api(self.h_order_products))
        r("GET", s + r"/v2/orders/(?P<id>\d+)/shipping_addresses", self.api(self.h_order_shipping))
        r("GET", s + r"/v3/orders/(?P<id>\d+)/transactions", self.api(self.h_order_transactions))
        r("GET", s + r"/v3/customers", self.api(self.h_customers))
        r("GET", s + r"/v3/customers/(?P<id>\d+)/stored-instruments", self.api(self.h_instruments))
        r("GET", s + r"/v3/payments/methods", self.api(self.h_payment_methods))
        r("POST", s + r"/v3/payments/access_tokens", self.api(self.h_access_token))
        r("GET", s + r"/v2/coupons", self.api(self.h_coupons))
        r("DELETE", s + r"/v2/coupons/(?P<id>\d+)", self.api(self.h_coupon_delete))
        r("POST", r"/payments-host/stores/(?P<hash>[a-z0-9]+)/payments", self.h_payment)
        register_content_routes(self, s)

    # Auth / rate-limit wrapper ---------------------------------------------------------------------------
    def _rate_headers(self, store_hash: str) -> tuple[dict[str, str], bool]:
        now = time.monotonic()
        with self.lock:
            started, used = self._windows.get(store_hash, (now, 0))
            if (now - started) * 1000 >= self.window_ms:
                started, used = now, 0
            quota = self.quota
            limited = quota is not None and used >= quota
            if not limited:
                used += 1
            self._windows[store_hash] = (started, used)
            reset_ms = max(int(self.window_ms - (now - started) * 1000), 1)
            if limited:
                self.rate_limited_responses += 1
        q = quota if quota is not None else 1000000
        return ({"X-Rate-Limit-Time-Window-Ms": str(self.window_ms), "X-Rate-Limit-Time-Reset-Ms": str(reset_ms),
                 "X-Rate-Limit-Requests-Quota": str(q), "X-Rate-Limit-Requests-Left": str(max(q - used, 0))},
                limited)

    def api(self, handler):
        def wrapped(request: Request) -> Response:
            store = self.stores.get(request.params["hash"])
            token = request.header("X-Auth-Token")
            if store is None or not token or token != store.access_token:
                return Response.json({"status": 401, "title": "You are not authorized to access this resource.",
                                      "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"},
                                     401)
            headers, limited = self._rate_headers(store.store_hash)
            if limited:
                return Response.json({"status": 429, "title": "Too many requests"}, 429, headers)
            limit = request.q("limit")
            if limit is not None and limit.isdigit() and int(limit) > 250:
                return Response.json({"status": 413, "title": "The limit parameter exceeded the maximum"}, 413,
                                     headers)
            response = handler(request, store)
            response.headers.update(headers)
            return response
        return wrapped

    @staticmethod
    def v2_error(status: int, message: str) -> Response:
        return Response.json([{"status": status, "message": message}], status)

    @staticmethod
    def v3_error(status: int, title: str, errors: dict | None = None) -> Response:
        return Response.json({"status": status, "title": title, "type": "/api-docs/getting-started/api-status-codes",
                              "errors": errors or {}}, status)

    @staticmethod
    def paginate(request: Request, rows: list, default_limit: int = 50) -> Response:
        limit = int(request.q("limit") or default_limit)
        page = int(request.q("page") or 1)
        total = len(rows)
        total_pages = max((total + limit - 1) // limit, 1)
        chunk = rows[(page - 1) * limit: page * limit]
        return Response.json({"data": chunk, "meta": {"pagination": {
            "total": total, "count": len(chunk), "per_page": limit, "current_page": page,
            "total_pages": total_pages, "links": {"current": f"?page={page}&limit={limit}"}}}})

    @staticmethod
    def v2_page(request: Request, rows: list) -> Response:
        limit = int(request.q("limit") or 50)
        page = int(request.q("page") or 1)
        chunk = rows[(page - 1) * limit: page * limit]
        if not chunk:
            return Response(204, b"", {})
        return Response.json(chunk)

    # Handlers -------------------------------------------------------------------------------------------
    def h_token(self, request: Request) -> Response:
        content_type = request.header("Content-Type", "") or ""
        if "json" in content_type:
            body = request.json() or {}
        else:
            body = {k: v[0] for k, v in __import__("urllib.parse").parse.parse_qs(request.text).items()}
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            return Response.json({"error": "Invalid client credentials"}, 401)
        if body.get("grant_type") != "authorization_code":
            return Response.json({"error": "Invalid grant_type"}, 400)
        if self.redirect_uri and body.get("redirect_uri") != self.redirect_uri:
            return Response.json({"error": "Parameter redirect_uri does not match registered URI"}, 400)
        with self.lock:
            grant = self.codes.pop(body.get("code", ""), None)
        if grant is None or body.get("context") != f"stores/{grant['store_hash']}":
            return Response.json({"error": "Invalid code"}, 400)
        store = self.stores[grant["store_hash"]]
        store.access_token = secrets.token_hex(16)  # a fresh token invalidates the previous one
        return Response.json({"access_token": store.access_token, "scope": grant["scope"], "user": grant["user"],
                              "owner": grant["owner"], "context": f"stores/{store.store_hash}",
                              "account_uuid": grant["account_uuid"]})

    def h_store_info(self, request, store):
        return Response.json(store.info)

    def h_hooks_list(self, request, store):
        rows = list(store.hooks.values())
        if request.q("scope"):
            rows = [h for h in rows if h["scope"] == request.q("scope")]
        return self.paginate(request, rows)

    def h_hook_create(self, request, store):
        body = request.json() or {}
        if not body.get("scope") or not body.get("destination"):
            return self.v3_error(422, "JSON data is missing or invalid", {"destination": "error.path.missing."})
        for hook in store.hooks.values():
            if hook["scope"] == body["scope"] and hook["destination"] == body["destination"]:
                return self.v3_error(422, "Hook already exists for this scope and destination")
        hook_id = self.next_id()
        now = int(time.time())
        hook = {"id": hook_id, "client_id": self.client_id, "store_hash": store.store_hash,
                "scope": body["scope"], "destination": body["destination"],
                "is_active": body.get("is_active", True), "headers": body.get("headers") or {},
                "created_at": now, "updated_at": now}
        store.hooks[hook_id] = hook
        return Response.json({"data": hook, "meta": {}})

    def h_hook_get(self, request, store):
        hook = store.hooks.get(int(request.params["id"]))
        if not hook:
            return self.v3_error(404, f"Webhook with id [{request.params['id']}] not found")
        return Response.json({"data": hook, "meta": {}})

    def h_hook_update(self, request, store):
        hook = store.hooks.get(int(request.params["id"]))
        if not hook:
            return self.v3_error(404, f"Webhook with id [{request.params['id']}] not found")
        body = request.json() or {}
        for key in ("scope", "destination", "is_active", "headers"):
            if key in body:
                hook[key] = body[key]
        hook["updated_at"] = int(time.time())
        return Response.json({"data": hook, "meta": {}})

    def h_hook_delete(self, request, store):
        hook = store.hooks.pop(int(request.params["id"]), None)
        if not hook:
            return self.v3_error(404, "Webhook not found")
        return Response.json({"data": hook, "meta": {}})

    def h_channels(self, request, store):
        return self.paginate(request, store.channels)

    def h_channel_site(self, request, store):
        site = store.sites.get(int(request.params["id"]))
        if not site:
            return self.v3_error(404, "Site not found")
        return Response.json({"data": site, "meta": {}})

    def _product_view(self, product: dict, include: set[str]) -> dict:
        view = {k: v for k, v in product.items() if k not in ("variants", "modifiers", "images")}
        if "variants" in include:
            view["variants"] = product["variants"]
        if "modifiers" in include:
            view["modifiers"] = product["modifiers"]
        if "images" in include:
            view["images"] = product["images"]
        if "primary_image" in include:
            view["primary_image"] = product["images"][0] if product["images"] else None
        return view

    def h_products(self, request, store):
        include = set(filter(None, (request.q("include") or "").split(",")))
        rows = sorted(store.products.values(), key=lambda p: p["id"])
        if request.q("id:in"):
            wanted = {int(x) for x in request.q("id:in").split(",") if x}
            rows = [p for p in rows if p["id"] in wanted]
        if include & {"modifiers", "options"}:  # BigCommerce caps these pages at 10
            limit = min(int(request.q("limit") or 50), 10)
            request.query["limit"] = [str(limit)]
        return self.paginate(request, [self._product_view(p, include) for p in rows])

    def h_product(self, request, store):
        product = store.products.get(int(request.params["id"]))
        if not product:
            return self.v3_error(404, "The requested product was not found.")
        include = set(filter(None, (request.q("include") or "").split(",")))
        return Response.json({"data": self._product_view(product, include), "meta": {}})

    def h_modifiers(self, request, store):
        product = store.products.get(int(request.params["id"]))
        if not product:
            return self.v3_error(404, "The requested product was not found.")
        return self.paginate(request, product["modifiers"])

    def h_variants(self, request, store):
        product = store.products.get(int(request.params["id"]))
        if not product:
            return self.v3_error(404, "The requested product was not found.")
        return self.paginate(request, product["variants"])

    def h_variants_find(self, request, store):
        rows = [v for p in sorted(store.products.values(), key=lambda p: p["id"]) for v in p["variants"]]
        if request.q("sku"):
            rows = [v for v in rows if v["sku"] == request.q("sku")]
        if request.q("product_id:in"):
            wanted = {int(x) for x in request.q("product_id:in").split(",") if x}
            rows = [v for v in rows if v["product_id"] in wanted]
        return self.paginate(request, rows)

    def h_trees(self, request, store):
        return self.paginate(request, store.trees)

    def h_tree_categories(self, request, store):
        return Response.json({"data": store.tree_categories.get(int(request.params["id"]), []), "meta": {}})

    def h_orders_list(self, request, store):
        rows = sorted(store.orders.values(), key=lambda o: o["id"])
        for key in ("external_order_id", "customer_id", "external_id"):
            if request.q(key) is not None:
                rows = [o for o in rows if str(o.get(key, "")) == request.q(key)]
        return self.v2_page(request, rows)

    def h_order_get(self, request, store):
        order = store.orders.get(int(request.params["id"]))
        if not order:
            return self.v2_error(404, "The requested resource was not found.")
        return Response.json(order)

    def h_order_products(self, request, store):
        if int(request.params["id"]) not in store.orders:
            return self.v2_error(404, "The requested resource was not found.")
        return self.v2_page(request, store.order_products.get(int(request.params["id"]), []))

    def h_order_shipping(self, request, store):
        if int(request.params["id"]) not in store.orders:
            return self.v2_error(404, "The requested resource was not found.")
        return self.v2_page(request, store.order_shipping.get(int(request.params["id"]), []))

    def h_order_transactions(self, request, store):
        if int(request.params["id"]) not in store.orders:
            return self.v3_error(404, "The requested resource was not found.")
        return self.paginate(request, store.order_transactions.get(int(request.params["id"]), []))

    # The types the orders v2 reference gives the fields a placement sends (`order_Post`, `order_Shared`,
    # `orderCatalogProduct_Post`): ids, quantities and line prices are numbers; order-level amounts are
    # "Float, Float-As-String, Integer"; names and notes are strings. BigCommerce refuses another type with 400.
    ORDER_INTEGERS = ("customer_id", "status_id", "channel_id")
    ORDER_AMOUNTS = ("base_shipping_cost", "shipping_cost_ex_tax", "shipping_cost_inc_tax", "discount_amount",
                     "base_handling_cost", "handling_cost_ex_tax", "handling_cost_inc_tax")
    ORDER_STRINGS = ("staff_notes", "customer_message", "external_source", "external_order_id")
    LINE_INTEGERS = ("product_id", "variant_id", "quantity")
    LINE_NUMBERS = ("price_inc_tax", "price_ex_tax")

    @classmethod
    def order_post_type_error(cls, body: dict) -> str | None:
        def is_int(v):
            return isinstance(v, int) and not isinstance(v, bool)

        def is_number(v):
            return (is_int(v) or isinstance(v, float)) and v == v and v not in (float("inf"), float("-inf"))

        def is_amount(v):
            if isinstance(v, str):
                try:
                    return is_number(float(v))
                except ValueError:
                    return False
            return is_number(v)

        checks = [(cls.ORDER_INTEGERS, is_int), (cls.ORDER_AMOUNTS, is_amount),
                  (cls.ORDER_STRINGS, lambda v: isinstance(v, str))]
        for names, ok in checks:
            for name in names:
                if name in body and body[name] is not None and not ok(body[name]):
                    return f"The field '{name}' is invalid."
        if not isinstance(body.get("products") or [], list):
            return "The field 'products' is invalid."
        for line in body.get("products") or []:
            if not isinstance(line, dict):
                return "The field 'products' is invalid."
            for names, ok in ((cls.LINE_INTEGERS, is_int), (cls.LINE_NUMBERS, is_number)):
                for name in names:
                    if name in line and not ok(line[name]):
                        return f"The field '{name}' is invalid."
        return None

    def h_order_create(self, request, store):
        body = request.json() or {}
        type_error = self.order_post_type_error(body) if isinstance(body, dict) else "The request body is invalid."
        if type_error:
            return self.v2_error(400, type_error)
        if not body.get("billing_address") or not body.get("products"):
            return self.v2_error(400, "The field 'billing_address' and 'products' are required.")
        billing = body["billing_address"]
        for key in ("first_name", "street_1", "city", "zip", "country_iso2"):
            if not billing.get(key):
                return self.v2_error(400, f"The field '{key}' in billing_address is invalid.")
        lines = []
        for line in body["products"]:
            product = store.products.get(int(line.get("product_id", 0) or 0))
            if product is None:
                return self.v2_error(400, f"Product {line.get('product_id')} does not exist.")
            variant_id = line.get("variant_id") or product["base_variant_id"]
            if variant_id not in {v["id"] for v in product["variants"]}:
                return self.v2_error(400, f"Variant {variant_id} does not belong to product {product['id']}.")
            lines.append({"product_id": product["id"], "variant_id": variant_id, "quantity": int(line["quantity"]),
                          "price": float(line.get("price_inc_tax", line.get("price_ex_tax", product["price"]))),
                          "name": product["name"], "sku": next(v["sku"] for v in product["variants"]
                                                               if v["id"] == variant_id),
                          "product_options": [{"product_option_id": o["id"], "value": o["value"]}
                                              for o in line.get("product_options", [])]})
        shipping = (body.get("shipping_addresses") or [billing])[0]
        order = self.add_order(store.store_hash, customer_id=int(body.get("customer_id") or 0), products=lines,
                               billing_address=billing, shipping_address=shipping,
                               external_source=body.get("external_source", ""),
                               status_id=int(body.get("status_id", 1)))
        subtotal = sum(line["price"] * line["quantity"] for line in lines)
        shipping_cost = float(body.get("base_shipping_cost", body.get("shipping_cost_inc_tax", 0)) or 0)
        discount = float(body.get("discount_amount", 0) or 0)
        total = subtotal + shipping_cost - discount
        order.update({"status_id": int(body.get("status_id", 1)),
                      "status": "Incomplete" if int(body.get("status_id", 1)) == 0 else "Pending",
                      "base_shipping_cost": money(shipping_cost), "shipping_cost_inc_tax": money(shipping_cost),
                      "discount_amount": money(discount), "total_inc_tax": money(total),
                      "total_ex_tax": money(total), "staff_notes": body.get("staff_notes", ""),
                      "external_id": body.get("external_id"), "external_order_id": body.get("external_order_id"),
                      "customer_message": body.get("customer_message", ""), "order_source": "external",
                      "payment_status": ""})
        return Response.json(order, 200)

    def h_order_update(self, request, store):
        order = store.orders.get(int(request.params["id"]))
        if not order:
            return self.v2_error(404, "The requested resource was not found.")
        body = request.json() or {}
        order.update(body)
        if "status_id" in body:
            order["status"] = {0: "Incomplete", 5: "Cancelled", 6: "Declined", 11: "Awaiting Fulfillment",
                               12: "Manual Verification Required"}.get(int(body["status_id"]), "Updated")
        return Response.json(order)

    def h_customers(self, request, store):
        rows = sorted(store.customers.values(), key=lambda c: c["id"])
        if request.q("id:in"):
            wanted = {int(x) for x in request.q("id:in").split(",") if x}
            rows = [c for c in rows if c["id"] in wanted]
        if request.q("email:in"):
            wanted_emails = set(request.q("email:in").split(","))
            rows = [c for c in rows if c["email"] in wanted_emails]
        return self.paginate(request, rows)

    def h_instruments(self, request, store):
        cid = int(request.params["id"])
        if cid not in store.customers:
            return Response.json({"code": 404, "message": "Customer not found"}, 404)
        return Response.json(store.instruments.get(cid, []))

    def h_payment_methods(self, request, store):
        order = store.orders.get(int(request.q("order_id") or 0))
        if order is None:
            return self.v3_error(404, "Order not found")
        stored = [dict(i) for i in store.instruments.get(int(order["customer_id"]), [])]
        methods = store.payment_methods or [{
            "id": "stripe.card", "name": "Stripe", "test_mode": True, "type": "card",
            "supported_instruments": [{"instrument_type": "STORED_CARD", "verification_value_required": False}]}]
        data = []
        for method in methods:
            data.append({**method, "stored_instruments": [i for i in stored if i["type"] == "stored_card"]})
        return Response.json({"data": data, "meta": {}})

    def h_access_token(self, request, store):
        body = request.json() or {}
        order_id = int(((body.get("order") or {}).get("id")) or 0)
        order = store.orders.get(order_id)
        if order is None:
            return self.v3_error(404, "Order not found")
        if int(order["status_id"]) != 0:
            return self.v3_error(422, "Order must be Incomplete (status_id 0)", {"code": "30101"})
        now = int(time.time())
        pat = jwt.encode({"iss": "payments.bigcommerce.com", "sub": store.store_hash, "iat": now, "nbf": now,
                          "exp": now + 3600, "jti": str(uuid.uuid4()),
                          "data": {"store_id": str(store.store_id), "order_id": str(order_id),
                                   "is_recurring": bool((body.get("order") or {}).get("is_recurring"))}},
                         self.pat_secret, algorithm="HS256")
        store.payment_access_tokens[pat] = {"order_id": order_id, "used": False,
                                            "is_recurring": bool((body.get("order") or {}).get("is_recurring"))}
        return Response.json({"data": {"id": pat}, "meta": {}}, 201)

    def h_payment(self, request: Request) -> Response:
        store = self.stores.get(request.params["hash"])
        if store is None:
            return Response.json({"status": 404, "title": "Store not found"}, 404)
        if request.header("Accept") != "application/vnd.bc.v1+json":
            return Response.json({"status": 400, "title": "Accept must be application/vnd.bc.v1+json"}, 400)
        auth = request.header("Authorization") or ""
        if not auth.startswith("PAT "):
            return Response.json({"status": 401, "title": "Unauthorized"}, 401)
        grant = store.payment_access_tokens.get(auth[4:])
        if grant is None or grant["used"]:
            return Response.json({"status": 401, "title": "Payment access token invalid or used"}, 401)
        payment = (request.json() or {}).get("payment") or {}
        instrument = payment.get("instrument") or {}
        order = store.orders[grant["order_id"]]
        owned = {i["token"] for i in store.instruments.get(int(order["customer_id"]), [])}
        grant["used"] = True
        record = {"order_id": grant["order_id"], "payment": payment, "is_recurring": grant["is_recurring"]}
        if instrument.get("type") != "stored_card" or instrument.get("token") not in owned:
            record["result"] = "30051"
            store.payments.append(record)
            return Response.json({"status": 422, "title": "Stored instrument not found", "code": 30051,
                                  "errors": {}}, 422)
        outcome = store.payment_outcome
        codes = {"declined": (30106, "Insufficient funds"), "expired": (30103, "The card has expired"),
                 "do_not_retry": (30104, "Do not honor: the card cannot be charged again"),
                 "error": (10000, "Temporary failure, try again")}
        if outcome in codes:
            code, title = codes[outcome]
            record["result"] = str(code)
            store.payments.append(record)
            status = 500 if outcome == "error" else 422
            return Response.json({"status": status, "title": title, "code": code, "errors": {}}, status)
        record["result"] = "success"
        store.payments.append(record)
        order["status_id"] = 11
        order["status"] = "Awaiting Fulfillment"
        order["payment_status"] = "captured"
        return Response.json({"data": {"id": str(uuid.uuid4()), "status": "success",
                                       "transaction_type": "purchase"}}, 201)

    def h_coupons(self, request, store):
        rows = sorted(store.coupons.values(), key=lambda c: c["id"])
        if request.q("code"):
            rows = [c for c in rows if c["code"] == request.q("code")]
        if request.q("name"):
            rows = [c for c in rows if c["name"] == request.q("name")]
        return self.v2_page(request, rows)

    def h_coupon_delete(self, request, store):
        if store.coupons.pop(int(request.params["id"]), None) is None:
            return self.v2_error(404, "The requested resource was not found.")
        return Response(204, b"", {})


