"""`/console/api/settings...`: the settings console as JSON for automation (DECISIONS §2), authenticated by the
same console token as the pages (`X-Console-Token` header). Thin: each view calls a selector or a service."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from bigcommerce_app.console.auth import ConsoleAPIView, console_actor
from bigcommerce_app.console.settings import selectors, services
from bigcommerce_app.console.settings.serializers import (
    CheckResultSerializer,
    ErrorSerializer,
    SettingsReadSerializer,
    SettingsSerializer,
)


class SettingsAPI(ConsoleAPIView):
    @extend_schema(operation_id="console_settings_read", tags=["console settings"],
                   responses={200: SettingsReadSerializer, 401: ErrorSerializer},
                   description="The store's settings. Secrets are never returned: `<name>_hint` says whether "
                               "each is set (and its last 4 characters for long ones).")
    def get(self, request: Request) -> Response:
        return Response(SettingsReadSerializer(selectors.settings_read(request.user.store)).data)

    @extend_schema(operation_id="console_settings_update", tags=["console settings"],
                   request=SettingsSerializer,
                   responses={200: SettingsReadSerializer, 400: ErrorSerializer, 401: ErrorSerializer},
                   description="Change any subset of the settings. An absent secret is left as it is; `null` "
                               "clears it. Changing `environment` fills each endpoint (and the SFTP host) not "
                               "given in the same request from the environment's preset. Invalid values answer "
                               "400 with `errors` by field, and nothing is changed.")
    def patch(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            return Response({"detail": "Send a JSON object of settings."}, status=status.HTTP_400_BAD_REQUEST)
        try:
            services.settings_update(request.user.store, request.data, actor=console_actor(request))
        except services.SettingsInvalid as exc:
            return Response({"detail": "Invalid settings: nothing was changed.", "errors": exc.errors},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response(SettingsReadSerializer(selectors.settings_read(request.user.store)).data)


class OrdergrooveCheckAPI(ConsoleAPIView):
    @extend_schema(operation_id="console_settings_check_ordergroove", tags=["console settings"], request=None,
                   responses={200: OpenApiResponse(CheckResultSerializer,
                                                   description="`ok` false carries the exact failure.")})
    def post(self, request: Request) -> Response:
        return Response(services.ordergroove_check(request.user.store, actor=console_actor(request)).as_dict())


class SftpCheckAPI(ConsoleAPIView):
    @extend_schema(operation_id="console_settings_check_sftp", tags=["console settings"], request=None,
                   responses={200: OpenApiResponse(CheckResultSerializer,
                                                   description="`detail` has the server key's fingerprint and "
                                                               "OpenSSH line (to pin) and the /incoming listing.")})
    def post(self, request: Request) -> Response:
        return Response(services.sftp_connection_check(request.user.store, actor=console_actor(request)).as_dict())
