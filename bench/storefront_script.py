"""What the storefront script costs a shop: its size, and the requests it makes per page view.

Run (from the repository root; needs Debian's chromium):

    .venv/bin/python bench/storefront_script.py                 # 8 page views after login
    .venv/bin/python bench/storefront_script.py --views 20

It migrates a throwaway SQLite database, serves the real service (WSGI, bench/storefront_settings.py) on a free
loopback port, starts the fake BigCommerce, its fake storefront and the fake Ordergroove in this process, installs
a store through the real OAuth callback and opens the app once (the load installs the script through the fake
Scripts API). Then headless Chromium signs a shopper in and walks the storefront (home, account pages, cart,
Subscription Manager), counting for every page view the requests to the service (the script file; API calls,
and CORS preflights separately) and to the storefront itself (current.jwt, the cart API). Goal: at most one
request to the service per page view while the og_auth cookie is fresh (zero ideally).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STORE = "benchstore"
CUSTOMER = {"id": 7001, "email": "bench-shopper@example.com"}
PAGES = ("/", "/account.php", "/account.php?action=payment_methods", "/cart.php",
         "/account/manage-subscriptions/")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup_django(tmp: Path, port: int) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "bench.storefront_settings", "BENCH_DB": str(tmp / "bench.sqlite3"),
        "APP_URL": f"http://127.0.0.1:{port}", "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)


SERVICE_HITS: list[str] = []  # every request that reached the service: "METHOD /path"


def _counting(app):
    """Counts what reaches the service (a browser-cache hit never does)."""
    def wrapped(environ, start_response):
        SERVICE_HITS.append(f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}")
        return app(environ, start_response)
    return wrapped


def _serve(port: int):
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", port), Quiet, allow_reuse_address=False)
    server.set_app(_counting(get_wsgi_application()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _install(app_url: str):
    """The fakes, a store installed through the real auth callback, Ordergroove settings, and one load."""
    import requests
    from django.conf import settings

    from bigcommerce_app.models import Store
    from ordergroove.models import OrdergrooveSettings, StorefrontSettings
    from tests.fakes.bigcommerce import FakeBigCommerce
    from tests.fakes.ordergroove import FakeOrdergroove
    from tests.fakes.storefront import FakeStorefront

    bc = FakeBigCommerce(client_id=settings.BIGCOMMERCE_CLIENT_ID,
                         client_secret=settings.BIGCOMMERCE_CLIENT_SECRET).start()
    settings.BIGCOMMERCE_LOGIN_URL = settings.BIGCOMMERCE_API_URL = bc.url  # the service runs in this process
    bc.redirect_uri = f"{app_url}/bigcommerce/auth"
    og = FakeOrdergroove().start()
    shop = FakeStorefront(bc, STORE, settings.BIGCOMMERCE_CLIENT_ID).start()
    fake_store = bc.add_store(STORE)
    fake_store.info["secure_url"] = shop.url
    fake_store.sites[1] = {"id": 1, "channel_id": 1, "url": shop.url, "urls": [{"url": shop.url, "type": "primary"}]}
    bc.add_customer(STORE, customer_id=CUSTOMER["id"], email=CUSTOMER["email"])
    bc.add_instrument(STORE, CUSTOMER["id"])
    bc.add_product(STORE, name="Leash", price=15.0)
    response = requests.get(f"{app_url}/bigcommerce/auth", params=bc.issue_code(STORE), allow_redirects=False,
                            timeout=30)
    assert response.status_code == 302, response.text[:300]
    store = Store.objects.get(store_hash=STORE)
    og.configure(OrdergrooveSettings.objects.get(store=store), merchant_id="benchmerchant")
    og.add_subscription("benchmerchant", CUSTOMER["id"])
    StorefrontSettings.objects.update_or_create(store=store, defaults={"subscription_page_enabled": True})
    load = requests.get(f"{app_url}/bigcommerce/load?{urlencode({'signed_payload_jwt': bc.signed_payload_jwt(STORE)})}",
                        allow_redirects=False, timeout=30)
    assert load.status_code == 302 and len(fake_store.scripts) == 2, "the load did not install the script"
    return bc, og, shop


def _walk(shop, app_url: str, views: int) -> list[dict]:
    from playwright.sync_api import sync_playwright

    chromium = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
    rows: list[dict] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_context().new_page()
        current: Counter = Counter()

        def record(request) -> None:
            if request.url.startswith(shop.url) and request.resource_type in ("fetch", "xhr"):
                current["storefront: " + request.url[len(shop.url):].split("?")[0]] += 1

        page.on("request", record)
        SERVICE_HITS.clear()
        page.goto(shop.url + "/login.php")
        page.fill("#login_email", CUSTOMER["email"])
        page.fill("#login_pass", "password")
        with page.expect_navigation():
            page.click("input[type=submit]")
        for index in range(views + 1):
            if index:
                current.clear()
                SERVICE_HITS.clear()
                page.goto(shop.url + PAGES[(index - 1) % len(PAGES)])
            page.wait_for_function("window.__ogStorefrontLoaded === true", timeout=15_000)
            page.wait_for_load_state("networkidle")
            for hit in SERVICE_HITS:
                kind = "script file" if "/storefront/" in hit else (
                    "preflight" if hit.startswith("OPTIONS") else "API call")
                current["service: " + kind] += 1
            rows.append({"page": "login → /account.php" if not index else PAGES[(index - 1) % len(PAGES)],
                         "counts": dict(current)})
        browser.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", type=int, default=8, help="page views after the login page view")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sfscript-"))
    port = _free_port()
    try:
        _setup_django(tmp, port)
        from ordergroove.storefront_script.asset import script_asset

        asset = script_asset()
        print(f"storefront script {asset.version}: {len(asset.content)} bytes raw, {len(asset.gzipped)} bytes gzip")
        server = _serve(port)
        app_url = f"http://127.0.0.1:{port}"
        fakes = _install(app_url)
        rows = _walk(fakes[2], app_url, args.views)
        print(f"{'page view':42} requests (logged-in shopper)")
        for row in rows:
            detail = ", ".join(f"{k} {v}" for k, v in sorted(row["counts"].items())) or "none"
            print(f"{row['page']:42} {detail}")
        fresh = rows[1:]
        per_view = [sum(v for k, v in r["counts"].items() if k.startswith("service:")) for r in fresh]
        print(f"requests to the service per page view with a fresh og_auth cookie: max {max(per_view)}, "
              f"mean {sum(per_view) / len(per_view):.2f} over {len(per_view)} views (goal: <= 1, ideally 0)")
        server.shutdown()
        for fake in fakes:
            fake.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
