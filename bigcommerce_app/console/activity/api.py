"""`/console/api/activity/...`: the activity view as JSON, same console token (X-Console-Token)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bigcommerce_app.console.activity import presenters, selectors
from bigcommerce_app.console.activity.serializers import (
    ActivityErrorSerializer,
    DeliveryDetailSerializer,
    DeliverySerializer,
    EventSerializer,
    SummarySerializer,
)
from bigcommerce_app.console.auth import ConsoleTokenAuthentication
from bigcommerce_app.inbox.services import inbound_event_replay, inbound_events_replay_failed
from ordergroove.models import Delivery
from ordergroove.sync.services import deliveries_replay_failed, delivery_replay

FILTERS = [
    OpenApiParameter("status", str, description="Filter by status."),
    OpenApiParameter("q", str, description="BigCommerce order id, customer id or resource id."),
    OpenApiParameter("days", int, description="How far back (1–90, default 14)."),
]


class ActivityAPIView(APIView):
    authentication_classes = [ConsoleTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @staticmethod
    def activity_filter(request: Request, *, for_events: bool) -> selectors.ActivityFilter:
        """The query's filter; a bad one answers 400 {"detail": ...} (DRF renders the ParseError)."""
        try:
            return selectors.ActivityFilter.from_query(request.query_params, for_events=for_events)
        except selectors.InvalidFilter as exc:
            raise ParseError(str(exc)) from exc


def _missing(what: str) -> Response:
    return Response({"detail": f"No such {what} for this store."}, status=status.HTTP_404_NOT_FOUND)


class SummaryAPI(ActivityAPIView):
    @extend_schema(operation_id="console_activity_summary", tags=["console activity"],
                   parameters=[OpenApiParameter("days", int)],
                   responses={200: SummarySerializer, 400: ActivityErrorSerializer})
    def get(self, request: Request) -> Response:
        flt = self.activity_filter(request, for_events=False)
        return Response(SummarySerializer({"days": selectors.daily_counts(request.user.store, flt.days)}).data)


class EventsAPI(ActivityAPIView):
    @extend_schema(operation_id="console_activity_events", tags=["console activity"],
                   parameters=[*FILTERS, OpenApiParameter("scope", str, description="Webhook scope.")],
                   responses={200: EventSerializer(many=True), 400: ActivityErrorSerializer})
    def get(self, request: Request) -> Response:
        flt = self.activity_filter(request, for_events=True)
        rows = [presenters.event_row(e) for e in selectors.events_list(request.user.store, flt)]
        return Response(EventSerializer(rows, many=True).data)


class DeliveriesAPI(ActivityAPIView):
    @extend_schema(operation_id="console_activity_deliveries", tags=["console activity"],
                   parameters=[*FILTERS, OpenApiParameter("kind", str, description="Delivery kind.")],
                   responses={200: DeliverySerializer(many=True), 400: ActivityErrorSerializer})
    def get(self, request: Request) -> Response:
        flt = self.activity_filter(request, for_events=False)
        rows = [presenters.delivery_row(d) for d in selectors.deliveries_list(request.user.store, flt)]
        return Response(DeliverySerializer(rows, many=True).data)


class DeliveryAPI(ActivityAPIView):
    @extend_schema(operation_id="console_activity_delivery", tags=["console activity"],
                   responses={200: DeliveryDetailSerializer, 404: ActivityErrorSerializer})
    def get(self, request: Request, delivery_id: int) -> Response:
        delivery = selectors.delivery_get(request.user.store, delivery_id)
        if delivery is None:
            return _missing("delivery")
        return Response(DeliveryDetailSerializer(presenters.delivery_detail(delivery)).data)


class DeliveryReplayAPI(ActivityAPIView):
    @extend_schema(operation_id="console_activity_delivery_replay", tags=["console activity"], request=None,
                   responses={202: DeliverySerializer, 404: ActivityErrorSerializer, 409: ActivityErrorSerializer},
                   description="Send a failed delivery again (the retry schedule starts over).")
    def post(self, request: Request, delivery_id: int) -> Response:
        delivery = selectors.delivery_get(request.user.store, delivery_id)
        if delivery is None:
            return _missing("delivery")
        try:
            delivery = delivery_replay(delivery)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(DeliverySerializer(presenters.delivery_row(delivery)).data, status=status.HTTP_202_ACCEPTED)


class EventReplayAPI(ActivityAPIView):
    @extend_schema(operation_id="console_activity_event_replay", tags=["console activity"], request=None,
                   responses={202: EventSerializer, 404: ActivityErrorSerializer, 409: ActivityErrorSerializer},
                   description="Process a finished event again (a purchase post is still never sent twice).")
    def post(self, request: Request, event_id: int) -> Response:
        event = selectors.event_get(request.user.store, event_id)
        if event is None:
            return _missing("event")
        if event.status in ("pending", "processing"):
            return Response({"detail": f"event is {event.status}: it will be processed"},
                            status=status.HTTP_409_CONFLICT)
        event = inbound_event_replay(event)
        return Response(EventSerializer(presenters.event_row(event)).data, status=status.HTTP_202_ACCEPTED)


BULK_REPLAY_RESULT = inline_serializer("BulkReplayResult", {
    "replayed": serializers.IntegerField(help_text="failed rows queued again by this call (at most "
                                                    "CONSOLE_BULK_REPLAY_LIMIT, 500)"),
    "still_failed": serializers.IntegerField(help_text="failed rows left: call again for the rest"),
})


class DeliveriesReplayFailedAPI(ActivityAPIView):
    @extend_schema(operation_id="console_activity_deliveries_replay_failed", tags=["console activity"],
                   request=None, parameters=[OpenApiParameter("kind", str, description="Only this kind of call.")],
                   responses={202: BULK_REPLAY_RESULT, 400: ActivityErrorSerializer},
                   description="Send every failed Ordergroove call of the store again, oldest first (after an "
                               "outage or a corrected setting); at most 500 per call.")
    def post(self, request: Request) -> Response:
        kind = request.query_params.get("kind", "")
        if kind and kind not in Delivery.Kind.values:
            raise ParseError(f"kind must be one of {', '.join(Delivery.Kind.values)}")
        replayed, left = deliveries_replay_failed(request.user.store, kind=kind or None)
        return Response({"replayed": replayed, "still_failed": left}, status=status.HTTP_202_ACCEPTED)


class EventsReplayFailedAPI(ActivityAPIView):
    @extend_schema(operation_id="console_activity_events_replay_failed", tags=["console activity"], request=None,
                   responses={202: BULK_REPLAY_RESULT},
                   description="Process every failed BigCommerce webhook of the store again, oldest first; at "
                               "most 500 per call.")
    def post(self, request: Request) -> Response:
        replayed, left = inbound_events_replay_failed(request.user.store)
        return Response({"replayed": replayed, "still_failed": left}, status=status.HTTP_202_ACCEPTED)
