"""The product feed `<MERCHANT_ID>.Products.xml` (ordergroove.md §7.2, DECISIONS §3.6).

One `<product>` per BigCommerce variant (a product without options has one, its base variant), written as text
fragments to a stream: nothing but the current catalog page is held in memory.

Element rules:
- `name` in CDATA (variant option labels appended, e.g. "Tee - Small / Red"); `product_id` = og_product_id;
  `sku` = the variant's SKU (omitted when empty or longer than Ordergroove's 64);
- `price` with exactly two decimals: what the shopper pays (calculated price, i.e. the sale price when set);
- `details_url` = storefront URL + the product's custom URL; `image_url` only when HTTPS (variant image first,
  then the product's primary image);
- `in_stock` follows inventory tracking (none → in stock; product/variant → level > 0); a disabled product or a
  variant with purchasing disabled is reported out of stock (not purchasable = Ordergroove pauses orders);
- `autoship_eligible` from the imported CSV (0 when the product has no row);
- `every`/`every_period` = the CSV's default frequency, only for eligible products with a real frequency;
- `groups/group[@type=incentive]` = the store's Global Offer ID when incentive groups are on;
- `discontinued` only with the product's explicit opt-in, and then with `autoship_eligible`/`in_stock` 0 as
  Ordergroove requires; optional elements are left out when empty, never written empty or self-closing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cached_property
from typing import Any
from xml.sax.saxutils import escape

from bigcommerce_app.identifiers import og_product_id

XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
MAX_NAME = 1024
MAX_ID = 64
MAX_URL = 400
MAX_PRICE = Decimal("99999999.99")
MAX_WHOLE_PRICE = 99999999
CENT = Decimal("0.01")

# Characters XML 1.0 forbids even inside CDATA (C0 controls other than tab/newline/CR, lone surrogates, U+FFFE/F).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(value: Any) -> str:
    value = "" if value is None else str(value)
    if value.isprintable():  # no control characters, surrogates or non-characters: the common case, fast
        return value
    return _ILLEGAL.sub("", value)


def text(value: Any) -> str:
    value = clean(value)
    # Most values (ids, SKUs, URLs) hold none of the three: skip escape()'s three replace passes.
    if "&" in value or "<" in value or ">" in value:
        return escape(value)
    return value


def cdata(value: Any) -> str:
    return _cdata_clean(clean(value))


def _cdata_clean(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", _CDATA_SPLIT) + "]]>"


# "]]>" cannot appear inside a CDATA section: split it across two sections.
_CDATA_SPLIT = "]]]]><![CDATA[>"


def attr(value: Any) -> str:
    return escape(clean(value), {'"': "&quot;"})


@dataclass
class FeedContext:
    """What every product entry needs besides the product itself."""

    storefront_url: str  # e.g. "https://shop.example.com" (no trailing slash)
    incentive_group: str = ""  # Global Offer ID, when incentive groups are on

    @cached_property
    def groups_xml(self) -> str:
        return (f'<groups><group type="incentive">{cdata(self.incentive_group)}</group></groups>'
                if self.incentive_group else "")


@dataclass
class ProductSetting:
    """The CSV's word on one product (decoupled from the model so the writer stays pure)."""

    autoship_eligible: bool = False
    discontinued: bool = False
    every: int | None = None
    every_period: int | None = None

    @classmethod
    def from_model(cls, row: Any) -> ProductSetting:
        return cls.from_values(row.autoship_eligible, row.discontinued, row.frequencies)

    @classmethod
    def from_values(cls, autoship_eligible: bool, discontinued: bool, frequencies: list | None) -> ProductSetting:
        """`frequencies` as ProductSubscriptionSetting holds them; the one flagged is_default is the feed's."""
        default = next((f for f in frequencies or () if type(f) is dict and f.get("is_default")), None) or {}
        every, period = _int_or_none(default.get("every")), _int_or_none(default.get("every_period"))
        if not (every and period):  # one-time purchase (0/0) or unset: no default frequency to send
            every = period = None
        return cls(autoship_eligible=bool(autoship_eligible), discontinued=bool(discontinued),
                   every=every, every_period=period)


def _int_or_none(value: Any) -> int | None:
    if type(value) is int:
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


