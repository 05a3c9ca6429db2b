"""PyJWT, set up once for BigCommerce's Current Customer JWT (the storefront's hot path).

Verification stays PyJWT's: its header/claims/algorithm-allow-list logic runs unchanged. Three of its per-call costs
are removed, each with the library's own rule kept exactly:

- PyJWT 2.15 checks each base64url segment for non-alphabet bytes (GHSA-hxm8-2xgr-2p9m) with a per-byte Python
  generator: ~40 % of a decode for a ~500-byte customer token. ``_CustomerTokenJWS`` applies the same rule with
  ``bytes.translate`` (C); tests/storefront/test_customer_jwt.py proves it accepts and rejects exactly what
  PyJWT's own method does on a corpus of valid, junk and padding-edge segments.
- PyJWT reads the claims with ``json.loads``: ~35 k instructions for a customer token's payload, a fifth of the
  whole verification. ``_decode_payload`` is PyJWT's documented hook for reading the payload differently; orjson
  reads it for ~3 k. What orjson refuses (NaN/Infinity, numbers beyond a double, lone surrogates, a byte-order
  mark, deep nesting, malformed JSON) goes to PyJWT's own json.loads, so such tokens get PyJWT's exact answer.
  The one difference left: orjson reads an integer beyond 64 bits as a float; no claim the storefront reads can
  hold one and pass (customer id: an int up to 10^12; sub/store_hash: strings; exp/iat: far beyond any time).
- PyJWT re-validates the HMAC secret on every decode (probing it as PEM, SSH and DER public keys) and keys a new
  OpenSSL HMAC for each signature. The app's client secret does not change between requests, so ``_MemoHMAC``
  keeps the prepared form of the last few secrets and an HMAC keyed with each, copied per token (same digest).

PyJWT is pinned below 3 in pyproject.toml; the test fails loudly if the overridden method disappears.
"""

from __future__ import annotations

import binascii
import hmac
import threading
from typing import Any

import jwt
import orjson
from jwt.algorithms import HMACAlgorithm
from jwt.api_jws import PyJWS
from jwt.exceptions import DecodeError

ALGORITHMS = ("HS256", "HS512")
REQUIRED_CLAIMS = ("exp", "iat", "aud", "iss", "sub")
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def decode_base64url_segment(segment: bytes, name: str) -> bytes:
    """PyJWS._decode_base64url_segment's rule (PyJWT 2.15): at most two trailing '=' and only on a segment whose
    length is a multiple of 4, no length ≡ 1 (mod 4), nothing outside the base64url alphabet, canonical encoding
    (re-encoding the bytes gives the segment back).

    Tokens carry no padding, so that case is one translate and one strict C decode: '+', '/' and '=' become '!'
    (which strict mode refuses) while '-' and '_' become their standard letters; canonical means the unused low
    bits of the last character are zero. A padded segment takes the general path below."""
    if segment[-1:] == b"=":
        return _decode_padded(segment, name)
    remainder = len(segment) % 4
    try:
        if remainder == 1:
            raise binascii.Error
        decoded = binascii.a2b_base64(segment.translate(_TO_STANDARD_STRICT) + _PADDING[remainder], strict_mode=True)
        if remainder and _SEXTET[segment[-1]] & _UNUSED_BITS[remainder]:
            raise binascii.Error
    except binascii.Error as err:
        raise DecodeError(f"Invalid {name} padding") from err
    return decoded


_TO_STANDARD_STRICT = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING = {0: b"", 2: b"==", 3: b"="}
_SEXTET = {byte: value for value, byte in enumerate(_ALPHABET)}
_UNUSED_BITS = {2: 0b1111, 3: 0b11}  # 2 chars carry 12 bits for 1 byte, 3 chars 18 bits for 2 bytes


def _decode_padded(segment: bytes, name: str) -> bytes:
    stripped = segment.rstrip(b"=")
    padding = len(segment) - len(stripped)
    if (padding > 2 or len(segment) % 4 != 0 or len(stripped) % 4 == 1
            or stripped.translate(None, _ALPHABET)):
        raise DecodeError(f"Invalid {name} padding")
    try:
        decoded = binascii.a2b_base64(stripped.translate(_TO_STANDARD) + b"=" * (-len(stripped) % 4),
                                      strict_mode=True)
    except binascii.Error as err:
        raise DecodeError(f"Invalid {name} padding") from err
    if binascii.b2a_base64(decoded, newline=False).translate(_TO_URLSAFE).rstrip(b"=") != stripped:
        raise DecodeError(f"Invalid {name} padding")
    return decoded


class _CustomerTokenJWS(PyJWS):
    _decode_base64url_segment = staticmethod(decode_base64url_segment)


class _MemoHMAC(HMACAlgorithm):
    def __init__(self, hash_alg: Any) -> None:
        super().__init__(hash_alg)
        self._prepared: dict[bytes | str, bytes] = {}
        self._keyed: dict[bytes, hmac.HMAC] = {}
        self._length_verdicts: dict[int, str | None] = {}
        self._lock = threading.Lock()

    def check_key_length(self, key: bytes) -> str | None:
        # PyJWT's answer depends only on the key's length (it builds a hash object per call to learn its size).
        length = len(key)
        if length not in self._length_verdicts:
            self._length_verdicts[length] = super().check_key_length(key)
        return self._length_verdicts[length]

    def sign(self, msg: bytes, key: bytes) -> bytes:
        """HMACAlgorithm.sign (``hmac.new(key, msg, hash_alg).digest()``) from a copy of an HMAC already keyed with
        this key: OpenSSL's per-call setup of a new HMAC is most of its cost for a short token."""
        keyed = self._keyed.get(key)
        if keyed is None:
            keyed = hmac.new(key, digestmod=self.hash_alg)
            with self._lock:
                if len(self._keyed) >= 4:
                    self._keyed.clear()
                self._keyed[key] = keyed
        mac = keyed.copy()
        mac.update(msg)
        return mac.digest()

    def prepare_key(self, key: str | bytes) -> bytes:
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = super().prepare_key(key)  # raises for empty or asymmetric keys, as PyJWT does
            with self._lock:
                if len(self._prepared) >= 4:  # a rotated secret replaces the old ones
                    self._prepared.clear()
                self._prepared[key] = prepared
        return prepared


class _CustomerTokenJWT(jwt.PyJWT):
    def __init__(self) -> None:
        # The storefront's required claims as the instance's options: decode() called without options then uses
        # them as they are instead of merging a fresh options dict per call.
        super().__init__(options={"require": list(REQUIRED_CLAIMS)})
        jws = _CustomerTokenJWS(algorithms=ALGORITHMS, options=self._get_sig_options())
        jws.unregister_algorithm("HS256")
        jws.unregister_algorithm("HS512")
        jws.register_algorithm("HS256", _MemoHMAC(HMACAlgorithm.SHA256))
        jws.register_algorithm("HS512", _MemoHMAC(HMACAlgorithm.SHA512))
        self._jws = jws

    def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
        try:
            payload = orjson.loads(decoded["payload"])
        except orjson.JSONDecodeError:  # what json may still take, or PyJWT's own error message
            return super()._decode_payload(decoded)
        if not isinstance(payload, dict):
            raise DecodeError("Invalid payload string: must be a json object")  # PyJWT's words
        return payload


customer_token_jwt = _CustomerTokenJWT()
