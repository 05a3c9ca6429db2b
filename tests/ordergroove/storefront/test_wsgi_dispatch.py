"""The storefront endpoints answered at the WSGI layer (ordergroove/storefront/wsgi_dispatch.py) give exactly what
Django's handler gives: each request of a matrix goes through a plain Django WSGIHandler and through the project's
WSGI application (middleware.wsgi.application), and the status line, the headers, the body, the django.request /
django.security log records and the request signals are compared."""

from __future__ import annotations

import time

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import OperationalError, close_old_connections
from django.test import RequestFactory

import middleware.wsgi
import ordergroove.storefront.authentication as authentication
from bigcommerce_app.models import Store
from ordergroove.storefront.selectors import (
    storefront_caches_clear,
    subscriber_status_cache_key,
    subscriber_status_cache_set,
)
from ordergroove.storefront.wsgi_dispatch import STOREFRONT_PATHS, StorefrontDispatch, storefront_dispatch
from tests.ordergroove.test_storefront import (  # noqa: F401 - isolated: the same autouse fixture
    HAS_SUBS,
    SIGNATURE,
    STOREFRONT,
    isolated,
    theme_headers,
)

pytestmark = pytest.mark.django_db

FOREIGN = "https://evil.example.com"


@pytest.fixture
def sf_store(og_settings, store):
    store.storefront_origins = [STOREFRONT]
    store.save(update_fields=["storefront_origins"])
    return store


def _environ(method: str, path: str, query: str = "", body: bytes = b"", **headers) -> dict:
    request = RequestFactory().generic(method, path, data=body, content_type="application/json",
                                       QUERY_STRING=query, **headers)
    return request.environ


