"""Seed 002's theme JavaScript, unchanged, in headless Chromium against the real service.

A fake storefront (its own HTTPS origin) serves the og-auth partial with its ``{{theme_settings.*}}`` filled in and
``/customer/current.jwt`` (a customer token from the fake BigCommerce); the service runs over HTTPS on another
port (both with a throwaway self-signed certificate made here, Chromium told to ignore certificate errors) because
the theme calls ``'https://' + middlewareUrl`` and sets the ``og_auth`` cookie ``secure``.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings as django_settings
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

from ordergroove import signatures
from ordergroove.storefront.selectors import storefront_caches_clear
from tests.ordergroove.conftest import OG_HASH_KEY, OG_MERCHANT_ID

ASSETS = Path(__file__).resolve().parent.parent / "storefront"
CHROMIUM = "/usr/bin/chromium"
CUSTOMER_ID = 4927

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not shutil.which("chromium"),
                       reason="Debian chromium is not installed (.ci/run installs it)"),
]


def self_signed_context(tmp_path: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


class _QuietWSGIRequestHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def serve_https(server, context: ssl.SSLContext) -> threading.Thread:
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


class FakeStorefront:
    """The shopper's side: the theme page and BigCommerce's /customer/current.jwt for the signed-in customer."""

    def __init__(self, fake_bc, store_hash: str, client_id: str):
        self.fake_bc, self.store_hash, self.client_id = fake_bc, store_hash, client_id
        self.customer_id: int | None = CUSTOMER_ID
        self.middleware_host = ""
        self.jwt_requests: list[str] = []
        storefront = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                if parts.path == "/customer/current.jwt":
                    storefront.jwt_requests.append(self.path)
                    app = parse_qs(parts.query).get("app_client_id", [""])[0]
                    if storefront.customer_id is None or app != storefront.client_id:
                        return self._send(404, b"Not logged in", "text/plain")
                    token = storefront.fake_bc.customer_jwt(storefront.store_hash, storefront.customer_id)
                    return self._send(200, token.encode(), "text/plain")
                if parts.path in ("/", "/account.php"):
                    return self._send(200, storefront.render().encode(), "text/html; charset=utf-8")
                return self._send(404, b"", "text/plain")

            def _send(self, status: int, body: bytes, content_type: str):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def render(self) -> str:
        """What Stencil would render: partials included, theme settings filled in."""
        page = (ASSETS / "account.html").read_text()
        page = page.replace("{{> components/common/og-auth}}", (ASSETS / "og-auth.html").read_text())
        page = page.replace("{{> check-subscription}}", (ASSETS / "check-subscription.js").read_text())
        page = page.replace("{{theme_settings.api_middleware_url}}", self.middleware_host)
        return page.replace("{{theme_settings.devtools_client_id}}", self.client_id)


@pytest.fixture
def https_context(tmp_path):
    return self_signed_context(tmp_path)


@pytest.fixture
def storefront(fake_bc, https_context):
    shop = FakeStorefront(fake_bc, "abc123", django_settings.BIGCOMMERCE_CLIENT_ID)
    serve_https(shop.server, https_context)
    # The store's channel site is this storefront, so the service's CORS allow-list (refreshed on install) has it.
    fake_store = fake_bc.add_store("abc123")
    fake_store.info["secure_url"] = shop.origin
    fake_store.sites[1] = {"id": 1, "channel_id": 1, "url": shop.origin, "urls": [{"url": shop.origin,
                                                                                     "type": "primary"}]}
    yield shop
    shop.server.shutdown()
    shop.server.server_close()


@pytest.fixture
def service(https_context, settings):
    """The real Django application (WSGI, as in production) over HTTPS on an ephemeral port."""
    settings.STOREFRONT_CACHE_NAMESPACE = f"browser-{uuid.uuid4().hex}"
    storefront_caches_clear()
    server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietWSGIRequestHandler, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    serve_https(server, https_context)
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    storefront_caches_clear()


def test_theme_sets_og_auth_cookie_and_reads_subscriber_status_in_chromium(storefront, service, install_store,
                                                                           og_settings, fake_og):
    from playwright.sync_api import sync_playwright

    assert storefront.origin in og_settings.store.storefront_origins
    fake_og.add_subscription(OG_MERCHANT_ID, str(CUSTOMER_ID), live=True)
    storefront.middleware_host = service
    artifacts = Path(django_settings.TEST_ARTIFACTS_DIR)
    artifacts.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"), headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--ignore-certificate-errors"])
        try:
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            started = int(time.time())
            page.goto(storefront.origin + "/account.php")
            page.wait_for_function("document.cookie.indexOf('og_auth=') >= 0", timeout=20_000)
            page.wait_for_function("document.getElementById('has-subs').textContent.startsWith('{')",
                                   timeout=20_000)
            page.wait_for_function("document.getElementById('og-auth').textContent.indexOf('|') > 0",
                                   timeout=5_000)
            page.screenshot(path=str(artifacts / "storefront-og-auth.png"), full_page=True)

            cookie = {c["name"]: c for c in context.cookies(storefront.origin)}["og_auth"]
            customer, ts, sig = cookie["value"].split("|")
            assert customer == str(CUSTOMER_ID)
            assert abs(int(ts) - started) < 60
            assert "%" not in sig  # the theme decodeURIComponent()s our URL-encoded answer
            assert signatures.signature_verify(customer, ts, sig, OG_HASH_KEY)
            assert cookie["secure"] and cookie["path"] == "/" and not cookie["httpOnly"]
            assert page.text_content("#has-subs") == '{"status":true,"subscriber_status":1}'
            assert storefront.jwt_requests and all("app_client_id=" in r for r in storefront.jwt_requests)

            # Signed out: BigCommerce answers 404 for current.jwt and the theme deletes the cookie.
            storefront.customer_id = None
            page.reload()
            page.wait_for_function("document.cookie.indexOf('og_auth=') < 0", timeout=20_000)
            assert "og_auth" not in {c["name"] for c in context.cookies(storefront.origin)}
            assert any("Not logged in" in line for line in console)
        finally:
            browser.close()
