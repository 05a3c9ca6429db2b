"""The two storefront endpoints of DECISIONS §2, shaped exactly for seed 002's theme JavaScript.

GET /api/v1/merchant/ordergroove/signature?ts=<unix>  → {"data": "<URL-encoded base64 signature>"}
GET /api/v1/ordergroove/customer/has_subscriptions    → {"status": true|false, "subscriber_status": 1|0|-1}

Both: Current Customer JWT (authentication.py), per-IP and per-customer rate limits (throttling.py), CORS for the
store's storefront origins (preflights, which carry no token, for any installed store's origins), no database
writes, ``Cache-Control: no-store``.

They are plain Django views: every storefront page view calls them, and DRF's request cycle (Request wrapper,
authenticator and negotiation plumbing, exception handling, finalize) cost more instructions than the endpoints' own
work (issue 17). What DRF gave them is kept here, answer for answer: its error vocabulary (APIException subclasses
with their exact messages, rendered by DRF's JSONRenderer with ``WWW-Authenticate`` / ``Retry-After``), its order
(authentication and rate limits before the method check, so any other method is 401 / 429 / 405 as before), and
the ``Allow`` header. schema.py documents them in the OpenAPI schema.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from rest_framework import status
from rest_framework.exceptions import APIException, AuthenticationFailed, MethodNotAllowed, NotAuthenticated
from rest_framework.renderers import JSONRenderer

from ordergroove import signatures
from ordergroove.storefront import conf
from ordergroove.storefront.authentication import (
    AUTHENTICATE_HEADER,
    StorefrontCustomer,
    ascii_int,
    customer_authenticate,
)
from ordergroove.storefront.responses import JsonAnswer, headers_add, headers_prepared
from ordergroove.storefront.selectors import (
    NON_SUBSCRIBER,
    SUBSCRIBER_ACTIVE,
    SUBSCRIBER_INACTIVE,
    SubscriberStatusUnavailable,
    storefront_origins_all,
    subscriber_status_get,
)
from ordergroove.storefront.services import storefront_signature_issue
from ordergroove.storefront.throttling import client_ip, rate_limits_hit

logger = logging.getLogger(__name__)

CORS_ALLOW_HEADERS = "authorization-client, signed-payload, authorization, content-type, accept"
CORS_MAX_AGE = "600"
_ANSWERED_METHODS = frozenset({"GET", "HEAD"})  # HEAD is GET without the body, as Django's View does it

Answer = Callable[[HttpRequest, StorefrontCustomer], HttpResponse]


def _json(data: dict, status_code: int = 200) -> HttpResponse:
    """A finished JSON response (the endpoints answer JSON whatever the Accept header says; the theme sends
    ``application/json``)."""
    return JsonAnswer(_JSON.encode(data).encode(), status_code)


_JSON = json.JSONEncoder(separators=(",", ":"))  # DRF's compact JSON, built once
_ERROR_RENDERER = JSONRenderer()


def _error(exc: APIException) -> HttpResponse:
    """DRF's answer to an APIException (rest_framework.views.exception_handler): its detail as JSON rendered by
    DRF's JSONRenderer, WWW-Authenticate on 401s (our realm, as APIView.handle_exception sets it) and Retry-After
    on 429s."""
    data = exc.detail if isinstance(exc.detail, list | dict) else {"detail": exc.detail}
    response = JsonAnswer(_ERROR_RENDERER.render(data), exc.status_code)
    if isinstance(exc, NotAuthenticated | AuthenticationFailed):
        response["WWW-Authenticate"] = AUTHENTICATE_HEADER
    if wait := getattr(exc, "wait", None):
        response["Retry-After"] = f"{int(wait)}"  # DRF's '%d' % wait
    return response


def _serve(request: HttpRequest, answer: Answer) -> HttpResponse:
    meta = request.META
    method = request.method
    customer = None
    if method == "OPTIONS":
        response = HttpResponse(status=status.HTTP_204_NO_CONTENT)
    else:
        ip_limit = ("ip", client_ip(meta), conf.rate_per_ip())
        try:
            try:
                customer = customer_authenticate(meta)
            except APIException:
                # Refused requests count against the IP too (token guessing); a spent allowance answers 429.
                rate_limits_hit([ip_limit])
                raise
            # Both counters in one call: one Redis round trip when this process syncs (throttling.py).
            rate_limits_hit([ip_limit, ("customer", f"{customer.sf.store.store_hash}:{customer.customer_id}",
                                        conf.rate_per_customer())])
            if method not in _ANSWERED_METHODS:
                raise MethodNotAllowed(method)
            response = answer(request, customer)
        except APIException as exc:
            response = _error(exc)
    return _finalize(response, meta, method, customer)


# Every answer's fixed headers, and CORS's for an allowed origin, validated once (responses.py).
_FIXED_HEADERS = headers_prepared({"Allow": "GET, OPTIONS", "Vary": "Origin", "Cache-Control": "no-store"})
_CORS_READABLE = headers_prepared({"Access-Control-Expose-Headers": "Retry-After"})
_CORS_PREFLIGHT = headers_prepared({"Access-Control-Allow-Methods": "GET, OPTIONS",
                                    "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                                    "Access-Control-Max-Age": CORS_MAX_AGE})


def _finalize(response: HttpResponse, meta: dict, method: str, customer: StorefrontCustomer | None) -> HttpResponse:
    headers_add(response, _FIXED_HEADERS)
    origin = meta.get("HTTP_ORIGIN")
    if origin:
        # A verified customer's response is readable only by its own store's storefronts; errors and preflights
        # (no verified store) by any installed store's storefront, so the theme can read them.
        allowed = customer.sf.origins if customer is not None else storefront_origins_all()
        if origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin  # Django validates what came from outside
            headers_add(response, _CORS_PREFLIGHT if method == "OPTIONS" else _CORS_READABLE)
    return response


def _ts_param(request: HttpRequest) -> int | None:
    query = request.META.get("QUERY_STRING", "")
    # The theme's query string is exactly "ts=<digits>": the value QueryDict would give, without parsing one
    # (~65 k instructions). Anything else goes through QueryDict (the last ts wins, percent-decoding applies).
    if query.startswith("ts=") and (ts := ascii_int(query[3:], 12)) is not None:
        return ts
    return ascii_int((request.GET.get("ts") or "").strip(), 12)


def _signature(request: HttpRequest, customer: StorefrontCustomer) -> HttpResponse:
    ts = _ts_param(request)
    if ts is None:
        return _json({"detail": "ts must be the current time in whole Unix seconds."}, status.HTTP_400_BAD_REQUEST)
    if not signatures.ts_is_fresh(ts, now=time.time()):
        return _json({"detail": "ts is more than 2 hours away from the current time."}, status.HTTP_400_BAD_REQUEST)
    signature = storefront_signature_issue(customer.sf.og_settings, customer.customer_id, ts)
    # What _json gives: a URL-encoded signature is made of letters, digits and %XX, nothing JSON escapes.
    return JsonAnswer(b'{"data":"%s"}' % signature)


def _has_subscriptions(request: HttpRequest, customer: StorefrontCustomer) -> HttpResponse:
    try:
        value = subscriber_status_get(customer.sf, customer.customer_id)
    except SubscriberStatusUnavailable as exc:
        logger.warning("Subscriber status of customer %s of %s unavailable: %s", customer.customer_id,
                       customer.store_hash, exc)
        return _json({"detail": "Ordergroove could not be reached to check subscriptions; try again shortly.",
                      "code": "ordergroove_unavailable"}, status.HTTP_503_SERVICE_UNAVAILABLE)
    return JsonAnswer(_STATUS_BODIES[value])


_STATUS_BODIES = {value: _JSON.encode({"status": value == SUBSCRIBER_ACTIVE, "subscriber_status": value}).encode()
                  for value in (SUBSCRIBER_ACTIVE, SUBSCRIBER_INACTIVE, NON_SUBSCRIBER)}


def signature(request: HttpRequest) -> HttpResponse:
    """GET …/signature?ts=: the og_auth signature of the token's customer."""
    return _serve(request, _signature)


def has_subscriptions(request: HttpRequest) -> HttpResponse:
    """GET …/has_subscriptions: the token's customer's subscriber status (DECISIONS §3.9)."""
    return _serve(request, _has_subscriptions)
