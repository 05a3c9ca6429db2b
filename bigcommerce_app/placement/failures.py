"""Why a placement failed, as an Ordergroove placement error code (DECISIONS §3.10) with BigCommerce's own words."""

from __future__ import annotations

from bigcommerce_app.client import BigCommerceError
from bigcommerce_app.placement import order_xml


class PlacementFailure(Exception):
    """The order cannot be placed: `code` is the Ordergroove error code, `message` says why in BigCommerce's
    words where BigCommerce said something."""

    def __init__(self, code: str, message: str, *, alert: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.alert = alert


def failure_from_bc(exc: BigCommerceError, what: str, *, client_error_code: str = order_xml.CODE_PLACEMENT_FAILED
                    ) -> PlacementFailure:
    if exc.status == 401:
        return PlacementFailure(order_xml.CODE_RETRY_LATER,
                                f"BigCommerce refused the app's token while trying to {what}: the merchant must "
                                "open the app in the control panel to re-authorize it.", alert=True)
    if exc.transient:
        return PlacementFailure(order_xml.CODE_RETRY_LATER, f"BigCommerce could not {what}: {exc.message}")
    return PlacementFailure(client_error_code, f"BigCommerce refused to {what}: {exc.message}")
