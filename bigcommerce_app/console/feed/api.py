"""`/console/api/feeds/...`: the Product feed page as JSON (DECISIONS §2), with the console token
(`X-Console-Token`). Thin: selectors and services do the work; every lookup is scoped to the token's store."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from bigcommerce_app.console.auth import ConsoleAPIView, console_actor
from feeds import sftp
from feeds.feed import host_keys, selectors, services
from feeds.models import FeedRun


def schedule_as_dict(store) -> dict:
    status_ = selectors.schedule_status(store)
    return {"scheduled": status_.scheduled, "cron_expression": status_.expression, "time_zone": status_.time_zone,
            "next_run": status_.next_run, "last_success_at": status_.last_success_at,
            "stale": status_.is_stale, "stale_since": status_.stale_since}


class FeedRunsAPI(ConsoleAPIView):
    @extend_schema(operation_id="console_api_feeds_runs_list", summary="Recent feed runs and the schedule's state",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        store = request.user.store
        return Response({"runs": [selectors.run_as_dict(r) for r in selectors.runs_recent(store)],
                         "schedule": schedule_as_dict(store)})

    @extend_schema(summary="Run now: queue a feed run (one at a time per store)", request=None,
                   responses={202: OpenApiTypes.OBJECT,
                              409: OpenApiResponse(description="A run is already queued or running")})
    def post(self, request: Request) -> Response:
        store = request.user.store
        try:
            run = services.feed_run_request(store, trigger=FeedRun.Trigger.MANUAL, requested_by=console_actor(request))
        except services.FeedRunRefused as exc:
            body = {"detail": str(exc)}
            if exc.active:
                body["active_run"] = selectors.run_as_dict(exc.active)
            return Response(body, status=status.HTTP_409_CONFLICT)
        services.feed_run_enqueue(run)
        return Response(selectors.run_as_dict(run), status=status.HTTP_202_ACCEPTED)


class FeedRunAPI(ConsoleAPIView):
    @extend_schema(summary="One feed run with its progress", responses={200: OpenApiTypes.OBJECT, 404: None})
    def get(self, request: Request, run_id: int) -> Response:
        run = selectors.run_get(request.user.store, run_id)
        if run is None:
            return Response({"detail": "No such feed run."}, status=status.HTTP_404_NOT_FOUND)
        return Response(selectors.run_as_dict(run))


class HostKeyAPI(ConsoleAPIView):
    @extend_schema(summary="The pinned SFTP host key; with scan=1 also the key the server presents now",
                   parameters=[OpenApiParameter("scan", bool, description="Connect and read the server's key")],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        fs = selectors.feed_settings_for(request.user.store)
        scan = request.query_params.get("scan", "").lower() in {"1", "true", "yes"}
        return Response(host_keys.host_key_view(fs, scan=scan).as_dict())

    @extend_schema(summary="Pin the server's host key, given the fingerprint the merchant verified",
                   request=inline_serializer("HostKeyPin", {"fingerprint": serializers.CharField()}),
                   responses={200: OpenApiTypes.OBJECT,
                              400: OpenApiResponse(description="No fingerprint / no server configured"),
                              409: OpenApiResponse(description="The server presents a different key"),
                              502: OpenApiResponse(description="The server could not be reached")})
    def post(self, request: Request) -> Response:
        fs = selectors.feed_settings_for(request.user.store)
        fingerprint = str((request.data or {}).get("fingerprint", "")) if isinstance(request.data, dict) else ""
        if not fs.sftp_host:
            return Response({"detail": "No SFTP server is configured."}, status=status.HTTP_400_BAD_REQUEST)
        try:
            view = host_keys.host_key_pin(fs, fingerprint=fingerprint, actor=console_actor(request))
        except sftp.SftpHostKeyError as exc:
            return Response({"detail": str(exc), "presented_fingerprint": exc.fingerprint},
                            status=status.HTTP_409_CONFLICT)
        except sftp.SftpConfigError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        except sftp.SftpError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_502_BAD_GATEWAY)
        return Response(view.as_dict())
