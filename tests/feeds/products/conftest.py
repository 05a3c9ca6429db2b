"""Product CSV fixtures: a small catalog in the fake BigCommerce (console_api lives in tests/conftest.py)."""

from __future__ import annotations

import csv
import io

import pytest


@pytest.fixture
def catalog(fake_bc, store):
    """Coffee (a "Subscription" modifier with the seed's three options), Mug (no modifier), Tea (a gift-wrap
    modifier and a "Delivery subscription" one)."""
    coffee = fake_bc.add_product("abc123", name="Coffee", sku="COF-1", product_id=111, modifiers=[
        {"id": 501, "name": "Subscription", "option_values": [
            {"id": 132, "label": "One-time purchase", "is_default": True},
            {"id": 133, "label": "Every 1 month"}, {"id": 134, "label": "Every 2 months"}]}])
    mug = fake_bc.add_product("abc123", name="Mug", sku="MUG-1", product_id=112)
    tea = fake_bc.add_product("abc123", name="Tea", sku="TEA-1", product_id=113, modifiers=[
        {"id": 601, "name": "Gift wrap", "option_values": [{"id": 701, "label": "Yes"}, {"id": 702, "label": "No"}]},
        {"id": 602, "name": "Delivery subscription", "option_values": [
            {"id": 711, "label": "Once"}, {"id": 712, "label": "Every 2 weeks"}]}])
    return {"coffee": coffee, "mug": mug, "tea": tea}


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def csv_text(rows: list[dict], *, delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0].keys()), delimiter=delimiter, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
