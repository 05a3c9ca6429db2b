"""Sandbox mode (DECISIONS §1): the project's fakes standing in for BigCommerce, Ordergroove and the SFTP
drop-off, plus a demo store installed through the real OAuth flow. `manage.py run` starts it as a process of its
own when no BigCommerce credentials are configured: `python -m tests.fakes.sandbox` (see `main`)."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import time
import traceback
from pathlib import Path
from urllib.parse import urlencode

import django
import requests

from tests.fakes.bigcommerce import FakeBigCommerce
from tests.fakes.ordergroove import FakeOrdergroove
from tests.fakes.sftp import FakeSftpServer
from tests.fakes.storefront import FakeStorefront
from tests.fakes.storefront.server import DEFAULT_PASSWORD

DEMO_STORE = "sandbox1"
DEMO_CUSTOMER_ID = 501
DEMO_MERCHANT_ID = "sandboxmerchant"
DEMO_HASH_KEY = "Mt!ZQ45q&GHsgiRD8{NB-_h87#rjvbn0"  # Ordergroove's published demo key (32 bytes, AES-256)


class Sandbox:
    def __init__(self, *, app_url: str, var_dir: Path):
        self.app_url = app_url
        self.var_dir = var_dir
        self.client_id = "sandbox-app-client-id"
        self.client_secret = secrets.token_urlsafe(32)
        self.bigcommerce = FakeBigCommerce(client_id=self.client_id, client_secret=self.client_secret)
        self.ordergroove = None
        self.sftp = None
        self.storefront = None

    def start(self) -> dict[str, str]:
        """Start the fakes; returns the environment the service's processes need to talk to them."""
        self.bigcommerce.start()
        self.bigcommerce.redirect_uri = f"{self.app_url}/bigcommerce/auth"
        self.ordergroove = FakeOrdergroove().start()
        self.sftp = FakeSftpServer(root=self.var_dir / "sandbox-sftp").start()
        self.storefront = FakeStorefront(self.bigcommerce, DEMO_STORE, self.client_id).start()
        return {
            "BIGCOMMERCE_CLIENT_ID": self.client_id,
            "BIGCOMMERCE_CLIENT_SECRET": self.client_secret,
            "BIGCOMMERCE_LOGIN_URL": self.bigcommerce.url,
            "BIGCOMMERCE_API_URL": self.bigcommerce.url,
            "BIGCOMMERCE_PAYMENTS_URL": self.bigcommerce.url + "/payments-host",
        }

    @property
    def shopper_login(self) -> str:
        return f"shopper@example.com / {DEFAULT_PASSWORD}"

    def extra_urls(self) -> dict[str, str]:
        return {"fake Ordergroove": self.ordergroove.url,
                f"demo storefront (sign in as {self.shopper_login})": self.storefront.url,
                "loopback SFTP (files land in var/sandbox-sftp/incoming)": f"sftp://127.0.0.1:{self.sftp.port}"}

    def stop(self) -> None:
        for server in (self.bigcommerce, self.ordergroove, self.sftp, self.storefront):
            if server is not None:
                server.stop()

    def seed_catalog(self) -> None:
        bc = self.bigcommerce
        subscription = {"name": "Subscription", "option_values": [
            {"label": "One-time purchase", "is_default": True}, {"label": "Every 1 month"},
            {"label": "Every 2 months"}]}
        bc.add_product(DEMO_STORE, name="Dog Food 5 lb", price=24.99, sku="DOG-5",
                       image_url="https://cdn.example.com/dog-food.jpg", modifiers=[subscription])
        bc.add_product(DEMO_STORE, name="Cat Treats", price=6.5, sku="CAT-T", modifiers=[subscription],
                       variants=[{"sku": "CAT-T-S", "option_values": [{"label": "Small"}]},
                                 {"sku": "CAT-T-L", "price": 9.5, "option_values": [{"label": "Large"}]}])
        bc.add_product(DEMO_STORE, name="Leash", price=15.0, sku="LEASH")
        bc.add_customer(DEMO_STORE, customer_id=DEMO_CUSTOMER_ID, email="shopper@example.com")
        self.demo_card = bc.add_instrument(DEMO_STORE, DEMO_CUSTOMER_ID)

    def install_demo_store(self) -> str:
        """Install the demo store through the real auth callback, point its settings at the fakes and return
        a load URL that opens its console (valid for 24 hours)."""
        fake_store = self.bigcommerce.add_store(DEMO_STORE, name="Sandbox Pet Store")
        # The demo storefront is the store's channel site, so the service answers CORS for it.
        fake_store.info["secure_url"] = self.storefront.url
        fake_store.sites[1] = {"id": 1, "channel_id": 1, "url": self.storefront.url,
                               "urls": [{"url": self.storefront.url, "type": "primary"}]}
        self.seed_catalog()
        params = self.bigcommerce.issue_code(DEMO_STORE, user_email="owner@sandbox.example",
                                             owner_email="owner@sandbox.example", user_id=1, owner_id=1)
        response = requests.get(f"{self.app_url}/bigcommerce/auth", params=params, allow_redirects=False,
                                timeout=30)
        if response.status_code != 302:
            raise RuntimeError(f"Demo install failed: HTTP {response.status_code} {response.text[:300]}")
        self.configure_demo_settings()
        token = self.bigcommerce.signed_payload_jwt(DEMO_STORE, user_id=1, user_email="owner@sandbox.example",
                                                    owner_id=1, owner_email="owner@sandbox.example")
        load_url = f"{self.app_url}/bigcommerce/load?{urlencode({'signed_payload_jwt': token})}"
        # The merchant opens the app once: the load installs the storefront script and the Subscription Manager
        # page through the (fake) Scripts and Pages APIs, as on a real store.
        response = requests.get(load_url, allow_redirects=False, timeout=30)
        if response.status_code != 302:
            raise RuntimeError(f"Demo load failed: HTTP {response.status_code} {response.text[:300]}")
        return load_url

    def place_demo_order(self) -> int:
        """A storefront checkout in the fake BigCommerce (one subscribed line, one one-time line) and its
        store/order/created webhook, so the console's Activity tab shows a purchase post reaching the fake
        Ordergroove right after start-up."""
        products = list(self.bigcommerce.stores[DEMO_STORE].products.values())
        dog_food, leash = products[0], products[-1]
        modifier = dog_food["modifiers"][0]
        monthly = next(v for v in modifier["option_values"] if v["label"] == "Every 1 month")
        order = self.bigcommerce.add_order(DEMO_STORE, customer_id=DEMO_CUSTOMER_ID, products=[
            {"product_id": dog_food["id"], "variant_id": dog_food["base_variant_id"], "quantity": 1,
             "price": dog_food["price"], "name": dog_food["name"], "sku": dog_food["sku"],
             "product_options": [{"product_option_id": modifier["id"], "value": monthly["id"],
                                  "display_name": modifier["name"], "display_value": monthly["label"]}]},
            {"product_id": leash["id"], "variant_id": leash["base_variant_id"], "quantity": 1,
             "price": leash["price"], "name": leash["name"], "sku": leash["sku"]},
        ])
        self.bigcommerce.add_transaction(DEMO_STORE, order["id"], instrument=self.demo_card)  # paid with it
        self.bigcommerce.emit(DEMO_STORE, "store/order/created", {"type": "order", "id": order["id"]})
        return order["id"]

    def wait_demo_order_handled(self, timeout: float = 60) -> bool:
        """Wait until the worker has taken the demo order's webhook through (so the worker is up and its start-up
        lines are printed before the run command's last lines); False if it has not within `timeout`."""
        from bigcommerce_app.models import InboundEvent

        open_states = [InboundEvent.Status.PENDING, InboundEvent.Status.PROCESSING]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not InboundEvent.objects.filter(store__store_hash=DEMO_STORE, status__in=open_states).exists():
                return True
            time.sleep(0.3)
        return False

    def configure_demo_settings(self) -> None:
        """Point the demo store at the fakes: Ordergroove endpoints and keys, the SFTP drop-off with its pinned
        host key, and the product subscription settings a CSV import would have produced."""
        from bigcommerce_app.models import Store
        from feeds.models import FeedSettings, ProductSubscriptionSetting
        from ordergroove.models import OrdergrooveSettings, StorefrontSettings

        store = Store.objects.get(store_hash=DEMO_STORE)
        og, _ = OrdergrooveSettings.objects.get_or_create(store=store)
        og.global_offer_id = "sandbox-offer-0001"
        og.incentive_groups_enabled = True
        og.webhook_verification_key = "sandbox-webhook-key-0001"  # `manage.py og_send event` signs with it
        self.ordergroove.configure(og, merchant_id=DEMO_MERCHANT_ID, hash_key=DEMO_HASH_KEY,
                                   api_key="sandbox-api-key-0001")
        self.ordergroove.add_customer(DEMO_MERCHANT_ID, DEMO_CUSTOMER_ID, email="shopper@example.com")
        StorefrontSettings.objects.update_or_create(store=store, defaults={"subscription_page_enabled": True})
        self.ordergroove.add_subscription(DEMO_MERCHANT_ID, DEMO_CUSTOMER_ID)

        feed, _ = FeedSettings.objects.get_or_create(store=store)
        feed.sftp_host = "127.0.0.1"
        feed.sftp_port = self.sftp.port
        feed.sftp_username, feed.sftp_password = next(iter(self.sftp.users.items()))
        feed.sftp_host_key = self.sftp.host_key_line
        feed.save()

        for product in self.bigcommerce.stores[DEMO_STORE].products.values():
            modifier = next((m for m in product["modifiers"] if "Subscription" in m["name"]), None)
            frequencies = []
            if modifier:
                every = {"One-time purchase": (0, 0), "Every 1 month": (1, 3), "Every 2 months": (2, 3)}
                for value in modifier["option_values"]:
                    e, period = every.get(value["label"], (0, 0))
                    frequencies.append({"name": value["label"], "option_id": value["id"], "every": e,
                                        "every_period": period, "is_default": bool(value["is_default"])})
            ProductSubscriptionSetting.objects.update_or_create(
                store=store, bc_product_id=product["id"],
                defaults={"sku": product["sku"], "name": product["name"], "autoship_eligible": bool(modifier),
                          "modifier_id": modifier["id"] if modifier else None,
                          "modifier_name": modifier["name"] if modifier else "", "frequencies": frequencies})


