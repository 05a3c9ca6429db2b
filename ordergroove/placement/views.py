"""`POST /ordergroove/order-placement` (DECISIONS §2): transport checks here, everything else in services."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ordergroove.placement import order_xml, services

CONTENT_TYPE = "text/xml; charset=utf-8"


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
    answer = services.placement_receive(body=body, authorization=request.headers.get("Authorization"))
    return _xml(answer)
