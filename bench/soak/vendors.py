"""The vendors on loopback (the project's fakes, tests/fakes) and two stores set up the way a merchant does it:
installed through the real OAuth callback, opened through the load callback, Ordergroove and SFTP settings saved
through the console API. The product subscription settings a CSV import would produce are written as the
sandbox writes them (tests/fakes/sandbox.py)."""

from __future__ import annotations

import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from tests.fakes.base import Request, Response
from tests.fakes.bigcommerce import FakeBigCommerce
from tests.fakes.ordergroove import FakeOrdergroove, decode_create_request
from tests.fakes.sftp import FakeSftpServer

APP_HOST = "soak.example.com"
APP_URL = f"https://{APP_HOST}"
# A TLS-terminating proxy in front of web (docker/compose.yaml's advice) says the request came over HTTPS.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
CUSTOMERS_PER_STORE = 24


@dataclass
class SoakStore:
    store_hash: str
    merchant_id: str
    hash_key: str
    webhook_key: str
    console_token: str = ""
    customers: list[int] = field(default_factory=list)
    cards: dict[int, dict] = field(default_factory=dict)  # customer id → default stored card
    initial_cards: dict[int, dict] = field(default_factory=dict)  # before the soak changed any
    lines: list[dict] = field(default_factory=list)  # order lines to pick from: (product, variant, modifier)
    hook_headers: dict[str, dict] = field(default_factory=dict)  # scope → headers BigCommerce sends

    @property
    def storefront_origin(self) -> str:
        return f"https://store-{self.store_hash}.mybigcommerce.com"


class CountingOrdergroove(FakeOrdergroove):
    """The fake Ordergroove, also counting its purchase-post answers per merchant_order_id (201 taken, 409
    already received): the wire-level record of "exactly once"."""

    def __init__(self, **kwargs):
        self.post_answers: dict[tuple[str, str], list[int]] = {}
        self.post_times: list[float] = []
        super().__init__(**kwargs)

    def h_purchase_post(self, request: Request) -> Response:
        response = super().h_purchase_post(request)
        try:
            data = decode_create_request(request.body)
            key = (str(data.get("merchant_id")), str(data.get("merchant_order_id")))
        except (ValueError, UnicodeDecodeError):
            return response
        with self._state_lock:
            self.post_answers.setdefault(key, []).append(response.status)
            if response.status == 201:
                self.post_times.append(time.time())
        return response


