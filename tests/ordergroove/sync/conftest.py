"""A store with one subscribable product, a one-time product, a customer with a stored card, and helpers to
place orders and feed webhook events through the inbox."""

from __future__ import annotations

import pytest

from tests.ordergroove.conftest import OG_HASH_KEY, OG_MERCHANT_ID  # noqa: F401 - re-exported for tests

GLOBAL_OFFER = "903ecf3e5efc12e49d61bc764e106cf6"


class Shop:
    def __init__(self, fake_bc, store):
        from feeds.models import ProductSubscriptionSetting

        self.fake_bc, self.store, self.hash = fake_bc, store, store.store_hash
        self.coffee = fake_bc.add_product(self.hash, name="Coffee", price=12.5, sku="COF-1", modifiers=[
            {"name": "Subscription", "option_values": [{"label": "One-time purchase"}, {"label": "Every 1 month"},
                                                       {"label": "Every 2 weeks"}]}])
        self.mug = fake_bc.add_product(self.hash, name="Mug", price=8, sku="MUG-1")
        modifier = self.coffee["modifiers"][0]
        self.modifier_id = modifier["id"]
        self.one_time_value, self.monthly_value, self.biweekly_value = (v["id"] for v in modifier["option_values"])
        ProductSubscriptionSetting.objects.create(
            store=store, bc_product_id=self.coffee["id"], sku="COF-1", autoship_eligible=True,
            modifier_id=self.modifier_id, modifier_name="Subscription", frequencies=[
                {"name": "One-time purchase", "option_id": self.one_time_value, "every": 0, "every_period": 0,
                 "is_default": True},
                {"name": "Every 1 month", "option_id": self.monthly_value, "every": 1, "every_period": 3,
                 "is_default": False},
                {"name": "Every 2 weeks", "option_id": self.biweekly_value, "every": 2, "every_period": 2,
                 "is_default": False},
            ])
        self.customer = fake_bc.add_customer(self.hash, email="jane@example.com", first_name="Jane",
                                             last_name="Doe", phone="555-0100")
        self.card = fake_bc.add_instrument(self.hash, self.customer["id"], brand="VISA", last_4="1111",
                                           expiry_month=9, expiry_year=2030)

    def coffee_line(self, *, option_value: int | None = None, quantity: int = 2) -> dict:
        options = []
        if option_value is not None:
            options = [{"product_option_id": self.modifier_id, "value": option_value, "display_name": "Subscription"}]
        return {"product_id": self.coffee["id"], "variant_id": self.coffee["variants"][0]["id"], "quantity": quantity,
                "price": 12.5, "name": "Coffee", "sku": "COF-1", "product_options": options}

    def mug_line(self, quantity: int = 1) -> dict:
        return {"product_id": self.mug["id"], "variant_id": self.mug["variants"][0]["id"], "quantity": quantity,
                "price": 8, "name": "Mug", "sku": "MUG-1"}

    def order(self, *lines: dict, **kwargs) -> dict:
        return self.fake_bc.add_order(self.hash, customer_id=kwargs.pop("customer_id", self.customer["id"]),
                                      products=list(lines), **kwargs)

    def event(self, scope: str, resource_id: int, event_hash: str | None = None):
        """Store an event as the inbox would (without HTTP) and return it."""
        from bigcommerce_app.models import InboundEvent

        return InboundEvent.objects.create(
            store=self.store, scope=scope, resource_id=str(resource_id),
            event_hash=event_hash or f"{scope}:{resource_id}:{InboundEvent.objects.count()}",
            payload={"scope": scope, "data": {"id": resource_id}, "producer": f"stores/{self.hash}"})


@pytest.fixture
def shop(fake_bc, store, og_settings):
    og_settings.global_offer_id = GLOBAL_OFFER
    og_settings.save()
    return Shop(fake_bc, store)
