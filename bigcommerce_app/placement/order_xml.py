"""Ordergroove's order-placement XML in and out (ordergroove.md §8.2–§8.4).

Parsing goes through defusedxml with DTDs forbidden, so entity expansion (billion laughs) and external
references are refused before anything is built. Only the elements the placement needs are read; unknown
ones are ignored, as Ordergroove adds fields over time.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - building our own answers only; parsing uses defusedxml
from dataclasses import dataclass, field
from decimal import Decimal

from anyascii import anyascii
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from middleware.plumbing.inputs import InputError, bounded_decimal, strict_int

SUCCESS = "SUCCESS"
ERROR = "ERROR"

# Ordergroove's placement error codes (DECISIONS §3.10, ordergroove.md §8.4).
CODE_PLACEMENT_FAILED = "020"
CODE_CARD_EXPIRED = "120"
CODE_INVALID_ADDRESS = "130"
CODE_DECLINED = "140"
CODE_PAYPAL = "150"
CODE_DECLINED_DO_NOT_RETRY = "160"
CODE_NO_CARD_ON_FILE = "170"
CODE_RETRY_LATER = "999"
# Not an Ordergroove placement code: the authorization header did not verify (as Ordergroove's SFCC cartridge).
CODE_FORBIDDEN = "403"

# The free-shipping flag Ordergroove enables per merchant (seed 002) is not documented by name; accept the
# plausible spellings, otherwise free shipping means orderShipping = 0.00 (DECISIONS §3.11).
FREE_SHIPPING_ELEMENTS = ("orderFreeShipping", "freeShipping", "free_shipping", "orderShippingFree")
TRUE_WORDS = {"1", "true", "yes", "y", "t"}

# Numbers from the order XML are bounded before use (a `<qty>1e999999</qty>` is a million-digit integer once
# converted). A recurring order of more than a million units of one item, or a money value of a billion, is not
# one Ordergroove places; the order's total must also fit the placement record (12 digits, 2 places).
QTY_MAX = 1_000_000
MONEY_MAX = Decimal("1000000000")


class PlacementXMLError(ValueError):
    """The body is not a usable order XML (malformed, unsafe, or missing what a placement needs)."""


@dataclass(frozen=True)
class Address:
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    street_1: str = ""
    street_2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Item:
    product_id: str
    sku: str
    name: str
    qty: int
    final_price: Decimal
    price: Decimal | None
    discount: Decimal
    public_id: str = ""
    item_type: str = ""


@dataclass(frozen=True)
class Incentive:
    target: str
    target_id: str
    code: str


@dataclass
class PlacementOrder:
    og_order_id: str
    public_id: str
    og_date: str
    currency: str
    subtotal: Decimal
    subtotal_discount: Decimal
    sales_tax: Decimal
    discount: Decimal
    shipping: Decimal
    total: Decimal
    token_id: str
    payment_method: str
    cc_type: str
    free_shipping_flag: bool | None
    customer_partner_id: str
    customer_email: str
    customer_first_name: str
    customer_last_name: str
    shipping_address: Address
    billing_address: Address
    items: list[Item] = field(default_factory=list)
    incentives: list[Incentive] = field(default_factory=list)

    @property
    def order_incentive_codes(self) -> list[str]:
        """Codes of order-level incentives (`<target>order</target>`), as Ordergroove's SFCC cartridge reads them."""
        return [i.code for i in self.incentives if i.code and i.target.lower() in ("order", "")]


def _text(parent: ET.Element | None, tag: str) -> str:
    if parent is None:
        return ""
    node = parent.find(tag)
    return (node.text or "").strip() if node is not None else ""


def _decimal(parent: ET.Element | None, tag: str, *, required: bool = False) -> Decimal:
    raw = _text(parent, tag)
    if not raw:
        if required:
            raise PlacementXMLError(f"<{tag}> is required")
        return Decimal("0")
    try:
        return bounded_decimal(raw, what=f"<{tag}>", maximum=MONEY_MAX)
    except InputError as exc:
        raise PlacementXMLError(str(exc)) from exc


def _qty(node: ET.Element) -> int:
    raw = _text(node, "qty")
    try:  # "2" or "2.0"; nothing with an exponent, no NaN/Infinity, nothing past QTY_MAX
        value = bounded_decimal(raw, what="<qty>", maximum=Decimal(QTY_MAX))
        if value != value.to_integral_value():
            raise InputError("<qty> is not whole")
        return strict_int(int(value), minimum=1, maximum=QTY_MAX, what="<qty>")
    except InputError as exc:
        raise PlacementXMLError(f"<qty> must be a whole number from 1 to {QTY_MAX}, not {raw[:20]!r}.") from exc


def _address(customer: ET.Element, kind: str) -> Address:
    def part(name: str) -> str:
        return _text(customer, f"customer{kind}{name}")

    street_1 = part("Address1") or part("Address")
    return Address(first_name=part("FirstName"), last_name=part("LastName"), company=part("Company"),
                   street_1=street_1, street_2=part("Address2"), city=part("City"), state=part("State"),
                   zip=part("Zip"), country=part("Country"), phone=part("Phone"))


