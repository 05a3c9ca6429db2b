"""The project's answer to an exception no view handled (Django's handler500).

A database that cannot be reached (connections exhausted, a backend terminated, a failover) is a temporary
condition, not a bug: callers are told to retry with 503 and Retry-After, so BigCommerce and Ordergroove deliver
again and nothing is lost. Every other unhandled exception stays a 500. Wired as the root URLconf's handler500, so
it costs nothing on requests that succeed.
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    if isinstance(exc, TRANSIENT_DATABASE_ERRORS):
        logger.warning("Database unavailable for %s %s: %s", request.method, request.path, type(exc).__name__)
        response = JsonResponse({"detail": "Temporarily unavailable: the database could not be reached. Retry."},
                                status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return defaults.server_error(request)
