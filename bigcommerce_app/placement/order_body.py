"""The V2 order body of a placement (`POST /v2/orders`, bigcommerce.md §4.2): lines priced from Ordergroove's
`finalPrice`, addresses, shipping, discount and staff notes, created unpaid (`status_id: 0`) to be charged next."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from bigcommerce_app.client import BigCommerceClient, BigCommerceError
from bigcommerce_app.identifiers import parse_og_product_id
from bigcommerce_app.models import OrderPlacement
from bigcommerce_app.placement import order_xml
from bigcommerce_app.placement.failures import PlacementFailure, failure_from_bc
from bigcommerce_app.placement.order_status import STATUS_INCOMPLETE
from bigcommerce_app.placement.order_xml import Address, PlacementOrder
from ordergroove.constants import RECURRING_ORDER_EXTERNAL_SOURCE
from ordergroove.models import OrdergrooveSettings

CENT = Decimal("0.01")
V2_PLACES = Decimal("0.0001")  # V2 decimals carry four places


def _money(value: Decimal) -> str:
    """V2 order-level amounts (`base_shipping_cost`, `discount_amount`, ...): "Float-As-String" in the reference."""
    return str(value.quantize(V2_PLACES, rounding=ROUND_HALF_UP))


def _money_number(value: Decimal) -> float:
    """A line price as the JSON number `orderCatalogProduct_Post` types it (`price_inc_tax`, `price_ex_tax`).

    Exact, not rounded by the float: the value has four places and is below 10**9 (order_xml bounds every amount),
    so at most 13 significant digits, and any decimal of at most 15 significant digits survives the round trip
    through an IEEE double; ``repr`` (what ``json`` writes) gives back the shortest text, the same decimal."""
    quantized = value.quantize(V2_PLACES, rounding=ROUND_HALF_UP)
    number = float(quantized)
    if Decimal(repr(number)) != quantized:  # unreachable within the bounds; never send a changed price
        raise PlacementFailure(order_xml.CODE_PLACEMENT_FAILED, f"The price {quantized} cannot be sent exactly.")
    return number


def _v2_address(address: Address, *, email: str) -> dict:
    body = {"first_name": address.first_name, "last_name": address.last_name, "company": address.company,
            "street_1": address.street_1, "street_2": address.street_2, "city": address.city,
            "state": address.state, "zip": address.zip, "phone": address.phone, "email": email}
    country = address.country.strip()
    if len(country) == 2:
        body["country_iso2"] = country.upper()
    elif country:
        body["country"] = country
    return body


def _address_from_instrument(instrument: dict) -> Address:
    billing = instrument.get("billing_address") or {}
    return Address(first_name=billing.get("first_name", ""), last_name=billing.get("last_name", ""),
                   company=billing.get("company", ""), street_1=billing.get("address1", ""),
                   street_2=billing.get("address2", ""), city=billing.get("city", ""),
                   state=billing.get("state_or_province", ""), zip=billing.get("postal_code", ""),
                   country=billing.get("country_code", ""), phone=billing.get("phone", ""))


def _address_complete(address: Address) -> bool:
    return all([address.first_name or address.last_name, address.street_1, address.city, address.zip,
                address.country])


def placement_lines(client: BigCommerceClient, order: PlacementOrder) -> list[dict]:
    """One BigCommerce line per Ordergroove item, priced from `finalPrice` (Ordergroove's price lock: "pick up
    the final price for each item"). Items name the variant as `{product}_{variant}` (DECISIONS §3.6); a bare
    product id or an unknown form falls back to the SKU. Ordergroove's `orderSalesTax` is spread over the lines'
    tax-inclusive prices so the charged total is Ordergroove's; BigCommerce adds no tax of its own when both
    prices are given."""
    lines = []
    for item in order.items:
        product_id, variant_id = _variant_of(client, item)
        unit = item.final_price / item.qty
        lines.append({"product_id": product_id, "quantity": item.qty, "_unit": unit, "_final": item.final_price,
                      **({"variant_id": variant_id} if variant_id else {})})
    total_final = sum((item.final_price for item in order.items), Decimal("0"))
    tax_left = order.sales_tax if order.sales_tax > 0 else Decimal("0")
    for index, line in enumerate(lines):
        if tax_left and total_final > 0:
            share = (order.sales_tax * line["_final"] / total_final).quantize(CENT)
            share = tax_left if index == len(lines) - 1 else min(share, tax_left)
            tax_left -= share
        else:
            share = Decimal("0")
        unit = line.pop("_unit")
        line.pop("_final")
        line["price_ex_tax"] = _money_number(unit)
        line["price_inc_tax"] = _money_number(unit + share / line["quantity"])
    return lines


def _variant_of(client: BigCommerceClient, item) -> tuple[int, int | None]:
    try:
        product_id, variant_id = parse_og_product_id(item.product_id)
    except (TypeError, ValueError):
        product_id, variant_id = None, None
    if product_id and variant_id:
        return product_id, variant_id
    if item.sku:
        try:
            variants = client.variants_find(sku=item.sku)
        except BigCommerceError as exc:
            raise failure_from_bc(exc, f"look up SKU {item.sku}") from exc
        # A bare number may be our product id or a foreign one: prefer the SKU's variant of that product.
        preferred = [v for v in variants if product_id and int(v["product_id"]) == product_id] or variants
        if preferred:
            return int(preferred[0]["product_id"]), int(preferred[0]["id"])
    if product_id:
        return product_id, None  # a product without options: BigCommerce uses its base variant
    raise PlacementFailure(order_xml.CODE_PLACEMENT_FAILED,
                           f"Item {item.product_id or item.sku!r} ({item.name}) is not in the BigCommerce catalog.")


def placement_free_shipping(og_settings: OrdergrooveSettings, order: PlacementOrder) -> bool:
    """DECISIONS §3.11: with the console's free-shipping coupon enabled, an explicit flag decides, otherwise
    `orderShipping` = 0.00 does."""
    if not og_settings.free_shipping_enabled:
        return False
    if order.free_shipping_flag is not None:
        return order.free_shipping_flag
    return order.shipping == 0


def placement_order_body(client: BigCommerceClient, og_settings: OrdergrooveSettings, order: PlacementOrder,
                         customer: dict, instrument: dict, row: OrderPlacement) -> dict:
    email = order.customer_email or customer.get("email") or ""
    billing = order.billing_address if _address_complete(order.billing_address) else _address_from_instrument(
        instrument)
    shipping = order.shipping_address if _address_complete(order.shipping_address) else billing
    if not _address_complete(billing):
        raise PlacementFailure(order_xml.CODE_INVALID_ADDRESS,
                               "The billing address is incomplete (name, street, city, zip and country needed).")
    lines = placement_lines(client, order)
    free_shipping = placement_free_shipping(og_settings, order)
    shipping_cost = Decimal("0") if free_shipping else max(order.shipping, Decimal("0"))
    items_total = sum((Decimal(repr(line["price_inc_tax"])) * line["quantity"] for line in lines), Decimal("0"))
    discount = min(max(order.subtotal_discount, Decimal("0")), items_total)
    codes = list(dict.fromkeys(order.order_incentive_codes))
    if free_shipping and og_settings.free_shipping_coupon:
        codes.append(og_settings.free_shipping_coupon)
    notes = [f"Ordergroove recurring order {order.og_order_id}"
             + (f" (public id {order.public_id})" if order.public_id else "")
             + (f", Ordergroove date {order.og_date}" if order.og_date else "") + "."]
    if order.order_incentive_codes:
        notes.append(f"Ordergroove incentives: {', '.join(order.order_incentive_codes)} "
                     f"(order discount {_money(discount)}).")
    if free_shipping:
        coupon = og_settings.free_shipping_coupon
        notes.append(f"Free shipping{f' (coupon {coupon})' if coupon else ''}.")
    body = {
        "customer_id": int(customer["id"]),
        "status_id": STATUS_INCOMPLETE,
        "billing_address": _v2_address(billing, email=email),
        "shipping_addresses": [{**_v2_address(shipping, email=email), "shipping_method": "Ordergroove subscription"}],
        "products": lines,
        "base_shipping_cost": _money(shipping_cost),
        "shipping_cost_ex_tax": _money(shipping_cost),
        "shipping_cost_inc_tax": _money(shipping_cost),
        "discount_amount": _money(discount),
        "staff_notes": " ".join(notes),
        "external_source": RECURRING_ORDER_EXTERNAL_SOURCE,
        "external_order_id": order.og_order_id,
    }
    row.total = (items_total + shipping_cost - discount).quantize(CENT)
    row.free_shipping = free_shipping
    row.coupon_codes = codes
    row.detail = {**(row.detail or {}), "staff_notes": body["staff_notes"], "lines": [
        {k: line.get(k) for k in ("product_id", "variant_id", "quantity", "price_ex_tax", "price_inc_tax")}
        for line in lines], "shipping": _money(shipping_cost), "discount": _money(discount),
        "og_total": str(order.total), "token_last_4": instrument.get("last_4", "")}
    return body
