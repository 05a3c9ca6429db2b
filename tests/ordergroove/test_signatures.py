"""Ordergroove signatures: the fixed vectors of ordergroove.md §2.1/§9.2 and the verification rules."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import quote

import pytest

from ordergroove import signatures as sig

KEY = "Mt!ZQ45q&GHsgiRD8{NB-_h87#rjvbn0"


def _stdlib(message: str, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()).decode()


@pytest.mark.parametrize(("sig_field", "ts", "expected"), [
    ("12345", 1700000000, "NnWe64g+AAz6NDn8DzkDghKlDo9RwVbFvqzXOaBsihI="),
    ("test_user", 1488466536, "TDN5eMkeAeXDVACiYSMFoGU0brugUPRiwKkBBKLZE6U="),
])
def test_signature_matches_the_spec_vectors_and_an_independent_stdlib_computation(sig_field, ts, expected):
    assert sig.signature(sig_field, ts, KEY) == expected
    assert _stdlib(f"{sig_field}|{ts}") == expected


def test_signature_is_base64_not_hex_and_int_ids_sign_like_strings():
    value = sig.signature(12345, 1700000000, KEY)
    assert value == sig.signature("12345", 1700000000, KEY)
    assert len(base64.b64decode(value)) == 32


def test_trust_level_variant_signs_id_trust_ts():
    assert sig.signature("42", 1700000000, KEY, trust_level="recognized") == _stdlib("42|recognized|1700000000")
    assert sig.signature("42", 1700000000, KEY, trust_level="recognized") != sig.signature("42", 1700000000, KEY)


def test_url_encoded_form_escapes_plus_slash_and_equals():
    assert sig.signature_url_encoded("IYLYdrP/HAob0aCu54DIXrfqqOx3S7cgCIZeqv8Ai8o=") == \
        "IYLYdrP%2FHAob0aCu54DIXrfqqOx3S7cgCIZeqv8Ai8o%3D"
    assert sig.signature_url_encoded("a+b") == "a%2Bb"


def test_url_encoded_bytes_are_quote_of_the_signature():
    for field in ("1", 12345, "customer-9", "Zoë"):
        for key in (KEY, "k", b"\x00" * 40):
            for ts in (0, 1700000000, 1700000001, 2**40):
                expected = quote(sig.signature(field, ts, key), safe="").encode("ascii")
                assert sig.signature_url_encoded_bytes(field, ts, key) == expected


def test_verify_accepts_within_two_hours_either_way_and_refuses_outside():
    ts = 1700000000
    good = sig.signature("7", ts, KEY)
    assert sig.signature_verify("7", ts, good, KEY, now=ts + 7200)
    assert sig.signature_verify("7", ts, good, KEY, now=ts - 7200)
    assert not sig.signature_verify("7", ts, good, KEY, now=ts + 7201)
    assert not sig.signature_verify("7", ts, good, KEY, now=ts - 7201)


def test_verify_refuses_other_customer_other_key_tampering_and_accepts_url_encoded_sig():
    ts = 1700000000
    good = sig.signature("7", ts, KEY)
    assert not sig.signature_verify("8", ts, good, KEY, now=ts)
    assert not sig.signature_verify("7", ts, good, "another-key-another-key-another-k", now=ts)
    assert not sig.signature_verify("7", ts + 1, good, KEY, now=ts)
    assert not sig.signature_verify("7", ts, "", KEY, now=ts)
    assert not sig.signature_verify("7", "not-a-ts", good, KEY, now=ts)
    assert sig.signature_verify("7", str(ts), sig.signature_url_encoded(good), KEY, now=ts)


def test_og_auth_cookie_is_id_ts_signature_not_url_encoded():
    cookie = sig.og_auth_cookie("4927", KEY, ts=1700000000)
    customer, ts, value = cookie.split("|")
    assert (customer, ts) == ("4927", "1700000000")
    assert value == _stdlib("4927|1700000000")
    assert "%" not in cookie


def test_authorization_header_is_json_with_numeric_ts_and_plain_sig():
    value = sig.authorization_header("ogmerchant1", 4927, KEY, ts=1700000000)
    assert json.loads(value) == {"public_id": "ogmerchant1", "ts": 1700000000, "sig_field": "4927",
                                 "sig": _stdlib("4927|1700000000")}
    assert value == ('{"public_id": "ogmerchant1", "ts": 1700000000, "sig_field": "4927", "sig": "'
                     + _stdlib("4927|1700000000") + '"}')


def test_authorization_header_verify_checks_sig_field_merchant_window_and_signature():
    ts = 1700000000
    header = sig.authorization_header("ogmerchant1", "DC69410241", KEY, ts=ts)
    auth = sig.authorization_header_verify(header, KEY, expected_public_id="ogmerchant1",
                                           expected_sig_field="DC69410241", now=ts + 60)
    assert (auth.public_id, auth.sig_field, auth.ts) == ("ogmerchant1", "DC69410241", ts)
    cases = [
        (dict(expected_sig_field="other"), "wrong_sig_field"),
        (dict(expected_public_id="someone-else"), "unknown_merchant"),
        (dict(now=ts + 7201), "expired"),
    ]
    for kwargs, reason in cases:
        kwargs.setdefault("now", ts)
        with pytest.raises(sig.SignatureError) as err:
            sig.authorization_header_verify(header, KEY, **kwargs)
        assert err.value.reason == reason
    tampered = json.dumps({**json.loads(header), "sig_field": "someone"})
    with pytest.raises(sig.SignatureError) as err:
        sig.authorization_header_verify(tampered, KEY, now=ts)
    assert err.value.reason == "bad_signature"


def test_authorization_header_accepts_ts_as_string_like_magento_and_refuses_garbage():
    ts = 1700000000
    header = json.dumps({"public_id": "m", "ts": str(ts), "sig_field": "9", "sig": _stdlib(f"9|{ts}")})
    assert sig.authorization_header_verify(header, KEY, now=ts).ts == ts
    bad_values = [None, "", "not json", "[]", '{"public_id": "m"}',
                  '{"public_id":"m","ts":true,"sig_field":"9","sig":"x"}']
    for bad in bad_values:
        with pytest.raises(sig.SignatureError) as err:
            sig.authorization_header_parse(bad)
        assert err.value.reason == "malformed"


def test_api_key_header():
    assert sig.api_key_headers("abc") == {"x-api-key": "abc"}


def test_webhook_signature_vector_and_header_round_trip_with_rotation():
    body = b'{"id":"x"}'
    expected = "72ca9e11bb379662c374355b3d3590603a1dceee48f782a20c65e6df41eedfe8"
    assert sig.webhook_signature("super-secret-webhooks-verification-key", 1592570791, body) == expected
    assert hmac.new(b"super-secret-webhooks-verification-key", b"1592570791." + body, hashlib.sha256).hexdigest() \
        == expected
    header = sig.webhook_signature_header(["new-key", "old-key"], body, ts=1592570791)
    assert header.startswith("ts=1592570791,sig=") and header.count("sig=") == 2
    assert sig.webhook_signature_verify(header, body, "old-key") == 1592570791
    assert sig.webhook_signature_verify(header.replace(",", ", "), body, ["new-key"]) == 1592570791
    with pytest.raises(sig.SignatureError):
        sig.webhook_signature_verify(header, body + b" ", "new-key")
    with pytest.raises(sig.SignatureError):
        sig.webhook_signature_verify(header, body, "third-key")
    with pytest.raises(sig.SignatureError) as err:
        sig.webhook_signature_verify(header, body, "new-key", tolerance=300, now=1592570791 + 301)
    assert err.value.reason == "expired"
    for bad in [None, "", "sig=abc", "ts=1", "garbage"]:
        with pytest.raises(sig.SignatureError):
            sig.webhook_signature_parse(bad)
