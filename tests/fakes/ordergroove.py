"""A fake Ordergroove on loopback (tests and sandbox mode).

One server plays the three Ordergroove hosts under path prefixes, so a test can tell which base URL a call used:

    {url}/rest    restapi.ordergroove.com  (customers, subscriptions, set_contact_details)
    {url}/legacy  api.ordergroove.com      (customer/update_payment_default)
    {url}/sc      sc.ordergroove.com       (subscription/create, subscription/{id}/response)

``fake.settings_values()`` gives the OrdergrooveSettings URL fields pointing here; ``fake.configure(og_settings)``
also registers the merchant and saves the row.

It authenticates the way Ordergroove documents (ordergroove.md §2): the customer-scope JSON ``authorization``
header (public id known, ts within 2 h, base64 HMAC-SHA256 over ``sig_field|ts`` with the merchant's hash key, and
the signed customer is the one the request is about) or ``x-api-key``; the legacy payment update carries ts/sig
in its body. It decodes ``create_request=`` / ``update_request=`` bodies (``decode_create_request``,
``decode_update_request`` are exported for tests), answers the documented shapes, keeps per-merchant state, and
can be told to fail through ``FakeServer.fail`` (5xx, delays longer than the client's timeout, 409, 429).

Rate limit (R-RATE: 6,000 requests per IP per minute, 429 beyond): off by default; ``rate_limit_per_minute = N``
admits at most N requests in any sliding 60 s window (``rate_window_seconds``: tests shrink it to compress time;
every route counts, the fake having one caller, so "per IP" is the whole traffic) and answers the others 429 with
``Retry-After`` = seconds until the oldest admitted request leaves the window. Every request's arrival time is kept
(``request_times()``) so a bench can compute the most requests seen in any 60 s window (``max_in_window``);
``rate_limited`` counts the 429s answered.

Our choices where Ordergroove documents nothing (flagged so nobody mistakes them for vendor facts):
non-ASCII in a purchase post → 400 ``{"error_message": "Non-ASCII characters are not supported"}``; payment-update
errors answer HTTP 200 with the error text (the legacy API's success is the body ``SUCCESS``, not the status);
a payment update with a bad signature answers ``Authentication failed``; refused requests do not count towards the
rate limit, and the 429 carries ``Retry-After`` (Ordergroove documents no header: "safe to retry at any point").
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from ordergroove import crypto, signatures
from tests.fakes.base import FakeServer, Request, Response
from tests.fakes.ordergroove_msi import register_msi_routes

AUTH_FAILED = {"detail": "Authentication Failed"}
NOT_FOUND = {"detail": "Unable to find requested asset."}
EXP_DATE = re.compile(r"^(0[1-9]|1[0-2])/\d{4}$")


def decode_create_request(body: bytes | str) -> dict:
    """`create_request=` + encodeURIComponent(JSON) → the JSON object (DECISIONS §3.3)."""
    text = body.decode("ascii") if isinstance(body, bytes) else body
    if not text.startswith("create_request="):
        raise ValueError("body does not start with create_request=")
    return json.loads(unquote(text[len("create_request="):]))


def _unquote_strings(value: Any) -> Any:
    if isinstance(value, str):
        return unquote(value)
    if isinstance(value, dict):
        return {k: _unquote_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unquote_strings(v) for v in value]
    return value


def decode_update_request(body: bytes | str) -> dict:
    """`update_request=<JSON with each string URL-encoded>` → the JSON object with plain strings (seed 000)."""
    text = body.decode("ascii") if isinstance(body, bytes) else body
    if not text.startswith("update_request="):
        raise ValueError("body does not start with update_request=")
    return _unquote_strings(json.loads(text[len("update_request="):]))


RATE_WINDOW_SECONDS = 60.0


def max_in_window(times: list[float], window: float = RATE_WINDOW_SECONDS) -> int:
    """The most of `times` (seconds) that fall in any half-open window [t, t + window)."""
    ordered = sorted(times)
    return max((bisect.bisect_left(ordered, t + window) - i for i, t in enumerate(ordered)), default=0)


@dataclass
class FakeMerchant:
    public_id: str
    hash_key: str
    api_keys: list[str] = field(default_factory=list)
    customers: dict[str, dict] = field(default_factory=dict)
    subscriptions: list[dict] = field(default_factory=list)
    purchase_posts: dict[str, dict] = field(default_factory=dict)  # merchant_order_id -> decoded request
    payments: dict[str, dict] = field(default_factory=dict)  # merchant_user_id -> last default payment (decrypted)


@dataclass
class SubsRequest:
    subs_req_id: str
    public_id: str
    merchant_order_id: str
    result: dict
    pending_polls: int


class FakeOrdergroove(FakeServer):
    name = "fake-ordergroove"

    def __init__(self, **kwargs):
        self.merchants: dict[str, FakeMerchant] = {}
        self.subs_requests: dict[str, SubsRequest] = {}
        self.status_pending_polls = 1  # purchase-post status answers 202 this many times, then 200
        self._ids = itertools.count(1000)
        self._state_lock = threading.RLock()
        self.rate_limit_per_minute: int | None = None
        self.rate_window_seconds = RATE_WINDOW_SECONDS  # tests shrink it to compress time; benches keep 60 s
        self.rate_limited = 0
        self._admitted: deque[float] = deque()  # arrival times of the requests admitted in the last 60 s
        super().__init__(**kwargs)

    # --- Setup -------------------------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._state_lock:
            self.merchants.clear()
            self.subs_requests.clear()
            self.status_pending_polls = 1
            self.rate_limit_per_minute = None
            self.rate_window_seconds = RATE_WINDOW_SECONDS
            self.rate_limited = 0
            self._admitted.clear()
        self.clear_requests()

    # --- Rate limit (R-RATE) -------------------------------------------------------------------------------------
    def request_times(self) -> list[float]:
        with self.lock:
            return [r.received_at for r in self.requests]

    def _route(self, request: Request) -> Response:
        limit = self.rate_limit_per_minute
        if limit:
            with self._state_lock:
                now = request.received_at
                window = self.rate_window_seconds
                while self._admitted and self._admitted[0] <= now - window:
                    self._admitted.popleft()
                if len(self._admitted) >= limit:
                    self.rate_limited += 1
                    reset = self._admitted[0] + window - now
                    return Response.json({"detail": "Request was throttled."}, 429,
                                         {"Retry-After": str(max(1, math.ceil(reset)))})
                self._admitted.append(now)
        return super()._route(request)

    def add_merchant(self, public_id: str = "ogmerchant1", hash_key: str = "Mt!ZQ45q&GHsgiRD8{NB-_h87#rjvbn0",
                     api_key: str | None = "og-app-key-0123456789abcdef") -> FakeMerchant:
        with self._state_lock:
            merchant = self.merchants.get(public_id)
            if merchant is None:
                merchant = FakeMerchant(public_id=public_id, hash_key=hash_key)
                self.merchants[public_id] = merchant
            merchant.hash_key = hash_key
            if api_key and api_key not in merchant.api_keys:
                merchant.api_keys.append(api_key)
            return merchant

    def add_customer(self, public_id: str, merchant_user_id: str | int, *, email: str = "shopper@example.com",
                     live: bool = True, **extra) -> dict:
        merchant = self.merchants[public_id]
        key = str(merchant_user_id)
        with self._state_lock:
            customer = merchant.customers.get(key) or {
                "merchant": public_id, "merchant_user_id": key, "email": email, "first_name": "", "last_name": "",
                "phone_number": None, "live": live, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
                "extra_data": {},
            }
            customer.update(extra)
            merchant.customers[key] = customer
            return customer

    def add_subscription(self, public_id: str, merchant_user_id: str | int, *, product: str = "111_222",
                         live: bool = True, **extra) -> dict:
        merchant = self.merchants[public_id]
        self.add_customer(public_id, merchant_user_id) if str(merchant_user_id) not in merchant.customers else None
        subscription = {"public_id": secrets.token_hex(16), "customer": str(merchant_user_id), "merchant": public_id,
                        "product": product, "live": live, "quantity": 1, "every": 1, "every_period": 3, **extra}
        with self._state_lock:
            merchant.subscriptions.append(subscription)
        return subscription

    def settings_values(self) -> dict[str, str]:
        return {"api_url": f"{self.url}/rest", "legacy_api_url": f"{self.url}/legacy",
                "subscription_api_url": f"{self.url}/sc/subscription/create", "static_domain": self.url}

    def configure(self, og_settings, *, merchant_id: str = "ogmerchant1",
                  hash_key: str = "Mt!ZQ45q&GHsgiRD8{NB-_h87#rjvbn0",
                  api_key: str | None = "og-app-key-0123456789abcdef"):
        """Point an OrdergrooveSettings row at this fake, register its merchant here, save the row."""
        self.add_merchant(merchant_id, hash_key, api_key)
        og_settings.merchant_id = merchant_id
        og_settings.hash_key = hash_key
        og_settings.api_key = api_key or ""
        for name, value in self.settings_values().items():
            setattr(og_settings, name, value)
        og_settings.save()
        return og_settings

    # --- Routes ------------------------------------------------------------------------------------------------
    def register_routes(self) -> None:
        self.route("POST", r"/sc/subscription/create/?", self.h_purchase_post)
        self.route("GET", r"/sc/subscription/(?P<subs_req_id>[^/]+)/response/?", self.h_purchase_post_status)
        self.route("PATCH", r"/rest/customers/(?P<user_id>[^/]+)/set_contact_details/?", self.h_set_contact)
        self.route("GET", r"/rest/customers/(?P<user_id>[^/]+)/", self.h_customer)
        self.route("GET", r"/rest/subscriptions/", self.h_subscriptions)
        self.route("POST", r"/legacy/customer/update_payment_default/?", self.h_update_payment_default)
        register_msi_routes(self)  # the static domain's Subscription Manager stub

    # --- Authentication ---------------------------------------------------------------------------------------
    def _authenticate(self, request: Request, *, customer: str | None = None,
                      allow_api_key: bool = True) -> tuple[FakeMerchant | None, str | None, str]:
        """(merchant, signed customer id or None for x-api-key, scope) — merchant None means refused."""
        api_key = request.header("x-api-key")
        if api_key and allow_api_key:
            for merchant in self.merchants.values():
                if api_key in merchant.api_keys:
                    return merchant, None, "application"
            return None, None, "application"
        raw = request.header("authorization")
        try:
            auth = signatures.authorization_header_parse(raw)
        except signatures.SignatureError:
            return None, None, "customer"
        merchant = self.merchants.get(auth.public_id)
        if merchant is None:
            return None, None, "customer"
        try:
            signatures.authorization_header_verify(raw, merchant.hash_key, expected_sig_field=customer)
        except signatures.SignatureError:
            return None, None, "customer"
        return merchant, auth.sig_field, "customer"

    # --- Purchase post (sc host) --------------------------------------------------------------------------------
    def h_purchase_post(self, request: Request) -> Response:
        merchant, signed_customer, _scope = self._authenticate(request)
        if merchant is None:
            return Response.json({"error": "Authentication failed."}, 401)
        if not request.body.isascii() or not unquote(request.body.decode("ascii")).isascii():
            return Response.json({"error_message": "Non-ASCII characters are not supported"}, 400)
        try:
            data = decode_create_request(request.body)
        except (ValueError, UnicodeDecodeError):
            return Response.json({"error": "Invalid request"}, 400)
        if not isinstance(data.get("merchant_id"), str):
            return Response.json({"error": "Merchant ID must be a string"}, 400)
        if data["merchant_id"] != merchant.public_id:
            return Response.json({"error": f"Invalid Merchant {data['merchant_id']}"}, 400)
        order_id = data.get("merchant_order_id")
        if order_id in (None, ""):
            return Response.json({"error_message": "Merchant order id cannot be null"}, 400)
        if data.get("og_cart_tracking", True) is not False:
            if data.get("session_id") in (None, ""):
                return Response.json({"error_message": "Session id cannot be null"}, 400)
            if not isinstance(data["session_id"], str):
                return Response.json({"error_message": "Session ID must be a string"}, 400)
        user = data.get("user") or {}
        user_id = str(user.get("user_id") or "")
        if not user_id:
            return Response.json({"errors": {"user_id": "User ID is a required field."}}, 400)
        if signed_customer is not None and signed_customer != user_id:
            return Response.json({"error": "Authentication failed."}, 403)
        products = data.get("products") or []
        subscribing = [p for p in products if p.get("tracking_override") or
                       (p.get("subscription_info") or {}).get("tracking_override")]
        payment = data.get("payment")
        if subscribing and not payment:
            return Response.json({"error_message": "Missing payment data to create record"}, 400)
        if payment and payment.get("cc_exp_date") not in (None, ""):
            try:
                exp = crypto.aes_decrypt(payment["cc_exp_date"], merchant.hash_key)
            except crypto.OrdergrooveCryptoError:
                exp = ""
            if not EXP_DATE.match(exp):
                return Response.json({"error_message": "Expiration date is not valid, received: "}, 400)
        with self._state_lock:
            if str(order_id) in merchant.purchase_posts:
                return Response.json({"error": "A request with the given merchant_order_id was already received "
                                               "and processed."}, 409)
            merchant.purchase_posts[str(order_id)] = data
            if user_id not in merchant.customers:
                self.add_customer(merchant.public_id, user_id, email=unquote(str(user.get("email") or "")),
                                  first_name=user.get("first_name", ""), last_name=user.get("last_name", ""))
            created = []
            for product in subscribing:
                override = product.get("tracking_override") or product["subscription_info"]["tracking_override"]
                sub = self.add_subscription(merchant.public_id, user_id, product=str(product.get("product")),
                                            every=override.get("every"), every_period=override.get("every_period"),
                                            offer=override.get("offer"), merchant_order_id=str(order_id),
                                            quantity=(product.get("subscription_info") or {}).get("quantity", 1))
                created.append({str(product.get("product")): sub["public_id"]})
            subs_req_id = secrets.token_hex(12)
            self.subs_requests[subs_req_id] = SubsRequest(
                subs_req_id=subs_req_id, public_id=merchant.public_id, merchant_order_id=str(order_id),
                pending_polls=self.status_pending_polls,
                result={"customer": user_id, "payment": secrets.token_hex(16) if payment else None,
                        "shipping_address": secrets.token_hex(16), "subscriptions": created, "errors": {}})
        return Response.json({"result": "Subscription request received", "subs_req_id": subs_req_id}, 201)

    def h_purchase_post_status(self, request: Request) -> Response:
        merchant, _customer, _scope = self._authenticate(request)
        if merchant is None:
            return Response.json(AUTH_FAILED, 403)
        with self._state_lock:
            entry = self.subs_requests.get(request.params["subs_req_id"])
            if entry is None or entry.public_id != merchant.public_id:
                return Response.json({"detail": "Not found."}, 404)
            if entry.pending_polls > 0:
                entry.pending_polls -= 1
                return Response(202, b"", {})
            return Response.json(entry.result, 200)

    # --- REST host ----------------------------------------------------------------------------------------------
    def h_set_contact(self, request: Request) -> Response:
        user_id = unquote(request.params["user_id"])
        merchant, _customer, _scope = self._authenticate(request, customer=user_id)
        if merchant is None:
            return Response.json(AUTH_FAILED, 403)
        try:
            body = request.json()
        except ValueError:
            return Response.json({"non_field_errors": "Invalid JSON"}, 400)
        errors = {}
        if body.get("merchant") != merchant.public_id:
            errors["merchant"] = "merchant field error detail"
        if str(body.get("merchant_user_id")) != user_id:
            errors["merchant_user_id"] = "merchant_user_id field error detail"
        email = body.get("email")
        if not isinstance(email, str) or not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
            errors["email"] = "Enter a valid email address."
        if errors:
            return Response.json(errors, 400)
        with self._state_lock:
            customer = merchant.customers.get(user_id)
            if customer is None:
                return Response.json(NOT_FOUND, 404)
            customer["email"] = email
            if "phone_number" in body:
                customer["phone_number"] = body["phone_number"]
            return Response.json({"phone_number": customer.get("phone_number"), "email": customer["email"]})

    def h_customer(self, request: Request) -> Response:
        user_id = unquote(request.params["user_id"])
        merchant, _customer, _scope = self._authenticate(request, customer=user_id)
        if merchant is None:
            return Response.json(AUTH_FAILED, 403)
        customer = merchant.customers.get(user_id)
        if customer is None:
            return Response.json(NOT_FOUND, 404)
        return Response.json(customer)

    def h_subscriptions(self, request: Request) -> Response:
        merchant, signed_customer, scope = self._authenticate(request)
        if merchant is None:
            return Response.json(AUTH_FAILED, 403)
        customer = signed_customer if scope == "customer" else request.q("customer")
        if customer is None:
            return Response.json({"detail": "You do not have permission to perform this action."}, 403)
        rows = [s for s in merchant.subscriptions if s["customer"] == customer]
        live = request.q("live")
        if live is not None:
            wanted = live.lower() in ("true", "1")
            rows = [s for s in rows if bool(s["live"]) == wanted]
        page_size = min(int(request.q("page_size") or 10), 100)
        return Response.json({"count": len(rows), "next": None, "previous": None, "results": rows[:page_size]})

    # --- Legacy host ------------------------------------------------------------------------------------------
    def h_update_payment_default(self, request: Request) -> Response:
        try:
            data = decode_update_request(request.body)
        except (ValueError, UnicodeDecodeError):
            return Response.text("Invalid Request", 200, "text/html")
        merchant = self.merchants.get(str(data.get("merchant_id")))
        if merchant is None:
            return Response.text("Invalid Merchant", 200, "text/html")
        user = data.get("user") or {}
        user_id = str(user.get("user_id") or "")
        if not signatures.signature_verify(user_id, user.get("ts") or "", str(user.get("sig") or ""),
                                           merchant.hash_key):
            return Response.text("Authentication failed", 200, "text/html")
        if user_id not in merchant.customers:
            return Response.text("Customer does not exist", 200, "text/html")
        payment = dict(data.get("payment") or {})
        for name in ("cc_exp_date", "cc_last_4", "cc_holder"):
            if payment.get(name):
                try:
                    payment[name] = crypto.aes_decrypt(payment[name], merchant.hash_key)
                except crypto.OrdergrooveCryptoError:
                    return Response.text(f"Could not decode {name}", 200, "text/html")
        if payment.get("cc_exp_date") and not EXP_DATE.match(payment["cc_exp_date"]):
            return Response.text("Could not decode cc_exp_date", 200, "text/html")
        with self._state_lock:
            merchant.payments[user_id] = payment
        return Response.text("SUCCESS", 200, "text/html")
