"""`POST /webhooks/ordergroove` (DECISIONS §2). The console page of these events is bigcommerce_app.console.events."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ordergroove.events import services

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
