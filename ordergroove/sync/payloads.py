"""Ordergroove request objects built from BigCommerce data: pure functions, no database or network.

Purchase post (seed 001, DECISIONS §3.3/§3.6/§3.7), update payment default (seed 000, DECISIONS §3.4). Payment
fields stay plaintext here (`cc_exp_date` "MM/YYYY", `cc_holder`, `cc_last_4`): the Ordergroove client
AES-encrypts them and applies each body's URL-encoding, and transliterates non-ASCII text (§3.15).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from bigcommerce_app.identifiers import og_product_id
from ordergroove.client import CARD_TYPES

PAYPAL_EXP_DATE = "12/2099"  # seed 000: "Value should always be 12/2099 for PayPal"
SUBSCRIPTION_MODIFIER_WORD = "subscription"  # seed 002: the modifier's name contains "Subscription"

# BigCommerce V2 order addresses carry the state's name; Ordergroove wants its code (`state_province_code`).
US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA", "Colorado": "CO",
    "Connecticut": "CT", "Delaware": "DE", "District of Columbia": "DC", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS",
    "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI",
    "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX",
    "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA", "West Virginia": "WV",
    "Wisconsin": "WI", "Wyoming": "WY", "Puerto Rico": "PR", "Guam": "GU", "Virgin Islands": "VI",
    "American Samoa": "AS", "Northern Mariana Islands": "MP", "Armed Forces Americas": "AA",
    "Armed Forces Europe": "AE", "Armed Forces Pacific": "AP",
}
CA_PROVINCES = {
    "Alberta": "AB", "British Columbia": "BC", "Manitoba": "MB", "New Brunswick": "NB",
    "Newfoundland and Labrador": "NL", "Nova Scotia": "NS", "Northwest Territories": "NT", "Nunavut": "NU",
    "Ontario": "ON", "Prince Edward Island": "PE", "Quebec": "QC", "Saskatchewan": "SK", "Yukon": "YT",
}
_STATE_CODES = {"US": {k.lower(): v for k, v in US_STATES.items()},
                "CA": {k.lower(): v for k, v in CA_PROVINCES.items()}}


class ProductSettingLike(Protocol):
    autoship_eligible: bool
    modifier_id: int | None

    def frequency_for_option(self, option_value_id: int) -> dict | None: ...


@dataclass(frozen=True)
class StoreProgram:
    """What of the store's Ordergroove settings the purchase post needs."""

    merchant_id: str
    offer: str = ""  # Global Offer ID (incentive group), DECISIONS §3.7
    owned_by_ordergroove: bool = False
    session_id: str = ""


@dataclass(frozen=True)
class Instrument:
    """A customer's payment instrument, whichever source it came from (BigCommerce or the gateway)."""

    kind: str  # "card" | "paypal"
    token: str
    brand: str = ""
    expiry_month: int | None = None
    expiry_year: int | None = None
    last_4: str = ""
    holder: str = ""
    billing: dict = field(default_factory=dict)  # V3-style address: address1, postal_code, country_code...

    @property
    def exp_date(self) -> str:
        if self.kind == "paypal":
            return PAYPAL_EXP_DATE
        if self.expiry_month and self.expiry_year and 1 <= int(self.expiry_month) <= 12 and int(self.expiry_year) > 0:
            return f"{int(self.expiry_month):02d}/{int(self.expiry_year)}"
        return ""


@dataclass
class PurchasePostPlan:
    payload: dict
    subscribed_products: list[str]
    notes: list[str]

    @property
    def has_subscriptions(self) -> bool:
        return bool(self.subscribed_products)


# --- Small mappings ----------------------------------------------------------------------------------------

def state_code(state: str | None, country_code: str | None) -> str:
    value = (state or "").strip()
    table = _STATE_CODES.get((country_code or "").upper())
    if table and value.lower() in table:
        return table[value.lower()]
    return value


