"""Operator endpoints: liveness (the process answers) and readiness (database and broker reachable).

Project wiring (the top layer): it reads the Celery app and the heartbeat the worker's task leaves.
"""

import time

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from middleware.celery import app
from middleware.tasks import HEARTBEAT_KEY


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    checks: dict[str, object] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = f"error: {exc.__class__.__name__}"
    ok = all(v == "ok" for v in checks.values())
    # Informational: the web tier stays ready (webhooks are stored) even while workers catch up.
    try:
        beat = cache.get(HEARTBEAT_KEY)
        checks["worker_heartbeat_age_s"] = None if beat is None else round(time.time() - float(beat), 1)
    except Exception:  # noqa: BLE001
        checks["worker_heartbeat_age_s"] = None
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)
