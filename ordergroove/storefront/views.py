"""The two storefront endpoints of DECISIONS §2, shaped exactly for seed 002's theme JavaScript.

GET /api/v1/merchant/ordergroove/signature?ts=<unix>  → {"data": "<URL-encoded base64 signature>"}
GET /api/v1/ordergroove/customer/has_subscriptions    → {"status": true|false, "subscriber_status": 1|0|-1}

Both: Current Customer JWT (authentication.py), per-IP and per-customer rate limits (throttling.py), CORS for the
store's storefront origins (preflights, which carry no token, for any installed store's origins), no database
writes, ``Cache-Control: no-store``.
"""

from __future__ import annotations

import json
import logging
import time

from django.http import HttpResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from ordergroove import signatures
from ordergroove.storefront import conf
from ordergroove.storefront.authentication import (
    CurrentCustomerJwtAuthentication,
    StorefrontCustomer,
    ascii_int,
    django_meta,
)
from ordergroove.storefront.selectors import (
    SUBSCRIBER_ACTIVE,
    SubscriberStatusUnavailable,
    storefront_origins_all,
    subscriber_status_get,
)
from ordergroove.storefront.services import storefront_signature_issue
from ordergroove.storefront.throttling import client_ip, rate_limits_hit

logger = logging.getLogger(__name__)

CORS_ALLOW_HEADERS = "authorization-client, signed-payload, authorization, content-type, accept"
CORS_MAX_AGE = "600"


class CurrentCustomerJwtScheme(OpenApiAuthenticationExtension):
    target_class = "ordergroove.storefront.authentication.CurrentCustomerJwtAuthentication"
    name = "BigCommerceCurrentCustomer"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "signed-payload",
                "description": "The storefront's /customer/current.jwt token; also send authorization-client: "
                               "<app client id> and Authorization: BigCommerce."}


def _json(data: dict, status_code: int = 200) -> HttpResponse:
    """A finished JSON response. The storefront endpoints answer JSON whatever the Accept header says (the theme
    sends ``application/json``), so their success path skips DRF's content negotiation and renderer; errors
    raised as DRF exceptions are still rendered by DRF (as JSON, its only renderer here)."""
    return HttpResponse(_JSON.encode(data).encode(), status=status_code, content_type="application/json")


_JSON = json.JSONEncoder(separators=(",", ":"))  # DRF's compact JSON, built once


class StorefrontView(APIView):
    authentication_classes = [CurrentCustomerJwtAuthentication]
    permission_classes: list = []
    throttle_classes: list = []
    renderer_classes = [JSONRenderer]
    parser_classes: list = []  # GET only: no request body to parse (DRF instantiates each parser per request)
    @property
    def default_response_headers(self) -> dict[str, str]:
        # DRF derives Allow per request by probing every HTTP method name; these views only have GET and OPTIONS.
        # A fresh dict: DRF mutates it (pops Vary).
        return {"Allow": "GET, OPTIONS"}

    def initial(self, request, *args, **kwargs):
        # No eager content negotiation (DRF negotiates for the error responses it renders, JSON being the only
        # renderer); no versioning, permissions or DRF throttles: the limits below are the storefront's own.
        self.format_kwarg = None
        if request.method == "OPTIONS":
            return
        ip_limit = ("ip", client_ip(request), conf.rate_per_ip())
        try:
            customer = request.user
            if not isinstance(customer, StorefrontCustomer):
                raise NotAuthenticated("Sign in to the store: the signed-payload customer token is missing.")
        except APIException:
            # Refused requests count against the IP too (token guessing); a spent allowance answers 429.
            rate_limits_hit([ip_limit])
            raise
        # One round trip for both counters on the hot path.
        rate_limits_hit([ip_limit, ("customer", f"{customer.store_hash}:{customer.customer_id}",
                                    conf.rate_per_customer())])

    def options(self, request, *args, **kwargs):
        return HttpResponse(status=status.HTTP_204_NO_CONTENT)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Vary"] = "Origin"
        response["Cache-Control"] = "no-store"
        origin = django_meta(request).get("HTTP_ORIGIN")
        if origin:
            customer = getattr(request, "_user", None)
            # A verified customer's response is readable only by its own store's storefronts; errors and
            # preflights (no verified store) by any installed store's storefront, so the theme can read them.
            allowed = customer.sf.origins if isinstance(customer, StorefrontCustomer) else storefront_origins_all()
            if origin in allowed:
                response["Access-Control-Allow-Origin"] = origin
                if request.method == "OPTIONS":
                    response["Access-Control-Allow-Methods"] = "GET, OPTIONS"
                    response["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
                    response["Access-Control-Max-Age"] = CORS_MAX_AGE
                else:
                    response["Access-Control-Expose-Headers"] = "Retry-After"
        return response


class SignatureView(StorefrontView):
    @extend_schema(
        operation_id="storefront_og_auth_signature",
        summary="Signature for the og_auth cookie of the signed-in customer",
        parameters=[OpenApiParameter("ts", int, required=True,
                                     description="Unix seconds; must be within 2 hours of the server's clock")],
        responses={200: inline_serializer("OgAuthSignature", {"data": serializers.CharField(
            help_text="URL-encoded base64 HMAC-SHA256 of '<customer id>|<ts>' with the store's hash key")})},
    )
    def get(self, request):
        ts = ascii_int((request.query_params.get("ts") or "").strip(), 12)
        if ts is None:
            return _json({"detail": "ts must be the current time in whole Unix seconds."},
                         status.HTTP_400_BAD_REQUEST)
        if not signatures.ts_is_fresh(ts, now=time.time()):
            return _json({"detail": "ts is more than 2 hours away from the current time."},
                         status.HTTP_400_BAD_REQUEST)
        customer: StorefrontCustomer = request.user
        return _json({"data": storefront_signature_issue(customer.sf.og_settings, customer.customer_id, ts)})


class HasSubscriptionsView(StorefrontView):
    @extend_schema(
        operation_id="storefront_has_subscriptions",
        summary="Whether the signed-in customer is an active Ordergroove subscriber",
        responses={
            200: inline_serializer("HasSubscriptions", {
                "status": serializers.BooleanField(help_text="true only when subscriber_status is 1"),
                "subscriber_status": serializers.ChoiceField(choices=[1, 0, -1], help_text=(
                    "1 active subscriber, 0 Ordergroove customer without a live subscription, -1 not an "
                    "Ordergroove customer")),
            }),
            503: inline_serializer("SubscriberStatusUnavailable", {"detail": serializers.CharField()}),
        },
    )
    def get(self, request):
        customer: StorefrontCustomer = request.user
        try:
            value = subscriber_status_get(customer.sf, customer.customer_id)
        except SubscriberStatusUnavailable as exc:
            logger.warning("Subscriber status of customer %s of %s unavailable: %s", customer.customer_id,
                           customer.store_hash, exc)
            return _json({"detail": "Ordergroove could not be reached to check subscriptions; try again shortly.",
                          "code": "ordergroove_unavailable"}, status.HTTP_503_SERVICE_UNAVAILABLE)
        return _json({"status": value == SUBSCRIBER_ACTIVE, "subscriber_status": value})
