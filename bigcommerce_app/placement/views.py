"""`POST /ordergroove/order-placement` (DECISIONS §2): transport checks here, everything else in services."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from bigcommerce_app.placement import order_xml, services

CONTENT_TYPE = "text/xml; charset=utf-8"
logger = logging.getLogger(__name__)


def _xml(answer: services.PlacementAnswer) -> HttpResponse:
    return HttpResponse(answer.body, status=answer.status, content_type=CONTENT_TYPE)


def _refuse(message: str, status: int) -> HttpResponse:
    return _xml(services.error_answer(order_xml.CODE_PLACEMENT_FAILED, message, status))


@csrf_exempt
def order_placement(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        response = _refuse("Order placement takes POST.", 405)
        response["Allow"] = "POST"
        return response
    media_type = (request.content_type or "").strip().lower()
    if media_type != "application/xml":
        return _refuse("Content-Type must be application/xml.", 415)
    limit = services.max_body_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refuse("Content-Length is not a number.", 400)
    if declared > limit:
        return _refuse(f"The order XML is larger than {limit} bytes.", 413)
    body = request.read(limit + 1)
    if len(body) > limit:
        return _refuse(f"The order XML is larger than {limit} bytes.", 413)
    try:
        answer = services.placement_receive(body=body, authorization=request.headers.get("Authorization"))
    except DatabaseError:
        # The database went away mid-placement (restart, failover, a terminated connection). What BigCommerce
        # already did is on the claim or found again by external_order_id, so Ordergroove's retry gets the one
        # order; a 500 page would be unparseable to Ordergroove, which then rejects without retrying (§8.5).
        logger.warning("Order placement lost its database connection; answered 999 (retry later)", exc_info=True)
        answer = services.error_answer(order_xml.CODE_RETRY_LATER, "The service could not reach its database while "
                                       "placing the order; it will be placed on the next attempt.", 200)
    return _xml(answer)
