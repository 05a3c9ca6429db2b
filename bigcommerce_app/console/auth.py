"""Console authentication without third-party cookies (bigcommerce.md §1.8).

`load` verifies BigCommerce's signed payload and hands the console a short-lived signed token naming the
store user. Pages carry it in the URL (`?t=`), JavaScript and automation send `X-Console-Token`. Every
request re-checks that the user has not been removed and the store is still installed, so revocation is
immediate. The token never contains or reveals the BigCommerce access token.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from bigcommerce_app.console import nav
from bigcommerce_app.models import Store, StoreUser
from bigcommerce_app.selectors import alerts_unacknowledged

SALT = "bigcommerce_app.console"
HEADER = "X-Console-Token"


class ConsoleAuthError(Exception):
    pass


@dataclass
class ConsoleSession:
    user: StoreUser
    store: Store
    token: str
    path: str = ""  # the page's path, for the tab bar

    # DRF treats request.user as authenticated when this is truthy.
    is_authenticated = True

    @property
    def alerts(self):
        """The banners: open alerts nobody acknowledged yet."""
        return alerts_unacknowledged(self.store)

    @property
    def tabs(self) -> list[dict]:
        """The tab bar (nav.TABS) with the tab of this page marked active."""
        active = nav.tab_active(self.path)
        return [{"key": tab.key, "label": tab.label, "path": tab.path, "active": tab.key == active}
                for tab in nav.TABS]


def console_token_issue(user: StoreUser) -> str:
    return signing.dumps({"u": user.pk, "s": user.store.store_hash}, salt=SALT, compress=True)


def console_session_from_token(token: str | None) -> ConsoleSession:
    if not token:
        raise ConsoleAuthError("Open the app from the BigCommerce control panel to use the console.")
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.CONSOLE_TOKEN_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ConsoleAuthError("Your console session expired: open the app again from the control panel.") from exc
    except signing.BadSignature as exc:
        raise ConsoleAuthError("This console link is not valid.") from exc
    user = StoreUser.objects.select_related("store").filter(pk=data.get("u")).first()
    if user is None or user.store.store_hash != data.get("s"):
        raise ConsoleAuthError("This console link is not valid.")
    if user.removed_at is not None:
        raise ConsoleAuthError("Your access to this app was removed by the store owner.")
    if user.store.status == Store.Status.UNINSTALLED:
        raise ConsoleAuthError("The app is not installed on this store.")
    return ConsoleSession(user=user, store=user.store, token=token)


def token_from_request(request: HttpRequest) -> str | None:
    return request.headers.get(HEADER) or request.GET.get("t") or request.POST.get("t")


def console_view(view):
    """Decorator for console pages: sets request.console (ConsoleSession) or answers a 401 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            request.console = console_session_from_token(token_from_request(request))
            request.console.path = request.path
        except ConsoleAuthError as exc:
            return render(request, "console/denied.html", {"reason": str(exc)}, status=401)
        return view(request, *args, **kwargs)

    return wrapper


class ConsoleTokenAuthentication(authentication.BaseAuthentication):
    """DRF authentication for /console/api/...: request.user is a ConsoleSession."""

    def authenticate(self, request):
        token = token_from_request(request._request)
        try:
            session = console_session_from_token(token)
        except ConsoleAuthError as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        return session, token

    def authenticate_header(self, request) -> str:
        return "Console"


# The base of every /console/api/... view: the console token authenticates, request.user is a ConsoleSession.
# (A comment, not a docstring: drf-spectacular would print a docstring into every operation's description.)
class ConsoleAPIView(APIView):
    authentication_classes = [ConsoleTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]


def console_actor(request: Request) -> str:
    """Who did it, for the audit trail: the console user's email, else their BigCommerce user ID."""
    return request.user.user.email or str(request.user.user.bc_user_id)


try:  # OpenAPI: describe the console token so /api/schema/ documents how automation authenticates
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    class ConsoleTokenScheme(OpenApiAuthenticationExtension):
        target_class = "bigcommerce_app.console.auth.ConsoleTokenAuthentication"
        name = "ConsoleToken"

        def get_security_definition(self, auto_schema):
            return {"type": "apiKey", "in": "header", "name": HEADER,
                    "description": "The console token handed out by /bigcommerce/load (also accepted as ?t=)."}
except ImportError:  # pragma: no cover - drf-spectacular is a dependency
    pass
