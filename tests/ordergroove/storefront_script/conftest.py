"""A shop in headless Chromium: the real service (WSGI over loopback), the fake BigCommerce with its fake
storefront, and the fake Ordergroove. The storefront script reaches the pages only because the service installed
it through the fake Scripts API when the merchant opened the app; no test injects it."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

from ordergroove.storefront.selectors import storefront_caches_clear
from tests.fakes.storefront import FakeStorefront
from tests.ordergroove.conftest import OG_MERCHANT_ID

CHROMIUM = "/usr/bin/chromium"
STORE = "abc123"
SUBSCRIBER = {"id": 4927, "email": "subscriber@example.com"}
NON_SUBSCRIBER = {"id": 4928, "email": "newbie@example.com"}


class ServiceUrl(str):
    """The service's base URL, holding its server so a test can take the service down."""

    server: ThreadedWSGIServer


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def live_service(settings, fake_bc):
    """The service on an ephemeral loopback port; APP_URL names it (the registered script tag points here)."""
    settings.STOREFRONT_CACHE_NAMESPACE = f"sfscript-{uuid.uuid4().hex}"
    storefront_caches_clear()
    server = ThreadedWSGIServer(("127.0.0.1", 0), _Quiet, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = ServiceUrl(f"http://127.0.0.1:{server.server_address[1]}")
    url.server = server
    settings.APP_URL = url
    fake_bc.redirect_uri = f"{url}/bigcommerce/auth"
    yield url
    server.shutdown()
    server.server_close()
    storefront_caches_clear()


@pytest.fixture
def shop(fake_bc, live_service, fake_og, install_store, client, settings):
    """The store installed, its Ordergroove settings saved, its catalog and shoppers seeded, and the app opened
    once by the merchant (the load that installs the script)."""
    storefront = FakeStorefront(fake_bc, STORE, settings.BIGCOMMERCE_CLIENT_ID).start()
    fake_store = fake_bc.add_store(STORE)
    fake_store.info["secure_url"] = storefront.url
    fake_store.sites[1] = {"id": 1, "channel_id": 1, "url": storefront.url,
                           "urls": [{"url": storefront.url, "type": "primary"}]}
    store = install_store(STORE)
    from ordergroove.models import OrdergrooveSettings

    fake_og.configure(OrdergrooveSettings.objects.get(store=store), merchant_id=OG_MERCHANT_ID)
    subscription = {"name": "Subscription", "option_values": [
        {"label": "One-time purchase", "is_default": True}, {"label": "Every 1 month"}]}
    storefront.dog_food = fake_bc.add_product(STORE, name="Dog Food", price=20.0, modifiers=[subscription])
    storefront.leash = fake_bc.add_product(STORE, name="Leash", price=15.0)
    for shopper in (SUBSCRIBER, NON_SUBSCRIBER):
        fake_bc.add_customer(STORE, customer_id=shopper["id"], email=shopper["email"])
        fake_bc.add_instrument(STORE, shopper["id"], last_4="1111")
    fake_og.add_subscription(OG_MERCHANT_ID, SUBSCRIBER["id"], live=True)
    assert client.get("/bigcommerce/load", {"signed_payload_jwt": fake_bc.signed_payload_jwt(STORE)}).status_code == 302
    storefront.store_row = store
    yield storefront
    storefront.stop()


@pytest.fixture(scope="module")
def chromium():
    """One browser per test module (its event loop must end before other modules start their own).
    Playwright's sync API keeps an event loop running on this thread, which Django takes for an async
    context; the tests' database calls are plain synchronous ones, so allow them."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


class Shopper:
    """One browser profile (its own cookies) on the fake storefront, recording calls to the service."""

    def __init__(self, browser, shop, service_url: str):
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.shop, self.service_url = shop, service_url
        self.service_requests: list[str] = []
        self.console: list[str] = []
        self.page.on("request", self._record)
        self.page.on("console", lambda message: self.console.append(message.text))

    def _record(self, request) -> None:
        if request.url.startswith(self.service_url) and "/storefront/" not in request.url:
            self.service_requests.append(f"{request.method} {request.url[len(self.service_url):]}")

    def visit(self, path: str) -> None:
        self.page.goto(self.shop.url + path)
        self.settle()

    def settle(self) -> None:
        self.page.wait_for_function("window.__ogStorefrontLoaded === true", timeout=15_000)
        self.page.wait_for_load_state("networkidle")

    def log_in(self, email: str) -> None:
        if "/login.php" not in self.page.url:
            self.page.goto(self.shop.url + "/login.php")
        self.page.fill("#login_email", email)
        self.page.fill("#login_pass", "password")
        with self.page.expect_navigation():
            self.page.click("input[type=submit]")
        self.settle()

    def cookie(self, name: str = "og_auth") -> dict | None:
        return {c["name"]: c for c in self.context.cookies(self.shop.url)}.get(name)

    def signature_calls(self) -> list[str]:
        return [r for r in self.service_requests if r.startswith("GET /api/v1/merchant/ordergroove/signature")]


@pytest.fixture
def shopper(chromium, shop, live_service):
    opened: list[Shopper] = []

    def _open() -> Shopper:
        opened.append(Shopper(chromium, shop, live_service))
        return opened[-1]

    yield _open
    for one in opened:
        one.context.close()
