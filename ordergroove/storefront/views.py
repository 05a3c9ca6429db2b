"""The two storefront endpoints of DECISIONS §2, shaped exactly for seed 002's theme JavaScript.

GET /api/v1/merchant/ordergroove/signature?ts=<unix>  → {"data": "<URL-encoded base64 signature>"}
GET /api/v1/ordergroove/customer/has_subscriptions    → {"status": true|false, "subscriber_status": 1|0|-1}

Both: Current Customer JWT (authentication.py), per-IP and per-customer rate limits (throttling.py), CORS for the
store's storefront origins (preflights, which carry no token, for any installed store's origins), no database
writes, ``Cache-Control: no-store``.
"""

from __future__ import annotations

import logging
import time

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotAuthenticated
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from ordergroove import signatures
from ordergroove.storefront import conf
from ordergroove.storefront.authentication import CurrentCustomerJwtAuthentication, StorefrontCustomer
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


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """The storefront views render JSON only. What the theme sends (``Accept: application/json``, ``*/*`` or
    nothing, no format override) picks the JSON renderer without DRF's Accept parsing, which was a measurable
    share of the signature endpoint; anything else is negotiated by DRF as before (e.g. 406)."""

    FAST_ACCEPT = frozenset({"", "*/*", "application/json"})

    def select_renderer(self, request, renderers, format_suffix=None):
        if (not format_suffix and request.META.get("HTTP_ACCEPT", "") in self.FAST_ACCEPT
                and isinstance(renderers[0], JSONRenderer)
                and api_settings.URL_FORMAT_OVERRIDE not in request.query_params):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class StorefrontView(APIView):
    authentication_classes = [CurrentCustomerJwtAuthentication]
    permission_classes: list = []
    throttle_classes: list = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnlyNegotiation

    def initial(self, request, *args, **kwargs):
        self.format_kwarg = self.get_format_suffix(**kwargs)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(request)
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
        return Response(status=status.HTTP_204_NO_CONTENT)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Vary"] = "Origin"
        response["Cache-Control"] = "no-store"
        origin = request.META.get("HTTP_ORIGIN")
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
        raw = (request.query_params.get("ts") or "").strip()
        if not raw.isdigit() or len(raw) > 12:
            return Response({"detail": "ts must be the current time in whole Unix seconds."},
                            status=status.HTTP_400_BAD_REQUEST)
        ts = int(raw)
        if not signatures.ts_is_fresh(ts, now=time.time()):
            return Response({"detail": "ts is more than 2 hours away from the current time."},
                            status=status.HTTP_400_BAD_REQUEST)
        customer: StorefrontCustomer = request.user
        return Response({"data": storefront_signature_issue(customer.sf.og_settings, customer.customer_id, ts)})


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
            return Response({"detail": "Ordergroove could not be reached to check subscriptions; try again shortly.",
                             "code": "ordergroove_unavailable"}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"status": value == SUBSCRIBER_ACTIVE, "subscriber_status": value})
