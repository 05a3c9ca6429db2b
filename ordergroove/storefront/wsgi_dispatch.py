"""The storefront endpoints answered at the WSGI layer, before Django's handler (issue 17 §1).

Every storefront page view calls them; a bare Django view already pays Django's request cycle (the five
middleware through their ``convert_exception_to_response`` wrappers and ``MiddlewareMixin.__call__``, WhiteNoise's
lookup, URL resolving, ``make_view_atomic``). ``storefront_dispatch`` wraps the project's WSGI application: a
request whose PATH_INFO is exactly one of the storefront URL patterns' paths is served here, everything else (any
other path, a trailing slash, another spelling) goes to Django untouched.

Identical by construction, not by imitation: what Django's stack does for these paths is done by the same code,
called without the plumbing between the pieces.
- The view is the one the root URLconf resolves the path to, if that is the storefront URL pattern of that name
  (resolved again whenever ``settings.ROOT_URLCONF`` changes); ``request.resolver_match`` is that resolution; the
  view is wrapped by the handler's own ``make_view_atomic`` and its answer checked by ``check_response``.
- The middleware are the classes of ``settings.MIDDLEWARE``, instantiated here and called in Django's order:
  SecurityMiddleware's and CommonMiddleware's ``process_request`` / ``process_response`` (SSL redirect, host
  validation against ALLOWED_HOSTS, disallowed user agents, Content-Length, the security headers), the project's
  RejectNul and FramingPolicy middleware through their own ``__call__``. WhiteNoise serves nothing on these paths
  (checked at start: they are outside its static prefix and no WHITENOISE_ROOT is set), so it is left out. Any
  other MIDDLEWARE list turns the dispatch off (everything goes to Django).
- An exception is turned into a response at the same layer Django's ``convert_exception_to_response`` would turn
  it (``response_for_exception``: DisallowedHost → 400, the handler500 503-on-database-down, got_request_exception)
  and then passes through the process_response of the layers above it, as in Django; 4xx/5xx are logged to
  django.request by ``log_response`` once.
- ``WSGIHandler.__call__``'s steps (script prefix, request_started, ``WSGIRequest``, status line, headers with
  cookies, ``_handler_class`` so that closing the response sends request_finished) are repeated below.
tests/ordergroove/storefront/test_wsgi_dispatch.py sends a matrix of requests through both and compares the
status, the headers and the body.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from urllib.parse import urlparse

from django.conf import settings
from django.core import signals
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler, get_script_name
from django.http import HttpRequest, HttpResponse
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, ResolverMatch, resolve, set_script_prefix, set_urlconf
from django.utils.log import log_response

from middleware.plumbing.security import FramingPolicyMiddleware, RejectNulMiddleware

# The stack re-created below, in settings.MIDDLEWARE's order.
RECREATED_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "middleware.plumbing.security.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "middleware.plumbing.security.FramingPolicyMiddleware",
)

View = Callable[[HttpRequest], HttpResponse]
Route = Callable[[HttpRequest], HttpResponse]  # the stack below SecurityMiddleware for one path


def _passed(request: HttpRequest) -> None:
    """The get_response of RejectNulMiddleware here: None means the request passed its check."""
    return None


# PATH_INFO → the name of its URL pattern (ordergroove/storefront/urls.py, at the root URLconf's top level).
STOREFRONT_PATHS = {
    "/api/v1/merchant/ordergroove/signature": "storefront-signature",
    "/api/v1/ordergroove/customer/has_subscriptions": "storefront-has-subscriptions",
}


def whitenoise_serves_none_of(paths: list[str]) -> bool:
    """WhiteNoise answers only URLs under its static prefix, or any URL when WHITENOISE_ROOT is set."""
    if getattr(settings, "WHITENOISE_ROOT", None):
        return False
    prefix = getattr(settings, "WHITENOISE_STATIC_PREFIX", None) or urlparse(settings.STATIC_URL or "").path
    prefix = "/" + prefix.strip("/") + "/"
    return not any(path.startswith(prefix) for path in paths)


class StorefrontDispatch:
    """The WSGI application: the storefront paths served here, the rest by `django_application`."""

    def __init__(self, django_application: WSGIHandler) -> None:
        self.django_application = django_application
        self.handler_class = type(django_application)
        self.request_class = django_application.request_class
        self.enabled = (tuple(settings.MIDDLEWARE) == RECREATED_MIDDLEWARE
                        and whitenoise_serves_none_of(list(STOREFRONT_PATHS)))
        # What load_middleware reads from the settings at start, read at the same moment.
        self.security = SecurityMiddleware(_passed)
        self.reject_nul = RejectNulMiddleware(_passed)
        self.common = CommonMiddleware(_passed)
        self.routes: dict[str, Route] = {}
        self.routes_urlconf: str | None = None

    def __call__(self, environ: dict, start_response: Callable) -> HttpResponse:
        path = environ.get("PATH_INFO")
        if path not in STOREFRONT_PATHS or not self.enabled:  # every other request: one dict lookup
            return self.django_application(environ, start_response)
        if settings.ROOT_URLCONF is not self.routes_urlconf:  # what Django resolves with, read per request too
            self.routes = self._routes()
        route = self.routes.get(path)
        if route is None:
            return self.django_application(environ, start_response)
        # WSGIHandler.__call__, with get_response below.
        set_script_prefix(get_script_name(environ))
        signals.request_started.send(sender=self.handler_class, environ=environ)
        request = self.request_class(environ)
        response = self._get_response(request, route)
        response._handler_class = self.handler_class
        status = f"{response.status_code} {response.reason_phrase}"  # Django's "%d %s"
        response_headers = [
            *response.items(),
            *(("Set-Cookie", c.output(header="")) for c in response.cookies.values()),
        ]
        start_response(status, response_headers)
        # No file_to_stream: these views answer JSON bytes.
        return response

    def _routes(self) -> dict[str, Route]:
        """PATH_INFO → the stack below SecurityMiddleware for that path, for the paths the URLconf resolves to
        the storefront URL patterns. The view is what Django would call."""
        self.routes_urlconf = settings.ROOT_URLCONF
        routes = {}
        for path, name in STOREFRONT_PATHS.items():
            try:
                match = resolve(path, self.routes_urlconf)
            except Resolver404:
                continue
            if match.url_name == name and not match.args and not match.kwargs:
                view = match.func
                view_layer = partial(self._view_layer, self.django_application.make_view_atomic(view), view, match)
                framed = FramingPolicyMiddleware(view_layer)
                routes[path] = partial(self._below_security, partial(self._below_common, framed))
        return routes

    def _get_response(self, request: HttpRequest, route: Route) -> HttpResponse:
        """BaseHandler.get_response, with the middleware chain as Django builds it from RECREATED_MIDDLEWARE."""
        set_urlconf(settings.ROOT_URLCONF)
        # convert_exception_to_response(SecurityMiddleware): MiddlewareMixin.__call__'s steps.
        try:
            response = self.security.process_request(request)
            response = response or route(request)
            response = self.security.process_response(request, response)
        except Exception as exc:
            response = response_for_exception(request, exc)
        response._resource_closers.append(request.close)
        if response.status_code >= 400:
            log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        return response

    def _below_security(self, below_common: Route, request: HttpRequest) -> HttpResponse:
        # convert_exception_to_response(RejectNulMiddleware); then WhiteNoise, which serves nothing here.
        try:
            response = self.reject_nul(request)
            return below_common(request) if response is None else response
        except Exception as exc:
            return response_for_exception(request, exc)

    def _below_common(self, framed: FramingPolicyMiddleware, request: HttpRequest) -> HttpResponse:
        # convert_exception_to_response(CommonMiddleware), then convert_exception_to_response(FramingPolicy...).
        try:
            response = self.common.process_request(request)
            if not response:
                try:
                    response = framed(request)
                except Exception as exc:
                    response = response_for_exception(request, exc)
            return self.common.process_response(request, response)
        except Exception as exc:
            return response_for_exception(request, exc)

    def _view_layer(self, atomic_view: View, view: View, match: ResolverMatch, request: HttpRequest) -> HttpResponse:
        """convert_exception_to_response(BaseHandler._get_response) for an already resolved path (no view,
        template-response or exception middleware in RECREATED_MIDDLEWARE)."""
        try:
            request.resolver_match = match
            response = atomic_view(request)
            self.django_application.check_response(response, view)
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
            return response
        except Exception as exc:
            return response_for_exception(request, exc)


def storefront_dispatch(django_application: WSGIHandler) -> StorefrontDispatch:
    """`django_application`, with the storefront endpoints answered before its handler."""
    return StorefrontDispatch(django_application)
