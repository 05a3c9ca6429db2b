"""`POST /webhooks/ordergroove` (DECISIONS §2) and the console page of Ordergroove activity."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from bigcommerce_app.console_auth import console_view
from ordergroove.events import selectors, services

logger = logging.getLogger(__name__)


@csrf_exempt
def ordergroove_webhook(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405, headers={"Allow": "POST"})
    limit = services.max_body_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return JsonResponse({"error": f"body larger than {limit} bytes"}, status=413)
    body = request.read(limit + 1)
    if len(body) > limit:
        return JsonResponse({"error": f"body larger than {limit} bytes"}, status=413)
    try:
        receipt = services.og_event_receive(body=body, signature_header=request.headers.get(services.SIGNATURE_HEADER),
                                            store_hash=request.GET.get("store") or None)
    except services.EventRejected as exc:
        logger.info("Ordergroove webhook refused (%s): %s", exc.status, exc)
        return JsonResponse({"error": str(exc)}, status=exc.status)
    except DatabaseError:
        # Not acknowledged, so Ordergroove delivers it again; had the insert committed after all, the redelivery
        # is recognised by its event id.
        logger.warning("Ordergroove webhook not stored: the database could not be reached", exc_info=True)
        return JsonResponse({"error": "temporarily unable to store the event; retry"}, status=503,
                            headers={"Retry-After": "5"})
    return JsonResponse({"status": "stored" if receipt.created else "duplicate", "id": receipt.event.event_id})


@require_GET
@console_view
def console_events(request: HttpRequest) -> HttpResponse:
    store = request.console.store
    order = (request.GET.get("order") or "").strip()
    customer = (request.GET.get("customer") or "").strip()
    context = selectors.activity_for(store, order=order, customer=customer)
    return render(request, "ordergroove/events.html", {
        "console": request.console, "order": order, "customer": customer,
        "placements_chart": selectors.placements_chart(store),
        "webhook_url": f"{settings.APP_URL}/webhooks/ordergroove?store={store.store_hash}",
        "placement_url": f"{settings.APP_URL}/ordergroove/order-placement", **context,
    })
