"""Client of the store's payment gateway (a third vendor, beside BigCommerce and Ordergroove): its v2 Customers
API (seed 004). The only module that builds the gateway's URLs; imports only `middleware.plumbing` (a vendor
client, the layer under the stores and the flows).

Used by the BigCommerce→Ordergroove sync (`ordergroove.sync.instruments`, a purchase post's payment data) when a
store's vaulted cards live at its gateway rather than in BigCommerce stored instruments
(OrdergrooveSettings.payment_data_source = "gateway", with `gateway_base_url` and `gateway_api_key`). Recurring-
order placement charges BigCommerce stored instruments and does not call the gateway.

Two calls: `GET /v2/merchants/customers/{merchant_customer_id}` (our BigCommerce customer id → the gateway's
customer `uuid`) and `GET /v2/customers/{uuid}/payment-methods` (`{"status": "approved", "data": [...]}`).

Assumptions where seed 004 is silent (stated so they can be checked against the real gateway):
- authentication is `Authorization: Bearer <api key>` (the seed says only "valid Authorization header");
- a payment method carries its token as `token` (else `uuid`/`id`), its kind as `type` ("card", "paypal"), card
  fields either at top level or under `card` (`brand`, `last4`/`last_4`, `exp_month`/`expiry_month`,
  `exp_year`/`expiry_year`, `holder_name`/`name`), the default flag as `is_default`/`default`, and an optional
  `billing_address` in BigCommerce V3 shape (`address1`, `postal_code`, `country_code`...).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings

from middleware.plumbing.http import VendorError, send


class PaymentGatewayError(VendorError):
    vendor = "Payment gateway"


class PaymentGatewayClient:
    def __init__(self, base_url: str, api_key: str, *, timeout: float | None = None):
        if not base_url or not api_key:
            raise PaymentGatewayError("The payment gateway's base URL and API key are not configured", status=None,
                                      kind="config")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        # Same budget as Ordergroove: this call sits on the same sync path (DECISIONS §3.14).
        self.timeout = settings.ORDERGROOVE_TIMEOUT if timeout is None else timeout

    def _get(self, path: str, params: dict | None = None) -> Any:
        response, _timing = send("GET", f"{self.base_url}{path}", timeout=self.timeout,
                                 error_class=PaymentGatewayError, params=params, checked=True,
                                 headers={"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise PaymentGatewayError(f"GET {path} failed", status=response.status_code, body=response.text[:2000],
                                      headers=response.headers)
        try:
            data = response.json()
        except ValueError:
            raise PaymentGatewayError(f"GET {path} answered non-JSON", status=response.status_code) from None
        if isinstance(data, dict) and data.get("status") in ("invalid-request", "error"):
            raise PaymentGatewayError(f"GET {path}: gateway status {data.get('status')}", status=400,
                                      body=response.text[:2000])
        return data

    def customer_by_merchant_id(self, merchant_customer_id: str | int) -> dict | None:
        data = self._get(f"/v2/merchants/customers/{quote(str(merchant_customer_id), safe='')}")
        if isinstance(data, dict) and isinstance(data.get("data"), dict):
            return data["data"]
        return data if isinstance(data, dict) and data.get("uuid") else None

    def payment_methods(self, customer_uuid: str, *, limit: int = 50) -> list[dict]:
        methods: list[dict] = []
        offset = 0
        while True:
            data = self._get(f"/v2/customers/{quote(str(customer_uuid), safe='')}/payment-methods",
                             {"limit": limit, "offset": offset}) or {}
            page = data.get("data") or [] if isinstance(data, dict) else []
            methods.extend(page)
            if len(page) < limit:
                return methods
            offset += limit
