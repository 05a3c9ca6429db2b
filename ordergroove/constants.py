"""Identifiers shared across the Ordergroove features (DECISIONS §3.6, §3.10)."""

from bigcommerce_app.identifiers import og_product_id, parse_og_product_id

__all__ = ["RECURRING_ORDER_EXTERNAL_SOURCE", "og_product_id", "parse_og_product_id"]

# `external_source` of the BigCommerce orders this service places for Ordergroove's recurring orders; the
# store's own store/order/created webhook for them must never produce a purchase post.
RECURRING_ORDER_EXTERNAL_SOURCE = "ordergroove-recurring"
