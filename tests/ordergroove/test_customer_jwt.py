"""customer_jwt.py keeps PyJWT's own rules while removing per-call costs: its base64url segment check accepts
and rejects exactly what PyJWT's does (and decodes to the same bytes), its HMAC key memo refuses what PyJWT refuses,
its payload reader gives PyJWT's claims or errors, and the configured PyJWT instance still verifies, and refuses,
real tokens."""

from __future__ import annotations

import base64
import random
import time

import jwt
import pytest
from jwt.api_jws import PyJWS
from jwt.exceptions import DecodeError, InvalidKeyError

from ordergroove.storefront import customer_jwt

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _outcome(fn, segment: bytes):
    try:
        return ("ok", fn(segment, "payload"))
    except DecodeError as exc:
        return ("error", str(exc))


def _corpus() -> list[bytes]:
    rng = random.Random(20261124)
    segments = [b"", b"=", b"==", b"===", b"A", b"AA", b"AAA", b"AAAA", b"AB==", b"AB=", b"ABC=", b"ABC==",
                b"AB==A", b"A=B", b"!!!!", b"AB+/", b"AB/=", b"QUJD", b"QUJDRA", b"QUJDRA==", b"QUJDRB", b"QUJDRQ",
                b"eyJhbGciOiJIUzI1NiJ9", b" eyJh", b"eyJh\n", b"\xff\xfe", "é".encode()]
    for _ in range(4000):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 48)))
        canonical = base64.urlsafe_b64encode(data)
        segments.append(canonical)
        segments.append(canonical.rstrip(b"="))
        mutated = bytearray(canonical.rstrip(b"=") or b"A")
        position = rng.randrange(len(mutated))
        choice = rng.random()
        if choice < 0.3:  # a junk byte
            mutated[position] = rng.choice(b"!+/=.~ \x00\x80")
        elif choice < 0.6:  # a non-canonical last character (unused low bits set)
            mutated[-1] = ord(rng.choice(ALPHABET))
        else:  # random padding
            mutated += b"=" * rng.randint(1, 3)
        segments.append(bytes(mutated))
    return segments


def test_segment_check_matches_pyjwt_on_valid_junk_and_padding_edge_cases():
    assert callable(getattr(PyJWS, "_decode_base64url_segment", None)), "PyJWT renamed the method we override"
    corpus = _corpus()
    verdicts = {"ok": 0, "error": 0}
    for segment in corpus:
        ours = _outcome(customer_jwt.decode_base64url_segment, segment)
        theirs = _outcome(PyJWS._decode_base64url_segment, segment)
        assert ours == theirs, segment
        verdicts[ours[0]] += 1
    assert verdicts["ok"] > 3000 and verdicts["error"] > 1000  # both sides of the rule were exercised


def test_the_configured_instance_uses_the_fast_check_and_verifies_tokens():
    jws = customer_jwt.customer_token_jwt._jws
    assert jws._decode_base64url_segment is customer_jwt.decode_base64url_segment
    secret = "a-client-secret-of-reasonable-length-0123"
    now = int(time.time())
    claims = {"sub": "abc", "aud": "cid", "iss": "bc/apps", "iat": now, "exp": now + 900}
    for alg in customer_jwt.ALGORITHMS:
        token = jwt.encode(claims, secret, algorithm=alg)
        claims = customer_jwt.customer_token_jwt.decode(token, secret, algorithms=list(customer_jwt.ALGORITHMS),
                                                        audience="cid")
        assert claims["sub"] == "abc"
        with pytest.raises(jwt.InvalidSignatureError):
            customer_jwt.customer_token_jwt.decode(token, secret + "x", algorithms=list(customer_jwt.ALGORITHMS),
                                                   audience="cid")
    with pytest.raises(jwt.InvalidAlgorithmError):
        customer_jwt.customer_token_jwt.decode(jwt.encode(claims, secret, algorithm="HS384"), secret,
                                               algorithms=["HS384"])
    for claim in customer_jwt.REQUIRED_CLAIMS:  # the instance requires them without being told per call
        token = jwt.encode({k: v for k, v in claims.items() if k != claim}, secret, algorithm="HS256")
        with pytest.raises(jwt.MissingRequiredClaimError):
            customer_jwt.customer_token_jwt.decode(token, secret, algorithms=["HS256"], audience="cid")


def test_key_memo_still_refuses_empty_and_asymmetric_keys():
    algorithm = jwt.algorithms.get_default_algorithms()["HS256"]
    memo = customer_jwt._MemoHMAC(algorithm.hash_alg)
    pem = b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
    for bad in (b"", "", pem):
        with pytest.raises(InvalidKeyError):
            memo.prepare_key(bad)
    assert memo.prepare_key("secret") == memo.prepare_key("secret") == b"secret"


def test_keyed_hmac_memo_signs_as_pyjwt_does_for_every_key_and_length():
    for name in customer_jwt.ALGORITHMS:
        pyjwt_alg = jwt.algorithms.get_default_algorithms()[name]
        memo = customer_jwt._MemoHMAC(pyjwt_alg.hash_alg)
        for key in (b"k", b"short-key", b"x" * 32, b"y" * 64, b"z" * 200, b"k", b"x" * 32):  # repeats: memo hits
            for msg in (b"", b"a.b", b"h" * 1000):
                assert memo.sign(msg, key) == pyjwt_alg.sign(msg, key)
                assert memo.verify(msg, key, pyjwt_alg.sign(msg, key))
                assert not memo.verify(msg, key, pyjwt_alg.sign(msg + b"!", key))
            assert memo.check_key_length(key) == pyjwt_alg.check_key_length(key)


def _payload_outcome(instance: jwt.PyJWT, payload: bytes):
    try:
        return ("ok", instance._decode_payload({"payload": payload}))
    except DecodeError as exc:
        return ("error", str(exc).split(":")[0])


def test_payload_is_read_as_pyjwt_reads_it_oddities_included():
    payloads = [b'{"customer":{"id":1000,"email":"c@example.com","group_id":"0"},"iss":"bc/apps","sub":"abc",'
                b'"iat":1790000000,"exp":1790000900,"version":1,"operation":"current_customer"}',
                b'{"a":1,"a":2}', b' {"x": [1, 2.5, -3e2, true, false, null, "\\u00e9\\ud83d\\ude00"]} ', b'{}',
                '{"name":"Zo\u00eb \U0001f600"}'.encode(), b"[1]", b'"text"', b"1", b"", b"{", b'{"a":1} x',
                b'{"a":"\xff"}', b'{"id":18446744073709551615}', b'{"id":-9223372036854775808}',
                # orjson refuses these; PyJWT's json.loads answers them (read, or its own error)
                b'{"exp":NaN}', b'{"exp":1e400}', b'{"sub":"\\ud800"}', b"\xef\xbb\xbf{}",
                b'{"id":' + b"9" * 400 + b"}", b'{"a":' * 10_000 + b"1" + b"}" * 10_000]
    for payload in payloads:
        assert _payload_outcome(customer_jwt.customer_token_jwt, payload) == _payload_outcome(jwt.PyJWT(), payload)
