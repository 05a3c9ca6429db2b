"""The peer baseline of bench/webhooks.py: a webhook endpoint written the usual way Django projects write one
(a DRF view, a serializer, `Model.objects.create`, `task.delay`), storing the same row as the inbox. Bench only:
never routed in the service.

It does the same security work as the inbox (the store looked up by `producer`, its X-Webhook-Token compared in
constant time) and the same duplicate rule (store + hash), so the throughput ratio compares only the way the work
is done: one ORM insert and one broker publish per request against the inbox's group commit and relay.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from django.db import IntegrityError
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bigcommerce_app.inbox.tasks import inbound_event_process
from bigcommerce_app.models import InboundEvent, Store


class WebhookSerializer(serializers.Serializer):
    scope = serializers.CharField(max_length=128)
    hash = serializers.CharField(max_length=128)
    producer = serializers.RegexField(r"^stores/[a-z0-9]{1,64}$")
    store_id = serializers.CharField(required=False)
    created_at = serializers.IntegerField(required=False, min_value=0)
    data = serializers.DictField(required=False)


class PeerWebhookView(APIView):
    authentication_classes = ()
    permission_classes = ()

    def post(self, request: Request) -> Response:
        serializer = WebhookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hook = serializer.validated_data
        store = Store.objects.filter(store_hash=hook["producer"][len("stores/"):], status="installed").first()
        token = request.headers.get("X-Webhook-Token", "")
        if store is None or not hmac.compare_digest(store.webhook_token.encode(), token.encode()):
            return Response({"error": "unknown store or wrong token"}, status=status.HTTP_401_UNAUTHORIZED)
        created_at = hook.get("created_at")
        try:
            event = InboundEvent.objects.create(
                store=store, scope=hook["scope"], event_hash=hook["hash"], payload=request.data,
                resource_id=str(hook.get("data", {}).get("id", ""))[:64], webhook_id="",
                signature=InboundEvent.Signature.ABSENT,
                event_created_at=datetime.fromtimestamp(created_at, tz=UTC) if created_at else None)
        except IntegrityError:  # the same store + hash delivered before
            return Response(status=status.HTTP_200_OK)
        inbound_event_process.delay(event.pk)
        return Response(status=status.HTTP_200_OK)
