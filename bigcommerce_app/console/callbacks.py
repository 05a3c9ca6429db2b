"""BigCommerce app callbacks (DECISIONS §2): thin, each calls one lifecycle service (bigcommerce_app.services).

They live in the console because `auth` and `load` end in it: each issues the console token and redirects to the
Overview (or renders the console's problem page), so nothing below the console needs `console.auth`."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from bigcommerce_app import services
from bigcommerce_app.client import BigCommerceError
from bigcommerce_app.console.auth import console_token_issue
from bigcommerce_app.signed_payload import InvalidSignedPayload, verify_signed_payload_jwt

logger = logging.getLogger(__name__)


def console_url(token: str, path: str = "/console/") -> str:
    return f"{path}?{urlencode({'t': token})}"


def _problem_page(request: HttpRequest, title: str, reason: str, status: int) -> HttpResponse:
    return render(request, "console/problem.html", {"title": title, "reason": reason}, status=status)


@require_GET
def auth_callback(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("code", "")
    scope = request.GET.get("scope", "")
    context = request.GET.get("context", "")
    if not code or not context.startswith("stores/") or len(context) <= len("stores/"):
        return _problem_page(request, "Installation failed",
                             "The install link is missing its code or store context. Start the install "
                             "again from the BigCommerce control panel.", 400)
    try:
        _store, user = services.store_install(code=code, scope=scope, context=context,
                                              account_uuid=request.GET.get("account_uuid", ""))
    except BigCommerceError as exc:
        logger.warning("Install for %s failed: %s", context, exc)
        return _problem_page(request, "Installation failed",
                             f"BigCommerce did not accept the installation: {exc.message}", 502)
    return HttpResponseRedirect(console_url(console_token_issue(user)))


@require_GET
def load_callback(request: HttpRequest) -> HttpResponse:
    try:
        payload = verify_signed_payload_jwt(request.GET.get("signed_payload_jwt", ""))
    except InvalidSignedPayload as exc:
        logger.info("Load refused: %s", exc)
        return _problem_page(request, "Cannot open the app",
                             "BigCommerce's signature on this request could not be verified. Open the app "
                             "again from the control panel.", 401)
    try:
        user = services.store_load(payload)
    except services.UnknownStore:
        return _problem_page(request, "App not installed",
                             "This store has not installed the app (or uninstalled it). Install it from "
                             "Apps › My Apps first.", 401)
    except services.UserRevoked:
        return _problem_page(request, "Access removed",
                             "The store owner removed your access to this app.", 403)
    return HttpResponseRedirect(console_url(console_token_issue(user)))


def _signed_callback(request: HttpRequest, action) -> JsonResponse:
    try:
        payload = verify_signed_payload_jwt(request.GET.get("signed_payload_jwt", ""))
    except InvalidSignedPayload as exc:
        return JsonResponse({"error": "invalid signed_payload_jwt", "detail": str(exc)}, status=401)
    try:
        action(payload)
    except services.UnknownStore:
        return JsonResponse({"error": "unknown store"}, status=401)
    return JsonResponse({"status": "ok"})


@require_GET
def uninstall_callback(request: HttpRequest) -> JsonResponse:
    return _signed_callback(request, services.store_uninstall)


@require_GET
def remove_user_callback(request: HttpRequest) -> JsonResponse:
    return _signed_callback(request, services.store_user_remove)