@dataclass
class EntryResult:
    xml: str = ""
    entries: int = 0
    og_product_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def money(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def variant_price(product: dict, variant: dict) -> Decimal | None:
    for candidate in (variant.get("calculated_price"), variant.get("price"), product.get("calculated_price"),
                      product.get("price")):
        amount = money(candidate)
        if amount is not None:
            return amount
    return None


def variant_in_stock(product: dict, variant: dict) -> bool:
    if product.get("availability") == "disabled" or variant.get("purchasing_disabled"):
        return False
    tracking = product.get("inventory_tracking") or "none"
    if tracking == "product":
        return int(product.get("inventory_level") or 0) > 0
    if tracking == "variant":
        return int(variant.get("inventory_level") or 0) > 0
    return True


def _https(url: Any) -> str:
    url = clean(url).strip()
    return url if url.lower().startswith("https://") and len(url) <= MAX_URL else ""


def variant_image(product: dict, variant: dict) -> str:
    """The variant's own image, else the product's primary (thumbnail) image; only HTTPS URLs count."""
    candidates = [variant.get("image_url")]
    primary = product.get("primary_image") or next(
        (img for img in product.get("images") or [] if img.get("is_thumbnail")), None) or next(
        iter(product.get("images") or []), None)
    if primary:
        candidates += [primary.get("url_standard"), primary.get("url_zoom"), primary.get("image_url")]
    for candidate in candidates:
        if candidate and (url := _https(candidate)):
            return url
    return ""  # no image, or none served over HTTPS (Ordergroove requires HTTPS): the element is left out


def details_url(product: dict, ctx: FeedContext) -> str:
    custom = product.get("custom_url") or {}
    path = custom.get("url") if isinstance(custom, dict) else str(custom)
    if not path:
        return ""
    if path.startswith(("http://", "https://")):
        return path
    return ctx.storefront_url.rstrip("/") + "/" + path.lstrip("/")


def _price_text(value: Any) -> str | None:
    """money() as text, without Decimal, for a price that needs no rounding (an int, or a float whose shortest
    repr has at most two decimals) and is within range; None for anything else (then money() decides)."""
    kind = type(value)
    if kind is int:
        return f"{value}.00" if 0 <= value <= MAX_WHOLE_PRICE else None
    if kind is float and 0 <= value <= MAX_WHOLE_PRICE:
        whole, dot, cents = repr(value).partition(".")
        if dot and len(cents) <= 2 and "e" not in cents:
            return f"{whole}.{cents:0<2}"
    return None


def _extra_data(label: str) -> str:
    label = label[:MAX_NAME].replace("]]>", _CDATA_SPLIT)
    return f'<extra_data><field key="variant_name"><![CDATA[{label}]]></field></extra_data>'


def variant_label(variant: dict) -> str:
    return " / ".join(clean(v.get("label")) for v in variant.get("option_values") or [] if v.get("label"))


_NO_SETTING = ProductSetting()
# autoship_eligible, in_stock, discontinued by (eligible, discontinued), then indexed by "in stock".
_STOCK_TAILS = {(eligible, discontinued): tuple(
    f"<autoship_eligible>{int(eligible)}</autoship_eligible><in_stock>{in_stock}</in_stock>"
    + ("<discontinued>1</discontinued>" if discontinued else "") for in_stock in (0, 1))
    for eligible in (False, True) for discontinued in (False, True)}


def product_entries(product: dict, setting: ProductSetting | None, ctx: FeedContext) -> EntryResult:
    """The `<product>` elements of one BigCommerce product, one per variant. This runs for every variant of the
    catalog, so everything that is the same for all variants of a product (name, URL, primary image, stock
    rule, the CSV's word, the element tail) is worked out once per product (_ProductParts), and the per-variant
    part is one f-string over values that need escaping only when they hold a markup character."""
    result = EntryResult()
    variants = product.get("variants") or []
    if not variants and product.get("base_variant_id"):
        variants = [{"id": product["base_variant_id"], "sku": product.get("sku")}]
    if not variants:
        result.warnings.append(f"product {product.get('id')}: no variant, left out")
        return result
    common = _product_parts(product, setting or _NO_SETTING, ctx, result.warnings, many=len(variants) > 1)
    parts: list[str] = []
    og_ids = result.og_product_ids
    for variant in variants:
        pid = og_product_id(common.product_id, variant["id"])
        xml = _variant_xml(product, variant, pid, common, result.warnings)
        if xml is not None:
            parts.append(xml)
            og_ids.append(pid)
    result.entries = len(parts)
    result.xml = "".join(parts)
    return result


@dataclass(slots=True)
class _ProductParts:
    """What every variant entry of one product shares, worked out once per product."""

    product_id: Any
    plain_ids: bool  # an int product id: with an int variant id, the og_product_id needs no escaping
    many: bool  # several variants: each one's name carries its option labels
    url_xml: str
    url_image_xml: str  # url_xml and the product's image
    groups_xml: str
    base_name: str
    base_name_xml: str
    product_sku: str
    frequency_xml: str
    stock_tail: tuple[str, str]  # autoship_eligible, in_stock, discontinued; indexed by "in stock"
    purchasable: bool
    per_variant_level: bool  # inventory tracked per variant
    product_stock: bool  # in stock by the product's rule (when not per variant)


def _product_parts(product: dict, setting: ProductSetting, ctx: FeedContext, warnings: list[str], *,
                   many: bool) -> _ProductParts:
    url = details_url(product, ctx)
    if len(url) > MAX_URL:
        warnings.append(f"product {product['id']}: storefront URL longer than {MAX_URL}, left out")
        url = ""
    url_xml = f"<details_url>{text(url)}</details_url>" if url else ""
    product_image = variant_image(product, {})
    base_name = clean(product.get("name")).strip()
    discontinued = setting.discontinued
    eligible = setting.autoship_eligible and not discontinued
    # variant_in_stock, with what depends only on the product decided once.
    purchasable = product.get("availability") != "disabled" and not discontinued
    tracking = product.get("inventory_tracking") or "none"
    return _ProductParts(
        product_id=product["id"], plain_ids=type(product["id"]) is int, many=many, url_xml=url_xml,
        url_image_xml=url_xml + (f"<image_url>{text(product_image)}</image_url>" if product_image else ""),
        groups_xml=ctx.groups_xml, base_name=base_name, base_name_xml=_cdata_clean(base_name[:MAX_NAME]),
        product_sku=product.get("sku") or "",
        frequency_xml=(f"<every>{int(setting.every)}</every><every_period>{int(setting.every_period)}"
                       "</every_period>" if eligible and setting.every and setting.every_period else ""),
        stock_tail=_STOCK_TAILS[bool(eligible), bool(discontinued)], purchasable=purchasable,
        per_variant_level=tracking == "variant",
        product_stock=purchasable and (int(product.get("inventory_level") or 0) > 0 if tracking == "product"
                                       else True))


def _variant_xml(product: dict, variant: dict, pid: str, common: _ProductParts, warnings: list[str]) -> str | None:
    """One variant's `<product>` element, or None (with a warning) when its price cannot be sent."""
    price = variant.get("calculated_price")
    if type(price) is int and 0 <= price <= MAX_WHOLE_PRICE:  # _price_text() inline: the usual case
        price = f"{price}.00"
    else:
        price = _price_text(price)
    if price is None:
        price = money(variant.get("calculated_price"))
        if price is None:
            price = money(variant.get("price"))
            if price is None:
                price = variant_price(product, {})
        if price is None or price < 0 or price > MAX_PRICE:
            warnings.append(f"{pid}: price {price} cannot be sent, left out")
            return None
    options = variant.get("option_values")
    if not options:
        label = ""
    elif len(options) == 1:  # variant_label() of the common one-option variant
        label = options[0].get("label")
        label = (label if type(label) is str and label.isprintable() else clean(label)) if label else ""
    else:
        label = variant_label(variant)
    if label and common.many:
        name = f"{common.base_name} - {label}"[:MAX_NAME]
        name_xml = f"<![CDATA[{name.replace(']]>', _CDATA_SPLIT)}]]>"
    else:
        name_xml = common.base_name_xml
    sku = variant.get("sku") or common.product_sku
    sku = (sku if type(sku) is str and sku.isprintable() else clean(sku)).strip()
    if len(sku) > MAX_ID:
        warnings.append(f"{pid}: SKU longer than {MAX_ID} characters, sku left out")
        sku = ""
    if "&" in sku or "<" in sku or ">" in sku:
        sku = escape(sku)
    if variant.get("image_url") and (image := _https(variant["image_url"])):
        url_image_xml = f"{common.url_xml}<image_url>{text(image)}</image_url>"
    else:
        url_image_xml = common.url_image_xml
    if not common.purchasable or variant.get("purchasing_disabled"):
        stock = False
    elif common.per_variant_level:
        level = variant.get("inventory_level")
        stock = (level if type(level) is int else int(level or 0)) > 0
    else:
        stock = common.product_stock
    pid_xml = pid if common.plain_ids and type(variant["id"]) is int else text(pid)  # an int's digits: no escaping
    return (f"<product><name>{name_xml}</name><product_id>{pid_xml}</product_id>"
            f"{f'<sku>{sku}</sku>' if sku else ''}{common.groups_xml}<price>{price}</price>"
            f"{url_image_xml}{common.stock_tail[stock]}{_extra_data(label) if label else ''}"
            f"{common.frequency_xml}</product>\n")


def products_open() -> str:
    return XML_HEADER + "<products>\n"


def products_close() -> str:
    return "</products>\n"


def product_ids_of(products: Iterable[dict]) -> list[int]:
    return [int(p["id"]) for p in products if p.get("id") is not None]