def _call(application, environ: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    answered = {}

    def start_response(status, headers, exc_info=None):
        answered.update(status=status, headers=headers)

    # What django.test.Client does around a request: close_old_connections on the request signals would close the
    # test's transaction. Both stacks send the signals (compared in _both); only this receiver is off.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            result.close()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return answered["status"], [(name, value) for name, value in answered["headers"] if name != "Date"], body


class _Recorded:
    """django.request / django.security records and request signals seen during one call."""

    def __init__(self, caplog):
        self.caplog = caplog
        self.signals: list[tuple[str, object]] = []

    def __enter__(self):
        self.caplog.clear()
        signals.request_started.connect(self._started)
        signals.request_finished.connect(self._finished)
        return self

    def __exit__(self, *exc):
        signals.request_started.disconnect(self._started)
        signals.request_finished.disconnect(self._finished)
        self.records = [(r.name, r.levelname, r.getMessage(), getattr(r, "status_code", None))
                        for r in self.caplog.records if r.name.startswith(("django.request", "django.security"))]

    def _started(self, sender, **kwargs):
        self.signals.append(("started", sender))

    def _finished(self, sender, **kwargs):
        self.signals.append(("finished", sender))


def _both(caplog, make_environ, dispatched=None, django=None):
    """The answers (and records) of Django's handler and of the dispatch for fresh environs from make_environ."""
    django = django or WSGIHandler()
    dispatched = dispatched or middleware.wsgi.application
    with _Recorded(caplog) as through_django:
        by_django = _call(django, make_environ())
    storefront_caches_clear()  # each answer from the same starting state (worker caches)
    with _Recorded(caplog) as through_dispatch:
        by_dispatch = _call(dispatched, make_environ())
    assert by_dispatch == by_django
    assert through_dispatch.records == through_django.records
    assert through_dispatch.signals == through_django.signals
    return by_django, through_django


def _token(fake_bc, **overrides):
    return fake_bc.customer_jwt("abc123", 4927, **overrides)


CASES = {
    "valid signature": lambda bc: ("GET", SIGNATURE, f"ts={int(time.time())}", theme_headers(_token(bc))),
    "valid signature, ts not first": lambda bc: ("GET", SIGNATURE, f"x=1&ts={int(time.time())}",
                                                 theme_headers(_token(bc))),
    "valid has_subscriptions": lambda bc: ("GET", HAS_SUBS, "", theme_headers(_token(bc))),
    "missing token": lambda bc: ("GET", SIGNATURE, "ts=1", theme_headers(None)),
    "invalid token": lambda bc: ("GET", HAS_SUBS, "", theme_headers("not-a-jwt")),
    "expired token": lambda bc: ("GET", SIGNATURE, f"ts={int(time.time())}", theme_headers(
        _token(bc, iat=int(time.time()) - 1900, exp=int(time.time()) - 1000))),
    "wrong authorization-client": lambda bc: ("GET", HAS_SUBS, "", theme_headers(_token(bc), client_id="other")),
    "stale ts": lambda bc: ("GET", SIGNATURE, "ts=1", theme_headers(_token(bc))),
    "no ts": lambda bc: ("GET", SIGNATURE, "", theme_headers(_token(bc))),
    "uninstalled store (never installed)": lambda bc: ("GET", HAS_SUBS, "", theme_headers(
        bc.customer_jwt("zzz999", 4927))),
    "foreign origin": lambda bc: ("GET", SIGNATURE, f"ts={int(time.time())}", theme_headers(_token(bc),
                                                                                           origin=FOREIGN)),
    "preflight, allowed origin": lambda bc: ("OPTIONS", HAS_SUBS, "", {
        "HTTP_ORIGIN": STOREFRONT, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET"}),
    "preflight, foreign origin": lambda bc: ("OPTIONS", SIGNATURE, "", {
        "HTTP_ORIGIN": FOREIGN, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET"}),
    "HEAD": lambda bc: ("HEAD", SIGNATURE, f"ts={int(time.time())}", theme_headers(_token(bc))),
    "POST": lambda bc: ("POST", SIGNATURE, "", theme_headers(_token(bc))),
    "PUT without token": lambda bc: ("PUT", HAS_SUBS, "", theme_headers(None)),
    "NUL in the query": lambda bc: ("GET", SIGNATURE, "ts=%00", theme_headers(_token(bc))),
    "raw NUL in the query": lambda bc: ("GET", SIGNATURE, "ts=1\x00", theme_headers(_token(bc))),
    "NUL in the path": lambda bc: ("GET", SIGNATURE + "%00", "ts=1", theme_headers(_token(bc))),
    "trailing slash": lambda bc: ("GET", SIGNATURE + "/", f"ts={int(time.time())}", theme_headers(_token(bc))),
    "other path": lambda bc: ("GET", "/api/v1/merchant/ordergroove/signatures", "", theme_headers(_token(bc))),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_dispatch_answers_as_django_does(caplog, sf_store, fake_bc, fake_og, case):
    method, path, query, headers = CASES[case](fake_bc)
    subscriber_status_cache_set(subscriber_status_cache_key("abc123", 4927), 1)
    (status, _, _), _ = _both(caplog, lambda: _environ(method, path, query, **headers))
    if case.startswith("valid"):
        assert status == "200 OK"


def test_a_host_outside_allowed_hosts_is_the_same_400_and_security_log(caplog, sf_store, fake_bc, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    token = _token(fake_bc)
    (status, _, _), recorded = _both(caplog, lambda: _environ("GET", SIGNATURE, f"ts={int(time.time())}",
                                                              HTTP_HOST="evil.example", **theme_headers(token)))
    assert status == "400 Bad Request"
    assert any(name == "django.security.DisallowedHost" for name, *_ in recorded.records)


def test_a_spent_rate_limit_is_the_same_429(caplog, sf_store, fake_bc, settings):
    settings.STOREFRONT_RATE_PER_CUSTOMER = "1/m"
    token = _token(fake_bc)
    _call(WSGIHandler(), _environ("GET", HAS_SUBS, "", **theme_headers(token)))  # the minute's one request
    for attempt in range(3):  # Retry-After counts whole seconds: a second boundary between the two calls moves it
        try:
            (status, _, _), _ = _both(caplog, lambda: _environ("GET", SIGNATURE, f"ts={int(time.time())}",
                                                               **theme_headers(token)))
            break
        except AssertionError:
            if attempt == 2:
                raise
    assert status == "429 Too Many Requests"


@pytest.mark.parametrize("error", [OperationalError("could not connect to server"), RuntimeError("bug")])
def test_an_unhandled_exception_is_answered_by_handler500_as_in_django(caplog, sf_store, fake_bc, monkeypatch,
                                                                        error):
    def unreachable(store_hash):
        raise error

    monkeypatch.setattr(authentication, "storefront_store_get", unreachable)
    token = _token(fake_bc)
    (status, headers, _), recorded = _both(caplog, lambda: _environ("GET", HAS_SUBS, "", **theme_headers(token)))
    if isinstance(error, OperationalError):
        assert status == "503 Service Unavailable" and ("Retry-After", "5") in headers
    else:
        assert status == "500 Internal Server Error"
    assert [level for name, level, *_ in recorded.records if name == "django.request"] == ["ERROR"]


def test_an_uninstalled_store_is_the_same_401(caplog, sf_store, fake_bc):
    sf_store.status = Store.Status.UNINSTALLED
    sf_store.save(update_fields=["status"])
    token = _token(fake_bc)
    (status, _, _), _ = _both(caplog, lambda: _environ("GET", SIGNATURE, f"ts={int(time.time())}",
                                                       **theme_headers(token)))
    assert status == "401 Unauthorized"


def test_production_ssl_redirect_and_hsts_are_the_same(caplog, sf_store, fake_bc, settings):
    """SecurityMiddleware reads these settings when the stack is built: both stacks are built under them."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    token = _token(fake_bc)
    django, dispatched = WSGIHandler(), storefront_dispatch(WSGIHandler())
    (status, headers, _), _ = _both(caplog, lambda: _environ("GET", SIGNATURE, "ts=1", **theme_headers(token)),
                                    dispatched, django)
    assert status == "301 Moved Permanently"
    (status, headers, _), _ = _both(caplog, lambda: _environ(
        "GET", SIGNATURE, f"ts={int(time.time())}", HTTP_X_FORWARDED_PROTO="https", **theme_headers(token)),
        dispatched, django)
    assert status == "200 OK" and ("Strict-Transport-Security", "max-age=31536000") in headers


class _Counting(WSGIHandler):
    calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return super().__call__(environ, start_response)


def _served_by_django(dispatch: StorefrontDispatch, path: str, fake_bc) -> bool:
    before = dispatch.django_application.calls
    _call(dispatch, _environ("GET", path, f"ts={int(time.time())}", **theme_headers(_token(fake_bc))))
    return dispatch.django_application.calls > before


def test_only_the_two_exact_paths_are_dispatched(sf_store, fake_bc):
    dispatch = StorefrontDispatch(_Counting())
    assert not _served_by_django(dispatch, SIGNATURE, fake_bc)
    assert not _served_by_django(dispatch, HAS_SUBS, fake_bc)
    assert set(dispatch.routes) == set(STOREFRONT_PATHS)
    for path in (SIGNATURE + "/", HAS_SUBS + "/", "/" + SIGNATURE, SIGNATURE.upper(), "/healthz", "/bench/bare"):
        assert _served_by_django(dispatch, path, fake_bc), path


def test_another_middleware_list_or_urlconf_turns_the_dispatch_off(sf_store, fake_bc, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.csrf.CsrfViewMiddleware"]
    assert _served_by_django(StorefrontDispatch(_Counting()), SIGNATURE, fake_bc)
    settings.MIDDLEWARE = settings.MIDDLEWARE[:-1]
    dispatch = StorefrontDispatch(_Counting())
    assert not _served_by_django(dispatch, SIGNATURE, fake_bc)
    settings.ROOT_URLCONF = "bigcommerce_app.console.urls"  # resolves neither path
    assert _served_by_django(dispatch, SIGNATURE, fake_bc)


def test_the_project_application_is_the_dispatch():
    assert any(isinstance(cell.cell_contents, StorefrontDispatch)
               for cell in middleware.wsgi.application.__closure__ or ()) or isinstance(
        middleware.wsgi.application, StorefrontDispatch)
