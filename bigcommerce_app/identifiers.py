"""How BigCommerce objects are named to Ordergroove (DECISIONS §3.6). Kept in one place so it can change; both
the feeds and the ordergroove apps import it from here."""


def og_product_id(bc_product_id: int | str, bc_variant_id: int | str) -> str:
    """Feed and purchase-post `product` id: `{bc_product_id}_{bc_variant_id}`."""
    return f"{bc_product_id}_{bc_variant_id}"


def parse_og_product_id(value: str) -> tuple[int, int | None]:
    product, _, variant = str(value).partition("_")
    return int(product), (int(variant) if variant else None)
