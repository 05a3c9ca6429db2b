"""A fake BigCommerce storefront on loopback: one store's shop as a shopper's browser sees it.

It renders Cornerstone-like pages (pages.py) and the Optimized One-Page Checkout (checkout.py), keeps a session per
browser (an HttpOnly `SHOP_SESSION_TOKEN` cookie: who is logged in, the cart), serves `/customer/current.jwt` signed
as BigCommerce signs it (the fake BigCommerce's customer JWT: HS256 with the app's client secret, 15 minutes) and
the Storefront Cart API, and injects the scripts the app registered through the fake BigCommerce's Scripts API
where BigCommerce would: `location` head or footer, `visibility` storefront pages, checkout or both
(`all_pages`), not when disabled, and not `unknown`-consent scripts on a store with a cookie-consent banner.
Customers, stored cards, products, scripts and web pages are the fake BigCommerce's own records.
"""

from __future__ import annotations

import secrets
from html import escape
from urllib.parse import parse_qs, quote

from tests.fakes.base import FakeServer, Request, Response
from tests.fakes.storefront import pages
from tests.fakes.storefront.checkout import checkout_page

SESSION_COOKIE = "SHOP_SESSION_TOKEN"
DEFAULT_PASSWORD = "password"
PLACEMENT_VISIBILITY = {"storefront": ("storefront", "all_pages"), "checkout": ("checkout", "all_pages")}