def _root(body: bytes) -> ET.Element:
    """The `<order>` element of a body parsed without DTDs, entities or external references."""
    if not body or not body.strip():
        raise PlacementXMLError("The request body is empty.")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise PlacementXMLError(f"The order XML uses forbidden constructs ({exc.__class__.__name__}).") from exc
    except ET.ParseError as exc:
        raise PlacementXMLError(f"The request body is not well-formed XML: {exc}") from exc
    if root.tag != "order":
        raise PlacementXMLError(f"The root element must be <order>, not <{root.tag[:40]}>.")
    return root


def _items(items_node: ET.Element, head: ET.Element) -> list[Item]:
    """The order's `<item>`s, each with a quantity, a non-negative `finalPrice` and a product id or SKU; the
    order's total (lines, shipping, tax) bounded."""
    items = []
    for node in items_node.findall("item"):
        qty = _qty(node)
        final_price = _decimal(node, "finalPrice", required=True)
        if final_price < 0:
            raise PlacementXMLError("<finalPrice> must not be negative.")
        price_raw = _text(node, "price")
        items.append(Item(
            product_id=_text(node, "product_id"), sku=_text(node, "sku"), name=_text(node, "name"), qty=qty,
            final_price=final_price, price=_decimal(node, "price") if price_raw else None,
            discount=_decimal(node, "discount"), public_id=_text(node, "publicId"), item_type=_text(node, "type"),
        ))
        if not items[-1].product_id and not items[-1].sku:
            raise PlacementXMLError("Every <item> needs a <product_id> or a <sku>.")
    if not items:
        raise PlacementXMLError("The order has no <item>.")
    line_total = sum((item.final_price for item in items), Decimal("0"))
    if line_total + abs(_decimal(head, "orderShipping")) + abs(_decimal(head, "orderSalesTax")) >= MONEY_MAX:
        raise PlacementXMLError(f"The order's total is not below {MONEY_MAX:,}.")
    return items


def _incentives(root: ET.Element) -> list[Incentive]:
    incentives_node = root.find("incentives")
    if incentives_node is None:
        return []
    return [Incentive(target=_text(node, "target"), target_id=_text(node, "target_id"), code=_text(node, "code"))
            for node in list(incentives_node)]


def _free_shipping_flag(head: ET.Element) -> bool | None:
    """The first free-shipping element present decides; None when the order carries none."""
    for tag in FREE_SHIPPING_ELEMENTS:
        node = head.find(tag)
        if node is not None:
            return (node.text or "").strip().lower() in TRUE_WORDS
    return None


def parse_order(body: bytes) -> PlacementOrder:
    """Parse one order XML. Raises PlacementXMLError with a message fit for the ERROR answer."""
    root = _root(body)
    head = root.find("head")
    customer = root.find("customer")
    items_node = root.find("items")
    if head is None or customer is None or items_node is None:
        raise PlacementXMLError("The order XML needs <head>, <customer> and <items>.")
    og_order_id = _text(head, "orderOgId")
    if not og_order_id or len(og_order_id) > 64:
        raise PlacementXMLError("<orderOgId> is required (at most 64 characters).")
    partner_id = _text(customer, "customerPartnerId")
    if not partner_id:
        raise PlacementXMLError("<customerPartnerId> is required.")
    items = _items(items_node, head)
    return PlacementOrder(
        og_order_id=og_order_id, public_id=_text(head, "orderPublicId"), og_date=_text(head, "orderOgDate"),
        currency=_text(head, "orderCurrency").upper(), subtotal=_decimal(head, "orderSubtotalValue"),
        subtotal_discount=_decimal(head, "orderSubtotalDiscount"), sales_tax=_decimal(head, "orderSalesTax"),
        discount=_decimal(head, "orderDiscount"), shipping=_decimal(head, "orderShipping"),
        total=_decimal(head, "orderTotalValue"), token_id=_text(head, "orderTokenId"),
        payment_method=_text(head, "orderPaymentMethod"), cc_type=_text(head, "orderCcType"),
        free_shipping_flag=_free_shipping_flag(head), customer_partner_id=partner_id,
        customer_email=_text(customer, "customerEmail"), customer_first_name=_text(customer, "customerFirstName"),
        customer_last_name=_text(customer, "customerLastName"),
        shipping_address=_address(customer, "Shipping"), billing_address=_address(customer, "Billing"),
        items=items, incentives=_incentives(root),
    )


def customer_partner_id_peek(body: bytes) -> str:
    """`customerPartnerId` of a body that parses, else "" (used only to enrich error logs)."""
    try:
        return parse_order(body).customer_partner_id
    except PlacementXMLError:
        return ""


# --- Answers ------------------------------------------------------------------------------------------------

def _document(children: list[tuple[str, str]]) -> bytes:
    root = ET.Element("order")
    for tag, text in children:
        ET.SubElement(root, tag).text = text
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def answer_success(bc_order_id: int | str) -> bytes:
    """`<order><code>SUCCESS</code><orderId>…</orderId></order>` (ordergroove.md §8.3)."""
    return _document([("code", SUCCESS), ("orderId", str(bc_order_id))])


def answer_error(error_code: str, message: str) -> bytes:
    """`<order><code>ERROR</code><errorCode>…</errorCode><errorMsg>…</errorMsg></order>`; the message is
    transliterated to ASCII (Ordergroove is ASCII-only, ordergroove.md §1) and kept short."""
    text = " ".join(anyascii(message or "").split())[:1000] or "Order could not be placed."
    return _document([("code", ERROR), ("errorCode", error_code), ("errorMsg", text)])
