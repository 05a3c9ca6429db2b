"""The storefront's prebuilt responses (ordergroove/storefront/responses.py) are the responses Django would build.

JsonAnswer sets Django's internal attributes itself and headers_add writes ResponseHeaders' store: these tests
build the same responses Django's way and compare everything, so a Django upgrade that changes the internals fails
here instead of on the storefront."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.http.response import BadHeaderError

from ordergroove.storefront.responses import JsonAnswer, headers_add, headers_prepared


def _state(response: HttpResponse) -> dict:
    state = dict(vars(response))
    state["headers"] = list(state["headers"]._store.items())  # order too: it is the order on the wire
    state["cookies"] = dict(state["cookies"])
    return state


@pytest.mark.parametrize("status", [200, 400, 401, 429, 503])
def test_a_json_answer_is_the_response_django_builds(status):
    body = b'{"data":"abc%2B%2F%3D"}'
    ours, djangos = JsonAnswer(body, status), HttpResponse(body, status=status, content_type="application/json")
    assert type(ours).__mro__[1:] == type(djangos).__mro__
    assert _state(ours) == _state(djangos)
    assert ours.serialize() == djangos.serialize()
    assert ours.reason_phrase == djangos.reason_phrase and ours.charset == djangos.charset == "utf-8"


def test_prepared_headers_are_set_as_django_sets_them():
    fixed = {"Allow": "GET, OPTIONS", "Vary": "Origin", "Cache-Control": "no-store"}
    ours, djangos = JsonAnswer(b"{}", 401), HttpResponse(b"{}", status=401, content_type="application/json")
    ours["WWW-Authenticate"] = djangos["WWW-Authenticate"] = 'BigCommerce realm="storefront"'
    headers_add(ours, headers_prepared(fixed))
    for name, value in fixed.items():
        djangos[name] = value
    assert _state(ours) == _state(djangos)


def test_headers_are_still_validated_by_django():
    with pytest.raises(BadHeaderError):
        headers_prepared({"Vary": "Origin\r\nSet-Cookie: x=1"})