class FakeStorefront(FakeServer):
    name = "fake-storefront"

    def __init__(self, fake_bc, store_hash: str, client_id: str, **kwargs):
        self.fake_bc = fake_bc
        self.store_hash = store_hash
        self.client_id = client_id
        self.sessions: dict[str, dict] = {}
        self.passwords: dict[int, str] = {}  # customer id → password (DEFAULT_PASSWORD otherwise)
        super().__init__(**kwargs)

    @property
    def store(self):
        return self.fake_bc.add_store(self.store_hash)

    def reset(self) -> None:
        with self.lock:
            self.sessions.clear()
            self.passwords.clear()
        self.clear_requests()

    # --- Routes ---------------------------------------------------------------------------------------------
    def register_routes(self) -> None:
        self.route("GET", r"/customer/current\.jwt", self.h_current_jwt)
        self.route("GET", r"/api/storefront/carts?", self.h_carts)
        self.route("GET", r"/login\.php", self.h_login_page)
        self.route("POST", r"/login\.php", self.h_login)
        self.route("GET", r"/account\.php", self.h_account)
        self.route("POST", r"/account\.php", self.h_account_post)
        self.route("GET", r"/cart\.php", self.h_cart)
        self.route("GET", r"/checkout", self.h_checkout)
        self.route("GET", r"/", self.h_home)
        self.route("GET", r"/.*", self.h_web_page)

    # --- Sessions -----------------------------------------------------------------------------------------
    def _session(self, request: Request) -> tuple[str, dict, bool]:
        """(token, session, new?) — one per request: a browser without the cookie gets one new session."""
        known = getattr(request, "storefront_session", None)
        if known:
            return known
        known = self._find_or_create_session(request)
        request.storefront_session = known
        return known

    def _find_or_create_session(self, request: Request) -> tuple[str, dict, bool]:
        cookies = request.header("Cookie") or ""
        for part in cookies.split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE and value in self.sessions:
                return value, self.sessions[value], False
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.sessions[token] = {"customer_id": None, "cart": []}
        return token, self.sessions[token], True

    def _customer(self, session: dict) -> dict | None:
        cid = session.get("customer_id")
        return self.store.customers.get(cid) if cid else None

    def _reply(self, request: Request, response: Response) -> Response:
        token, _session, new = self._session(request)
        if new:
            response.headers["Set-Cookie"] = f"{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"
        return response

    def _html(self, request: Request, title: str, body: str, *, status: int = 200) -> Response:
        _token, session, _new = self._session(request)
        html = pages.layout(title, body, customer=self._customer(session))
        return self._reply(request, Response.text(self.inject(html, "storefront"), status, "text/html; charset=utf-8"))

    def _redirect(self, request: Request, location: str) -> Response:
        return self._reply(request, Response(302, b"", {"Location": location}))

    # --- Scripts API injection -------------------------------------------------------------------------------
    def scripts_for(self, placement: str) -> list[dict]:
        store = self.store
        return [s for s in store.scripts.values()
                if s.get("enabled", True) and s.get("visibility") in PLACEMENT_VISIBILITY[placement]
                and not (store.cookie_consent and s.get("consent_category", "unknown") == "unknown")]

    @staticmethod
    def script_markup(script: dict) -> str:
        if script.get("kind") == "script_tag":
            return script.get("html") or ""
        method = {"async": " async", "defer": " defer"}.get(script.get("load_method", "default"), "")
        return f'<script src="{escape(script.get("src") or "")}"{method}></script>'

    def inject(self, html: str, placement: str) -> str:
        scripts = self.scripts_for(placement)
        head = "".join(self.script_markup(s) for s in scripts if s.get("location") == "head")
        footer = "".join(self.script_markup(s) for s in scripts if s.get("location") != "head")
        return html.replace("</head>", head + "</head>", 1).replace("</body>", footer + "</body>", 1)

    # --- Handlers -----------------------------------------------------------------------------------------
    def h_current_jwt(self, request: Request) -> Response:
        _token, session, _new = self._session(request)
        customer = self._customer(session)
        if request.q("app_client_id") != self.client_id or customer is None:
            return self._reply(request, Response.json({"status": 404, "title": "Not Found"}, 404))
        token = self.fake_bc.customer_jwt(self.store_hash, customer["id"], email=customer["email"])
        return self._reply(request, Response.text(token))

    def h_carts(self, request: Request) -> Response:
        _token, session, _new = self._session(request)
        if not session["cart"]:
            return self._reply(request, Response.json([]))
        items = [{"id": f"line-{i}", "productId": item["product_id"], "variantId": item["variant_id"],
                  "name": item["name"], "quantity": item["quantity"], "options": item["options"]}
                 for i, item in enumerate(session["cart"])]
        cart = {"id": "cart-" + _token[:8], "customerId": session["customer_id"] or 0,
                "lineItems": {"physicalItems": items, "digitalItems": [], "giftCertificates": [],
                              "customItems": []}}
        return self._reply(request, Response.json([cart]))

    def h_home(self, request: Request) -> Response:
        return self._html(request, "Home", pages.home(list(self.store.products.values())))

    def h_login_page(self, request: Request) -> Response:
        if request.q("action") == "logout":
            _token, session, _new = self._session(request)
            session["customer_id"] = None
            return self._redirect(request, "/")
        return self._html(request, "Sign in", pages.login(from_path=request.q("from", "") or ""))

    def h_login(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.text).items()}
        email = form.get("login_email", "").strip().lower()
        customer = next((c for c in self.store.customers.values() if c["email"].lower() == email), None)
        if customer is None or form.get("login_pass") != self.passwords.get(customer["id"], DEFAULT_PASSWORD):
            return self._html(request, "Sign in", pages.login(error="Your email address or password is incorrect.",
                                                              from_path=form.get("from", "")))
        _token, session, _new = self._session(request)
        session["customer_id"] = customer["id"]
        back = form.get("from", "")
        # BigCommerce returns to a page of the same store only.
        return self._redirect(request, back if back.startswith("/") and not back.startswith("//") else "/account.php")

    def h_account(self, request: Request) -> Response:
        _token, session, _new = self._session(request)
        if self._customer(session) is None:
            return self._redirect(request, "/login.php?from=" + quote("/account.php", safe=""))
        if request.q("action") == "payment_methods":
            cards = self.store.instruments.get(session["customer_id"], [])
            return self._html(request, "Payment Methods", pages.payment_methods(cards))
        return self._html(request, "Orders", pages.account_orders())

    def h_account_post(self, request: Request) -> Response:
        _token, session, _new = self._session(request)
        if self._customer(session) is None or request.q("action") != "delete_payment_method":
            return self._redirect(request, "/login.php")
        token = (parse_qs(request.text).get("token") or [""])[0]
        with self.fake_bc.lock:
            cards = self.store.instruments.get(session["customer_id"], [])
            cards[:] = [card for card in cards if card["token"] != token]
        return self._redirect(request, "/account.php?action=payment_methods")

    def h_cart(self, request: Request) -> Response:
        _token, session, _new = self._session(request)
        if request.q("action") == "add":
            product = self.store.products.get(int(request.q("product_id") or 0))
            if product is None:
                return self._html(request, "Cart", "<p>No such product.</p>", status=404)
            options = []
            for modifier in product.get("modifiers") or []:
                chosen = request.q(f"attribute[{modifier['id']}]")
                value = next((v for v in modifier["option_values"] if str(v["id"]) == chosen), None)
                value = value or next((v for v in modifier["option_values"] if v.get("is_default")), None)
                if value:
                    options.append({"name": modifier["display_name"], "nameId": modifier["id"],
                                    "value": value["label"], "valueId": value["id"]})
            session["cart"].append({"product_id": product["id"], "variant_id": product["base_variant_id"],
                                    "name": product["name"], "quantity": 1, "options": options})
            return self._redirect(request, "/cart.php")
        if request.q("action") == "empty":
            session["cart"] = []
            return self._redirect(request, "/cart.php")
        return self._html(request, "Cart", pages.cart(session["cart"]))

    def h_checkout(self, request: Request) -> Response:
        _token, session, _new = self._session(request)
        if not session["cart"]:
            return self._redirect(request, "/cart.php")
        customer = self._customer(session)
        has_cards = bool(customer and self.store.instruments.get(customer["id"]))
        html = checkout_page(customer=customer, has_instruments=has_cards, cart_items=len(session["cart"]))
        return self._reply(request, Response.text(self.inject(html, "checkout"), 200, "text/html; charset=utf-8"))

    def h_web_page(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        page = next((p for p in self.store.pages.values()
                     if p.get("type") in ("page", "raw") and (p.get("url") or "").rstrip("/") == path), None)
        if page is None:
            return self._html(request, "Not found", "<h1 class=\"page-heading\">404 Page Not Found</h1>", status=404)
        return self._html(request, page["name"], pages.web_page(page))
