"""A customer's payment instrument, from the store's payment data source: BigCommerce stored instruments
(default) or the payment gateway's Customers API (seed 004), normalised to payloads.Instrument."""

from __future__ import annotations

from bigcommerce_app.client import BigCommerceClient, BigCommerceNotFound
from bigcommerce_app.payment_gateway import PaymentGatewayClient
from ordergroove.models import OrdergrooveSettings
from ordergroove.sync.payloads import Instrument


def from_bigcommerce(row: dict) -> Instrument | None:
    """A V3 stored instrument (bigcommerce.md §4.5); bank accounts are not something Ordergroove can charge."""
    kind = {"stored_card": "card", "stored_paypal_account": "paypal"}.get(row.get("type", ""))
    if kind is None or not row.get("token"):
        return None
    billing = row.get("billing_address") or {}
    return Instrument(kind=kind, token=str(row["token"]), brand=str(row.get("brand") or ""),
                      expiry_month=_int(row.get("expiry_month")), expiry_year=_int(row.get("expiry_year")),
                      last_4=str(row.get("last_4") or ""), billing=billing)


def from_gateway(row: dict) -> Instrument | None:
    card = row.get("card") if isinstance(row.get("card"), dict) else row
    kind = "paypal" if "paypal" in str(row.get("type") or "").lower() else "card"
    token = row.get("token") or row.get("uuid") or row.get("id")
    if not token:
        return None
    return Instrument(
        kind=kind, token=str(token), brand=str(card.get("brand") or card.get("card_brand") or ""),
        expiry_month=_int(card.get("exp_month") or card.get("expiry_month")),
        expiry_year=_int(card.get("exp_year") or card.get("expiry_year")),
        last_4=str(card.get("last4") or card.get("last_4") or ""),
        holder=str(card.get("holder_name") or card.get("name") or ""),
        billing=row.get("billing_address") or {})


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _pick(rows: list[tuple[Instrument | None, bool]], token: str | None) -> Instrument | None:
    usable = [(inst, default) for inst, default in rows if inst is not None]
    if token:
        for inst, _default in usable:
            if inst.token == token:
                return inst
    for inst, default in usable:
        if default:
            return inst
    cards = [inst for inst, _default in usable if inst.kind == "card"]
    return cards[0] if cards else (usable[0][0] if usable else None)


def default_instrument(og_settings: OrdergrooveSettings, bc: BigCommerceClient, customer_id: int, *,
                       token: str | None = None) -> Instrument | None:
    """The customer's instrument with `token` if given, else the default one (else the first card)."""
    if og_settings.payment_data_source == OrdergrooveSettings.PaymentSource.GATEWAY:
        gateway = PaymentGatewayClient(og_settings.gateway_base_url, og_settings.gateway_api_key)
        customer = gateway.customer_by_merchant_id(customer_id)
        if not customer or not customer.get("uuid"):
            return None
        rows = gateway.payment_methods(customer["uuid"])
        return _pick([(from_gateway(r), bool(r.get("is_default") or r.get("default"))) for r in rows], token)
    try:
        rows = bc.stored_instruments(customer_id)
    except BigCommerceNotFound:
        return None
    return _pick([(from_bigcommerce(r), bool(r.get("is_default"))) for r in rows], token)
