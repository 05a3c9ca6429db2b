"""`POST /webhooks/bigcommerce` (DECISIONS §2): thin; the intake authenticates, stores and enqueues."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bigcommerce_app.inbox import checks, intake


@csrf_exempt
@require_POST
def bigcommerce_webhook(request: HttpRequest) -> HttpResponse:
    try:
        if checks.declared_length(request.META) > checks.MAX_PAYLOAD_BYTES:  # refused before the body is read
            raise checks.WebhookRejected(413, "payload too large")
        intake.webhook_receive(body=request.body, headers=checks.MetaHeaders(request.META))
    except checks.WebhookRejected as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    except intake.EventNotStored:
        # Not stored, so not acknowledged: BigCommerce delivers it again.
        return JsonResponse({"error": "temporarily unable to store the event"}, status=503)
    # BigCommerce only needs a 2xx; an empty body keeps the acknowledgement small (bigcommerce.md §3.4).
    return HttpResponse(status=200)
