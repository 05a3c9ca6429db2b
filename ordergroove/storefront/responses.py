"""Responses of the storefront endpoints with their fixed headers validated once per process.

Django's ``ResponseHeaders.__setitem__`` checks every header name and value (charset, newlines) on each call, and
``HttpResponse.__init__`` sets the Content-Type and the content through the same checks: about 50 k instructions
per storefront request for headers that never change (issue 17). Here Django's own ``ResponseHeaders`` validates
them once, at import, and a response takes the validated entries with one dict update. The per-request value (the
allowed Origin echoed back) still goes through ``__setitem__``.

``ResponseHeaders._store`` and the attributes ``HttpResponseBase.__init__`` sets are Django internals:
tests/ordergroove/test_storefront_responses.py builds the same response Django's way and fails if the two ever
differ (a Django upgrade that adds an attribute), and test_storefront_input.py pins the headers on the wire.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from django.http import HttpResponse
from django.http.response import ResponseHeaders

JSON_CONTENT_TYPE = "application/json"


def headers_prepared(headers: dict[str, str]) -> dict[str, tuple[str, str]]:
    """`headers` as ResponseHeaders stores them (lower-cased name → (name, value)), validated by Django."""
    return dict(ResponseHeaders(headers)._store)


_JSON_HEADERS = headers_prepared({"Content-Type": JSON_CONTENT_TYPE})


class JsonAnswer(HttpResponse):
    """``HttpResponse(body, status=status, content_type="application/json")`` without re-validating the fixed
    Content-Type and without the content setter's type dispatch (`body` is always bytes here)."""

    def __init__(self, body: bytes, status: int = 200) -> None:  # deliberately not super().__init__: see above
        # What HttpResponseBase.__init__ and HttpResponse.__init__ set (Django 5), in the same order.
        self.headers = headers = ResponseHeaders(None)
        headers._store.update(_JSON_HEADERS)
        self._charset = None
        self._resource_closers = []
        self._handler_class = None
        self.cookies = SimpleCookie()
        self.closed = False
        self.status_code = status
        self._reason_phrase = None
        self._container = [body]


def headers_add(response: HttpResponse, prepared: dict[str, tuple[str, str]]) -> None:
    """Set headers validated by headers_prepared (what ``response[name] = value`` does for each)."""
    response.headers._store.update(prepared)