def money(value: Any) -> str:
    """Ordergroove prices as strings with two decimals ("2.00"); BigCommerce V2 sends "2.0000"."""
    try:
        return str(Decimal(str(value or "0")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return "0.00"


def card_type(brand: str) -> str:
    """Ordergroove's card enum for a brand name, "" when Ordergroove has none for it."""
    return CARD_TYPES.get(str(brand or "").strip().upper().replace("-", "_"), "")


def _compact(mapping: dict, keep: tuple[str, ...] = ()) -> dict:
    return {k: v for k, v in mapping.items() if k in keep or v not in (None, "")}


def order_address(address: dict | None) -> dict:
    """A V2 order address (billing or shipping) as an Ordergroove address."""
    a = address or {}
    country = (a.get("country_iso2") or "").upper()
    return _compact({
        "first_name": a.get("first_name", ""),
        "last_name": a.get("last_name", ""),
        "company_name": a.get("company", ""),
        "address": a.get("street_1", ""),
        "address2": a.get("street_2", ""),
        "city": a.get("city", ""),
        "state_province_code": state_code(a.get("state"), country),
        "zip_postal_code": a.get("zip", ""),
        "phone": a.get("phone", ""),
        "country_code": country,
    }, keep=("first_name", "last_name", "address", "city", "state_province_code", "zip_postal_code",
             "country_code"))


def instrument_billing(address: dict | None) -> dict:
    """A V3 stored-instrument billing address as Ordergroove's `billing` (seed 000)."""
    a = address or {}
    country = (a.get("country_code") or "").upper()
    return _compact({
        "first_name": a.get("first_name", ""),
        "last_name": a.get("last_name", ""),
        "phone": a.get("phone", ""),
        "address": a.get("address1", ""),
        "address2": a.get("address2", ""),
        "city": a.get("city", ""),
        "country_code": country,
        "zip_postal_code": a.get("postal_code", ""),
        "state_province_code": a.get("state_or_province_code") or state_code(a.get("state_or_province"), country),
        "company_name": a.get("company", ""),
    })


# --- Subscription opt-in (DECISIONS §3.7) ----------------------------------------------------------------------

def line_frequency(line: dict, setting: ProductSettingLike | None) -> dict | None:
    """The line's subscription frequency ({"every", "every_period"}), or None for a one-time purchase.

    The line subscribes when it carries the product's subscription modifier (the imported modifier id, or a
    modifier whose name contains "Subscription") and the chosen option value maps, through the imported
    frequency table, to a frequency with every > 0 (0/0 is the one-time purchase option)."""
    if setting is None or not setting.autoship_eligible:
        return None
    for option in line.get("product_options") or []:
        name = str(option.get("display_name") or option.get("name") or "")
        try:
            option_id = int(option.get("product_option_id") or option.get("option_id") or 0)
        except (TypeError, ValueError):
            option_id = 0
        is_subscription_modifier = (setting.modifier_id and option_id == int(setting.modifier_id)) or (
            SUBSCRIPTION_MODIFIER_WORD in name.lower())
        if not is_subscription_modifier:
            continue
        try:
            value_id = int(option.get("value"))
        except (TypeError, ValueError):
            return None
        frequency = setting.frequency_for_option(value_id)
        if not frequency:
            return None
        every, period = int(frequency.get("every") or 0), int(frequency.get("every_period") or 0)
        return {"every": every, "every_period": period} if every > 0 and period > 0 else None
    return None


# --- Purchase post ---------------------------------------------------------------------------------------------

def purchase_post_payload(*, program: StoreProgram, order: dict, lines: list[dict], shipping_addresses: list[dict],
                          customer: dict | None, instrument: Instrument | None,
                          product_settings: dict[int, ProductSettingLike]) -> PurchasePostPlan:
    """The `create_request` object for one order: sent for every order, `payment` only when a line subscribes,
    `tracking_override` (offer, every, every_period) at product level on subscribed lines only."""
    notes: list[str] = []
    billing = order.get("billing_address") or {}
    products: list[dict] = []
    subscribed: list[str] = []
    subscribed_address_ids: list[Any] = []
    for line in lines:
        product_id = int(line.get("product_id") or 0)
        if product_id <= 0:
            notes.append(f"line {line.get('id')} ({line.get('name', '')}) is a custom item: not sent")
            continue
        entry = _product_entry(line, product_id, program, product_settings.get(product_id))
        if "subscription_info" in entry:
            subscribed.append(entry["product"])
            subscribed_address_ids.append(line.get("order_address_id"))
        products.append(entry)

    shipping = _shipping_for(shipping_addresses, subscribed_address_ids) or billing
    payload: dict[str, Any] = {"merchant_id": program.merchant_id}
    if program.owned_by_ordergroove and program.session_id:
        payload["session_id"] = program.session_id  # Ordergroove's cart tracking decides (DECISIONS §3.7)
    else:
        payload["og_cart_tracking"] = False  # opt-in comes from BigCommerce modifiers: no OG session
    payload["merchant_order_id"] = str(order.get("id"))
    payload["user"] = _compact(_user(order, customer or {}, billing, shipping),
                               keep=("user_id", "email", "shipping_address"))
    if subscribed:
        if instrument is None:
            notes.append("no payment instrument found for a subscription order")
        else:
            payload["payment"] = purchase_post_payment(instrument, holder_fallback=_full_name(billing))
    payload["products"] = products
    return PurchasePostPlan(payload=payload, subscribed_products=subscribed, notes=notes)


def _product_entry(line: dict, product_id: int, program: StoreProgram,
                   setting: ProductSettingLike | None) -> dict[str, Any]:
    """One order line as a `products` entry; a subscribed line carries `subscription_info` and its
    `tracking_override`."""
    variant_id = line.get("variant_id")
    product = og_product_id(product_id, variant_id) if variant_id else str(product_id)
    quantity = int(line.get("quantity") or 0)
    total = Decimal(money(line.get("discounted_total_inc_tax", line.get("total_inc_tax"))))
    unit = money(line.get("price_inc_tax", line.get("base_price")))
    entry: dict[str, Any] = {
        "product": product,
        "sku": line.get("sku", ""),
        "purchase_info": {
            "quantity": str(quantity),
            "price": unit,
            "discounted_price": money(total / quantity) if quantity else unit,
            "total": money(total),
        },
    }
    frequency = line_frequency(line, setting)
    if frequency:
        override = {"every": frequency["every"], "every_period": frequency["every_period"]}
        if program.offer:
            override = {"offer": program.offer, **override}
        entry["subscription_info"] = {"quantity": quantity}
        entry["tracking_override"] = override
    return entry


def _user(order: dict, customer: dict, billing: dict, shipping: dict) -> dict:
    return {
        "user_id": str(order.get("customer_id")),
        "first_name": customer.get("first_name") or billing.get("first_name", ""),
        "last_name": customer.get("last_name") or billing.get("last_name", ""),
        "email": customer.get("email") or billing.get("email", ""),
        "phone_number": customer.get("phone") or billing.get("phone", ""),
        "shipping_address": order_address(shipping),
        "billing_address": order_address(billing),
    }


def _shipping_for(addresses: list[dict], wanted_ids: list[Any]) -> dict | None:
    for wanted in wanted_ids:
        for address in addresses:
            if wanted is not None and address.get("id") == wanted:
                return address
    return addresses[0] if addresses else None


def _full_name(address: dict) -> str:
    return " ".join(p for p in (address.get("first_name", ""), address.get("last_name", "")) if p).strip()


def purchase_post_payment(instrument: Instrument, *, holder_fallback: str = "") -> dict:
    """`payment` of the purchase post: the token Ordergroove hands back when placing recurring orders
    (`orderTokenId`), the expiry (AES by the client), the card type; PayPal per D-PAYPAL."""
    payment: dict[str, Any] = {"token_id": instrument.token}
    if instrument.exp_date:
        payment["cc_exp_date"] = instrument.exp_date
    holder = instrument.holder or _full_name(instrument.billing) or holder_fallback
    if instrument.kind == "paypal":
        payment["payment_method"] = "PayPal"
    elif card_type(instrument.brand):
        payment["cc_type"] = card_type(instrument.brand)
    if holder:
        payment["cc_holder"] = holder
    return payment


# --- The instrument the order was paid with (DECISIONS §3.6, bigcommerce.md §4.5) -------------------------------

# Transactions that moved (or reserved) the shopper's money; refunds and voids name an instrument too but do not
# say what the order was paid with.
CHARGE_EVENTS = frozenset({"purchase", "authorization", "capture", "settled", "pending"})
FAILED_TRANSACTION_STATUSES = frozenset({"error", "failed", "declined"})


def vaulted_transaction(transactions: list[dict]) -> dict | None:
    """The order's latest successful charge made with a vaulted instrument (it carries a
    `payment_instrument_token`); None when the order was paid otherwise (a card not saved, offline, gift
    certificate, store credit) or has no transactions."""
    found = None
    for tx in transactions or []:
        if not tx.get("payment_instrument_token"):
            continue
        if str(tx.get("event") or "").lower() not in CHARGE_EVENTS:
            continue
        if str(tx.get("status") or "").lower() in FAILED_TRANSACTION_STATUSES:
            continue
        found = tx  # BigCommerce lists transactions oldest first: the last one is what finally paid
    return found


def instrument_from_transaction(tx: dict) -> Instrument:
    """The transaction's own view of its instrument, for when the customer's stored instruments do not list the
    token (removed since, or not listed yet): the token is what recurring orders charge; card type, expiry and
    last 4 come from `credit_card`; a PayPal wallet has no card."""
    card = tx.get("credit_card") if isinstance(tx.get("credit_card"), dict) else {}
    where = f"{tx.get('method', '')} {tx.get('gateway', '')} {tx.get('payment_method_id', '')}".lower()
    kind = "paypal" if not card and "paypal" in where else "card"
    return Instrument(kind=kind, token=str(tx["payment_instrument_token"]), brand=str(card.get("card_type") or ""),
                      expiry_month=_int_or_none(card.get("card_expiry_month")),
                      expiry_year=_int_or_none(card.get("card_expiry_year")),
                      last_4=str(card.get("card_last4") or ""))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# --- Update payment default (seed 000) --------------------------------------------------------------------------

def payment_default_payload(instrument: Instrument) -> dict:
    """`payment` of update_payment_default, plaintext: card type enum, expiry MM/YYYY, last 4, holder, token,
    billing. PayPal: `payment_method` PayPal, expiry 12/2099, no card type or label (D-PAYPAL)."""
    payment: dict[str, Any] = {}
    if instrument.kind == "paypal":
        payment["payment_method"] = "PayPal"
    elif card_type(instrument.brand):
        payment["card_type"] = card_type(instrument.brand)
    if instrument.exp_date:
        payment["cc_exp_date"] = instrument.exp_date
    if instrument.kind != "paypal" and instrument.last_4:
        payment["cc_last_4"] = instrument.last_4
    holder = instrument.holder or _full_name(instrument.billing)
    if holder:
        payment["cc_holder"] = holder
    payment["token_id"] = instrument.token
    billing = instrument_billing(instrument.billing)
    if billing:
        payment["billing"] = billing
    return payment