# --- The sandbox as a process (`manage.py run` starts it; middleware/sandbox.py is the other end) ----------------
#
#     python -m tests.fakes.sandbox --app-url URL --var-dir DIR
#
# One JSON object a line. On stdout, once the fakes listen: {"env", "bigcommerce_url", "extra_urls",
# "storefront_url", "shopper_login"}. On stdin, `demo` (once the service answers): install the demo store, place
# its storefront order and wait for the worker; the answer is {"console_url", "order_id", "handled"} or {"error"}.
# End of stdin (the run command stopping, or dying) stops the fakes and the process. Anything else this process
# prints goes to stderr, the run command's terminal.

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.sandbox", description=__doc__)
    parser.add_argument("--app-url", required=True, help="where the service answers (the fakes call it)")
    parser.add_argument("--var-dir", required=True, type=Path, help="the service's var/ (the SFTP drop-off)")
    args = parser.parse_args(argv)
    answers = _protocol_stream()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))  # a clean stop: the fakes' sockets close
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "middleware.settings.dev")  # as manage.py's
    django.setup()  # the demo store's settings are written through the service's models
    sandbox = Sandbox(app_url=args.app_url, var_dir=args.var_dir)
    try:
        env = sandbox.start()
        _say(answers, {"env": env, "bigcommerce_url": sandbox.bigcommerce.url, "extra_urls": sandbox.extra_urls(),
                       "storefront_url": sandbox.storefront.url, "shopper_login": sandbox.shopper_login})
        for line in sys.stdin:
            if line.strip() == "demo":
                _say(answers, _demo(sandbox))
    except KeyboardInterrupt:  # started by hand in a terminal
        pass
    finally:
        sandbox.stop()
    return 0


def _protocol_stream():
    """The real stdout, for the protocol alone; file descriptor 1 (print, logging, the fakes) goes to stderr."""
    stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return stream


def _say(stream, message: dict) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


def _demo(sandbox: Sandbox) -> dict:
    try:
        console_url = sandbox.install_demo_store()
        order_id = sandbox.place_demo_order()
        return {"console_url": console_url, "order_id": order_id, "handled": sandbox.wait_demo_order_handled()}
    except Exception as exc:  # noqa: BLE001 - told to the run command, which stops; the traceback to the terminal
        traceback.print_exc()
        return {"error": f"{exc.__class__.__name__}: {exc}"}


if __name__ == "__main__":
    sys.exit(main())
