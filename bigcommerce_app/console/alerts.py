"""Alert banners can be acknowledged: from the banner's button (`POST /console/alerts/<id>/acknowledge`, a form
with the console token in `t`) and as JSON (`/console/api/alerts`, `X-Console-Token`). Acknowledging hides the
banner, keeps the alert open and audits who did it; a new alert of the same kind shows again
(services.alert_raise). Thin: the write is services.alert_acknowledge."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bigcommerce_app import selectors, services
from bigcommerce_app.console.auth import ConsoleTokenAuthentication, console_view


def _actor(user) -> str:
    return user.email or str(user.bc_user_id)


def _back_path(raw: str) -> str:
    """Where the banner's form came from: a console page of this service only (never another host)."""
    parts = urlsplit(raw or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/") or parts.path.startswith("/console/api"):
        return "/console/"
    return parts.path


@require_POST
@console_view
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    console = request.console
    alert = selectors.alert_get(console.store, alert_id)
    if alert is not None:  # an unknown id (another store's, a stale page) changes nothing
        services.alert_acknowledge(alert, actor=_actor(console.user))
    return HttpResponseRedirect(f"{_back_path(request.POST.get('next', ''))}?{urlencode({'t': console.token})}")


class AlertSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    kind = serializers.CharField()
    severity = serializers.CharField()
    message = serializers.CharField()
    occurrences = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.CharField()


class AlertErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class AlertsAPIView(APIView):
    authentication_classes = [ConsoleTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]


class AlertsAPI(AlertsAPIView):
    @extend_schema(operation_id="console_alerts_list", tags=["console alerts"],
                   responses={200: AlertSerializer(many=True)},
                   description="Open alerts of the store (newest first, at most 20), acknowledged or not; the "
                               "console shows the unacknowledged ones as banners.")
    def get(self, request: Request) -> Response:
        return Response(AlertSerializer(selectors.alerts_open(request.user.store), many=True).data)


class AlertAcknowledgeAPI(AlertsAPIView):
    @extend_schema(operation_id="console_alert_acknowledge", tags=["console alerts"], request=None,
                   responses={200: AlertSerializer, 404: AlertErrorSerializer},
                   description="Hide the alert's banner (audited). It stays open until its cause is fixed; the same "
                               "condition raised again stays hidden, a new alert of the same kind shows again. "
                               "Acknowledging twice is harmless.")
    def post(self, request: Request, alert_id: int) -> Response:
        alert = selectors.alert_get(request.user.store, alert_id)
        if alert is None:
            return Response({"detail": "No such alert for this store."}, status=status.HTTP_404_NOT_FOUND)
        services.alert_acknowledge(alert, actor=_actor(request.user.user))
        return Response(AlertSerializer(alert).data)
