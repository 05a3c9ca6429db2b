"""Step 4 of a placement: the BigCommerce customer and the stored card Ordergroove holds, checked before any order
exists (no order is created for a card that cannot pay)."""

from __future__ import annotations

from datetime import date

from bigcommerce_app.client import BigCommerceClient, BigCommerceError
from bigcommerce_app.placement import order_xml
from bigcommerce_app.placement.failures import PlacementFailure, failure_from_bc
from bigcommerce_app.placement.order_xml import PlacementOrder
from middleware.plumbing.inputs import INT32_MAX, InputError, strict_int


def placement_customer_and_instrument(client: BigCommerceClient, order: PlacementOrder) -> tuple[dict, dict]:
    """The BigCommerce customer (`customerPartnerId` = customer id, DECISIONS §3.6) and the stored card
    Ordergroove holds (`orderTokenId` = the stored-instrument token), checked before an order exists."""
    try:
        customer_id = strict_int(order.customer_partner_id, minimum=1, maximum=INT32_MAX)
    except InputError as exc:
        raise PlacementFailure(order_xml.CODE_PLACEMENT_FAILED,
                               f"customerPartnerId {order.customer_partner_id!r} is not a BigCommerce customer "
                               "id.") from exc
    try:
        customer = client.customer(customer_id)
        if customer is None:
            raise PlacementFailure(order_xml.CODE_PLACEMENT_FAILED,
                                   f"BigCommerce customer {customer_id} does not exist.")
        instruments = client.stored_instruments(customer_id)
    except BigCommerceError as exc:
        raise failure_from_bc(exc, "read the customer and stored cards") from exc
    if not order.token_id:
        raise PlacementFailure(order_xml.CODE_NO_CARD_ON_FILE, "The order carries no orderTokenId (no card on file).")
    instrument = next((i for i in instruments if i.get("token") == order.token_id), None)
    if instrument is None:
        raise PlacementFailure(order_xml.CODE_NO_CARD_ON_FILE,
                               f"BigCommerce customer {customer_id} has no stored payment instrument with the "
                               "token Ordergroove holds (no card on file).")
    if instrument.get("type") == "stored_card" and _card_expired(instrument):
        raise PlacementFailure(order_xml.CODE_CARD_EXPIRED,
                               f"The stored card ending {instrument.get('last_4', '')} expired "
                               f"{instrument.get('expiry_month')}/{instrument.get('expiry_year')}.")
    return customer, instrument


def _card_expired(instrument: dict) -> bool:
    try:
        month, year = int(instrument.get("expiry_month") or 0), int(instrument.get("expiry_year") or 0)
    except (TypeError, ValueError):
        return False
    if not (1 <= month <= 12) or year < 2000:  # BigCommerce sends 0 when it does not know: let the gateway decide
        return False
    today = date.today()
    return (year, month) < (today.year, today.month)
