"""Identifiers shared across the Ordergroove features (DECISIONS §3.6, §3.10)."""

# `external_source` of the BigCommerce orders this service places for Ordergroove's recurring orders; the
# store's own store/order/created webhook for them must never produce a purchase post.
RECURRING_ORDER_EXTERNAL_SOURCE = "ordergroove-recurring"


def og_product_id(bc_product_id: int | str, bc_variant_id: int | str) -> str:
    """Feed and purchase-post `product` id: `{bc_product_id}_{bc_variant_id}` (DECISIONS §3.6)."""
    return f"{bc_product_id}_{bc_variant_id}"


def parse_og_product_id(value: str) -> tuple[int, int | None]:
    product, _, variant = str(value).partition("_")
    return int(product), (int(variant) if variant else None)