class Vendors:
    def __init__(self, workdir: Path):
        self.client_id = "soak-app-client-id"
        self.client_secret = secrets.token_urlsafe(32)
        self.bc = FakeBigCommerce(client_id=self.client_id, client_secret=self.client_secret)
        self.og = CountingOrdergroove()
        self.sftp = FakeSftpServer(root=workdir / "sftp")
        self.stores: list[SoakStore] = []
        self.lock = threading.Lock()

    def start(self) -> dict[str, str]:
        """Start the fakes; the environment the service needs to talk to them."""
        self.bc.start()
        self.bc.redirect_uri = f"{APP_URL}/bigcommerce/auth"
        self.og.start()
        self.og.status_pending_polls = 1
        self.sftp.start()
        return {"BIGCOMMERCE_CLIENT_ID": self.client_id, "BIGCOMMERCE_CLIENT_SECRET": self.client_secret,
                "BIGCOMMERCE_LOGIN_URL": self.bc.url, "BIGCOMMERCE_API_URL": self.bc.url,
                "BIGCOMMERCE_PAYMENTS_URL": self.bc.url + "/payments-host"}

    def stop(self) -> None:
        for server in (self.bc, self.og, self.sftp):
            server.stop()

    # --- Stores -----------------------------------------------------------------------------------------------
    def install(self, web_url: str, store_hash: str, index: int) -> SoakStore:
        store = SoakStore(store_hash, merchant_id=f"soakmerchant{index}", hash_key=secrets.token_hex(16),
                          webhook_key=secrets.token_urlsafe(24))
        self._seed_catalog(store)
        params = self.bc.issue_code(store_hash, user_email=f"owner@{store_hash}.example", user_id=1,
                                    owner_email=f"owner@{store_hash}.example", owner_id=1)
        answer = requests.get(f"{web_url}/bigcommerce/auth", params=params, headers=PROXY_HEADERS,
                              allow_redirects=False, timeout=60)
        if answer.status_code != 302:
            raise RuntimeError(f"install of {store_hash}: HTTP {answer.status_code} {answer.text[:300]}")
        jwt = self.bc.signed_payload_jwt(store_hash, user_id=1, user_email=f"owner@{store_hash}.example",
                                         owner_id=1, owner_email=f"owner@{store_hash}.example")
        answer = requests.get(f"{web_url}/bigcommerce/load", params={"signed_payload_jwt": jwt},
                              headers=PROXY_HEADERS, allow_redirects=False, timeout=60)
        token = parse_qs(urlsplit(answer.headers.get("Location", "")).query).get("t", [""])[0]
        if answer.status_code != 302 or not token:
            raise RuntimeError(f"load of {store_hash}: HTTP {answer.status_code} {answer.text[:300]}")
        store.console_token = token
        self._configure(web_url, store)
        for hook in self.bc.stores[store_hash].hooks.values():
            store.hook_headers[hook["scope"]] = {"Content-Type": "application/json", **(hook.get("headers") or {})}
        self.stores.append(store)
        return store

    def _seed_catalog(self, store: SoakStore) -> None:
        bc, hash_ = self.bc, store.store_hash
        bc.add_store(hash_, name=f"Soak store {hash_}")
        subscription = {"name": "Subscription", "option_values": [
            {"label": "One-time purchase", "is_default": True}, {"label": "Every 1 month"}]}
        products = [bc.add_product(hash_, name=f"Coffee {hash_}", price=18.99, sku=f"COF-{hash_}",
                                   modifiers=[subscription]),
                    bc.add_product(hash_, name=f"Tea {hash_}", price=7.5, sku=f"TEA-{hash_}", modifiers=[subscription],
                                   variants=[{"sku": f"TEA-S-{hash_}"}, {"sku": f"TEA-L-{hash_}", "price": 9.5}]),
                    bc.add_product(hash_, name=f"Mug {hash_}", price=12.0, sku=f"MUG-{hash_}")]
        for product in products:
            modifier = product["modifiers"][0] if product["modifiers"] else None
            for variant in product["variants"]:
                store.lines.append({"product": product, "variant": variant, "modifier": modifier})
        for n in range(CUSTOMERS_PER_STORE):
            customer = bc.add_customer(hash_, email=f"shopper{n}@{hash_}.example")
            store.customers.append(customer["id"])
            store.cards[customer["id"]] = bc.add_instrument(hash_, customer["id"], last_4=f"{1000 + n}")
        store.initial_cards = dict(store.cards)

    def _configure(self, web_url: str, store: SoakStore) -> None:
        self.og.add_merchant(store.merchant_id, store.hash_key, api_key=f"og-api-key-{store.store_hash}")
        for customer_id in store.customers:
            email = self.bc.stores[store.store_hash].customers[customer_id]["email"]
            self.og.add_customer(store.merchant_id, customer_id, email=email)
        user, password = next(iter(self.sftp.users.items()))
        body = {"merchant_id": store.merchant_id, "hash_key": store.hash_key,
                "api_key": f"og-api-key-{store.store_hash}", **self.og.settings_values(),
                "global_offer_id": "soak-offer", "incentive_groups_enabled": True,
                "webhook_verification_key": store.webhook_key,
                "sftp_host": "127.0.0.1", "sftp_port": self.sftp.port, "sftp_username": user,
                "sftp_password": password, "sftp_host_key": self.sftp.host_key_line}
        answer = requests.patch(f"{web_url}/console/api/settings", json=body, timeout=60,
                                headers={**PROXY_HEADERS, "X-Console-Token": store.console_token})
        if answer.status_code != 200:
            raise RuntimeError(f"settings of {store.store_hash}: HTTP {answer.status_code} {answer.text[:500]}")
        self._product_settings(store)

    def _product_settings(self, store: SoakStore) -> None:
        from bigcommerce_app.models import Store
        from feeds.models import ProductSubscriptionSetting

        row = Store.objects.get(store_hash=store.store_hash)
        for product in self.bc.stores[store.store_hash].products.values():
            modifier = product["modifiers"][0] if product["modifiers"] else None
            frequencies = []
            if modifier:
                one_time, monthly = modifier["option_values"]
                frequencies = [
                    {"name": one_time["label"], "option_id": one_time["id"], "every": 0, "every_period": 0,
                     "is_default": True},
                    {"name": monthly["label"], "option_id": monthly["id"], "every": 1, "every_period": 3,
                     "is_default": False}]
            ProductSubscriptionSetting.objects.update_or_create(
                store=row, bc_product_id=product["id"],
                defaults={"sku": product["sku"], "name": product["name"], "autoship_eligible": bool(modifier),
                          "modifier_id": modifier["id"] if modifier else None,
                          "modifier_name": modifier["name"] if modifier else "", "frequencies": frequencies})

    # --- What shoppers do in BigCommerce ----------------------------------------------------------------------
    def checkout(self, store: SoakStore, rng: random.Random) -> int:
        """A storefront order paid with the customer's default card (a subscription line half the time)."""
        customer_id = rng.choice(store.customers)
        lines = []
        for choice in rng.sample(store.lines, k=rng.randint(1, 2)):
            product, variant, modifier = choice["product"], choice["variant"], choice["modifier"]
            line = {"product_id": product["id"], "variant_id": variant["id"], "quantity": rng.randint(1, 3),
                    "price": variant["calculated_price"], "name": product["name"], "sku": variant["sku"]}
            if modifier and rng.random() < 0.5:
                monthly = modifier["option_values"][1]
                line["product_options"] = [{"product_option_id": modifier["id"], "value": monthly["id"],
                                            "display_name": modifier["name"], "display_value": monthly["label"]}]
            lines.append(line)
        with self.lock:
            order = self.bc.add_order(store.store_hash, customer_id=customer_id, products=lines)
            card = store.cards[customer_id]
            self.bc.add_transaction(store.store_hash, order["id"], instrument=card)
        return order["id"]

    def change_email(self, store: SoakStore, customer_id: int, rng: random.Random) -> None:
        with self.lock:
            customer = self.bc.stores[store.store_hash].customers[customer_id]
            customer["email"] = f"shopper{customer_id}.{rng.randrange(10**6)}@{store.store_hash}.example"

    def change_default_card(self, store: SoakStore, customer_id: int, rng: random.Random) -> None:
        with self.lock:
            store.cards[customer_id] = self.bc.add_instrument(store.store_hash, customer_id,
                                                              last_4=f"{rng.randrange(10000):04d}")
