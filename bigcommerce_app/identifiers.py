"""How BigCommerce objects are named to Ordergroove (DECISIONS §3.6). Kept in one place so it can change; both
the feeds and the ordergroove apps import it from here."""

from middleware.plumbing.inputs import INT32_MAX, strict_int


def og_product_id(bc_product_id: int | str, bc_variant_id: int | str) -> str:
    """Feed and purchase-post `product` id: `{bc_product_id}_{bc_variant_id}`."""
    return f"{bc_product_id}_{bc_variant_id}"


def parse_og_product_id(value: str) -> tuple[int, int | None]:
    """Raises ValueError (``InputError``) unless both parts are BigCommerce ids (positive int32, ASCII digits)."""
    product, _, variant = str(value).partition("_")
    return (strict_int(product, minimum=1, maximum=INT32_MAX, what="product id"),
            strict_int(variant, minimum=1, maximum=INT32_MAX, what="variant id") if variant else None)
