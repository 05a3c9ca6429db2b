"""OpenAPI declaration of the storefront endpoints (GET /api/schema/).

The endpoints are plain Django views (views.py: DRF's request cycle is not on the storefront's hot path).
drf-spectacular documents what DRF's ``as_view()`` marks: a URL callback whose ``cls`` is an APIView.
``documented()`` gives the plain view that mark, naming a schema-only APIView below that declares parameters,
responses and the security scheme; that class is never instantiated to serve a request.
"""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from ordergroove.storefront.authentication import CurrentCustomerJwtAuthentication


class CurrentCustomerJwtScheme(OpenApiAuthenticationExtension):
    target_class = "ordergroove.storefront.authentication.CurrentCustomerJwtAuthentication"
    name = "BigCommerceCurrentCustomer"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "signed-payload",
                "description": "The storefront's /customer/current.jwt token; also send authorization-client: "
                               "<app client id> and Authorization: BigCommerce."}


class _StorefrontSchema(APIView):
    authentication_classes = [CurrentCustomerJwtAuthentication]
    permission_classes: list = []
    throttle_classes: list = []
    renderer_classes = [JSONRenderer]
    parser_classes: list = []


class SignatureSchema(_StorefrontSchema):
    @extend_schema(
        operation_id="storefront_og_auth_signature",
        summary="Signature for the og_auth cookie of the signed-in customer",
        parameters=[OpenApiParameter("ts", int, required=True,
                                     description="Unix seconds; must be within 2 hours of the server's clock")],
        responses={200: inline_serializer("OgAuthSignature", {"data": serializers.CharField(
            help_text="URL-encoded base64 HMAC-SHA256 of '<customer id>|<ts>' with the store's hash key")})},
    )
    def get(self, request):
        raise NotImplementedError


class HasSubscriptionsSchema(_StorefrontSchema):
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
        raise NotImplementedError


def documented(view: Callable, schema: type[APIView]) -> Callable:
    """`view`, marked as DRF's as_view() marks its views (``cls``, ``initkwargs``) so that drf-spectacular
    documents it as `schema` declares. The view itself is returned: no wrapper call per request."""
    view.cls = schema
    view.initkwargs = {}
    return view
