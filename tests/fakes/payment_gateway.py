"""A fake of the payment gateway's v2 Customers API (seed 004): customers looked up by `merchant_customer_id`,
their payment methods by customer `uuid`; `Authorization: Bearer <api key>` required (our assumption, see
bigcommerce_app/payment_gateway.py)."""

from __future__ import annotations

import uuid

from tests.fakes.base import FakeServer, Request, Response


class FakePaymentGateway(FakeServer):
    name = "fake-payment-gateway"

    def __init__(self, *, api_key: str = "gw-key-0123456789abcdef", **kwargs):
        self.api_key = api_key
        self.customers: dict[str, dict] = {}  # uuid -> customer
        self.methods: dict[str, list[dict]] = {}  # uuid -> payment methods
        super().__init__(**kwargs)

    def reset(self) -> None:
        with self.lock:
            self.customers.clear()
            self.methods.clear()
        self.clear_requests()

    def add_customer(self, merchant_customer_id: str | int, **fields) -> dict:
        customer = {"uuid": str(uuid.uuid4()), "merchant_customer_id": str(merchant_customer_id), "deleted": False,
                    **fields}
        with self.lock:
            self.customers[customer["uuid"]] = customer
            self.methods.setdefault(customer["uuid"], [])
        return customer

    def add_card(self, customer_uuid: str, *, token: str, brand: str = "MASTERCARD", last4: str = "4444",
                 exp_month: int = 3, exp_year: int = 2031, holder_name: str = "Jane Doe", is_default: bool = True,
                 billing_address: dict | None = None) -> dict:
        method = {"uuid": str(uuid.uuid4()), "token": token, "type": "card", "is_default": is_default,
                  "card": {"brand": brand, "last4": last4, "exp_month": exp_month, "exp_year": exp_year,
                           "holder_name": holder_name}}
        if billing_address:
            method["billing_address"] = billing_address
        with self.lock:
            if is_default:
                for other in self.methods[customer_uuid]:
                    other["is_default"] = False
            self.methods[customer_uuid].append(method)
        return method

    def register_routes(self) -> None:
        self.route("GET", r"/v2/merchants/customers/(?P<mcid>[^/]+)", self.h_customer_by_merchant_id)
        self.route("GET", r"/v2/customers/(?P<uuid>[^/]+)/payment-methods", self.h_payment_methods)

    def _authorized(self, request: Request) -> bool:
        return request.header("Authorization") == f"Bearer {self.api_key}"

    def h_customer_by_merchant_id(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response.json({"status": "error", "message": "Unauthorized"}, 401)
        for customer in self.customers.values():
            if customer["merchant_customer_id"] == request.params["mcid"] and not customer["deleted"]:
                return Response.json({"status": "approved", **customer})
        return Response.json({"status": "invalid-request", "message": "Customer not found"}, 404)

    def h_payment_methods(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response.json({"status": "error", "message": "Unauthorized"}, 401)
        rows = self.methods.get(request.params["uuid"])
        if rows is None:
            return Response.json({"status": "invalid-request", "message": "Customer not found"}, 404)
        limit, offset = int(request.q("limit") or 50), int(request.q("offset") or 0)
        return Response.json({"status": "approved", "data": rows[offset:offset + limit]})
