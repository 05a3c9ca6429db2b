"""Ordergroove HMAC signatures: the one place that knows how Ordergroove signs and verifies.

Public functions (all pure; no database, no network):

- ``signature(sig_field, ts, hash_key, *, trust_level=None) -> str``
  ``base64(HMAC-SHA256(hash_key, "sig_field|ts"))`` (DECISIONS §3.1, ordergroove.md §2.1); with a trust level the
  message is ``"sig_field|trust_level|ts"`` (R-AUTH/R-SIGGEN "recognized" customers). Not URL-encoded.
- ``signature_url_encoded(sig) -> str``: the form for URLs and legacy body fields (``quote(sig, safe="")``).
  Never use it for the JSON ``authorization`` header or the ``og_auth`` cookie.
- ``signature_url_encoded_bytes(sig_field, ts, hash_key) -> bytes``: ``signature_url_encoded(signature(...))`` as
  ASCII bytes, for the storefront signature endpoint's response body.
- ``sign(sig_field, hash_key, *, ts=None, trust_level=None) -> tuple[int, str]``: signature for now (or ``ts``).
- ``ts_is_fresh(ts, *, now=None, window=SIGNATURE_WINDOW_SECONDS) -> bool``: ``|now - ts| <= 2 h``.
- ``signature_verify(sig_field, ts, sig, hash_key, *, now=None, window=..., trust_level=None) -> bool``:
  freshness + constant-time comparison. ``sig`` may arrive URL-encoded (legacy bodies): both forms are accepted.
- ``og_auth_cookie(sig_field, hash_key, *, ts=None) -> str``: ``"customer_id|ts|signature"`` (ordergroove.md §2.2).
- ``authorization_header(public_id, sig_field, hash_key, *, ts=None, trust_level=None) -> str``: the JSON
  ``authorization`` header value of the customer (Storefront API) scope,
  ``{"public_id": "...", "ts": 1700000000, "sig_field": "...", "sig": "..."}`` (ts a JSON number, sig plain).
- ``authorization_header_parse(value) -> Authorization``: parse such a header (ts as number or numeric string);
  raises ``SignatureError`` with a human message when it is not one.
- ``authorization_header_verify(value, hash_key, *, expected_public_id=None, expected_sig_field=None, now=None)
  -> Authorization``: parse + check public id / sig_field (e.g. order placement's ``customerPartnerId``) + fresh +
  signature. Raises ``SignatureError`` (``.reason`` is a short machine code) on any failure.
- ``api_key_headers(api_key) -> dict``: the Application scope header (``x-api-key``).
- Ordergroove webhooks (DECISIONS §2, ordergroove.md §9.2), header ``Ordergroove-Signature: ts=..,sig=..[,sig=..]``:
  ``webhook_signature(key, ts, body: bytes) -> str`` hex HMAC-SHA256 of ``b"{ts}." + body``;
  ``webhook_signature_header(keys, body, *, ts=None) -> str`` builds the header (one ``sig=`` per key, newest
  first, as during Ordergroove's 24 h key rotation); ``webhook_signature_parse(value) -> (ts, [sigs])``;
  ``webhook_signature_verify(value, body, keys, *, tolerance=None, now=None) -> int`` returns the verified ts or
  raises ``SignatureError``. Ordergroove documents no replay window for webhooks (deliveries are retried for
  hours), so ``tolerance`` is off unless the caller passes one; idempotency on the event id is the caller's job.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote

from middleware.plumbing.inputs import InputError, has_nul, strict_int

SIGNATURE_WINDOW_SECONDS = 2 * 60 * 60  # "within the last two hours" (D-HMAC, D-SMAUTH, R-AUTH)
# A Unix time in seconds has at most 11 digits until the year 5138: anything larger is not a timestamp.
TS_MAX = 10**11 - 1
# The fields of an authorization header are ids and a base64 HMAC: longer values are not Ordergroove's.
FIELD_MAX_CHARS = 256


class SignatureError(Exception):
    """A signature, timestamp or authorization header did not verify. ``reason`` is a short code for logs and
    callers' error mapping: ``malformed``, ``unknown_merchant``, ``wrong_sig_field``, ``expired``,
    ``bad_signature``."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


def _key_bytes(key: str | bytes) -> bytes:
    if isinstance(key, bytes):
        return key
    if not key:
        raise ValueError("An Ordergroove hash key is required to sign")
    return key.encode("utf-8")


# --- Customer scope (hash key) ----------------------------------------------------------------------------

def signature_message(sig_field: str | int, ts: int, *, trust_level: str | None = None) -> str:
    if trust_level:
        return f"{sig_field}|{trust_level}|{int(ts)}"
    return f"{sig_field}|{int(ts)}"


def signature(sig_field: str | int, ts: int, hash_key: str | bytes, *, trust_level: str | None = None) -> str:
    """Base64 (not hex) of the raw HMAC-SHA256 digest, ts in whole seconds (DECISIONS §3.1)."""
    digest = _digest(signature_message(sig_field, ts, trust_level=trust_level), hash_key)
    return base64.b64encode(digest).decode("ascii")


def signature_url_encoded_bytes(sig_field: str | int, ts: int, hash_key: str | bytes) -> bytes:
    """``signature_url_encoded(signature(sig_field, ts, hash_key)).encode()`` without the text round trips: base64
    output holds only letters, digits, ``+``, ``/`` and ``=``, so the three replacements are the whole of
    ``quote(..., safe="")`` (the storefront signature endpoint's hot path; tested against quote)."""
    sig = binascii.b2a_base64(_digest(signature_message(sig_field, ts), hash_key), newline=False)
    return sig.replace(b"+", b"%2B").replace(b"/", b"%2F").replace(b"=", b"%3D")


def _digest(message: str, hash_key: str | bytes) -> bytes:
    mac = _keyed_hmac(_key_bytes(hash_key)).copy()
    mac.update(message.encode("utf-8"))
    return mac.digest()


@functools.lru_cache(maxsize=64)
def _keyed_hmac(key: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 keyed with `key`, to be copied per message: the same digest as ``hmac.new(key, msg, sha256)``
    without OpenSSL's per-call key setup (about a third of the storefront signature's cost)."""
    return hmac.new(key, digestmod=hashlib.sha256)


_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


def signature_url_encoded(sig: str) -> str:
    """URL-encode a signature for a URL or legacy form field (`+`, `/`, `=` escaped): what ``quote(sig, safe="")``
    gives, for base64 text by three replacements (the storefront signature endpoint's hot path)."""
    if _BASE64.issuperset(sig):
        return sig.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    return quote(sig, safe="")


def sign(sig_field: str | int, hash_key: str | bytes, *, ts: int | None = None,
         trust_level: str | None = None) -> tuple[int, str]:
    ts = int(time.time()) if ts is None else int(ts)
    return ts, signature(sig_field, ts, hash_key, trust_level=trust_level)


def ts_is_fresh(ts: int, *, now: float | None = None, window: int = SIGNATURE_WINDOW_SECONDS) -> bool:
    """Both directions: a timestamp far in the future is as suspicious as a stale one."""
    now = time.time() if now is None else now
    return abs(now - int(ts)) <= window


def signature_verify(sig_field: str | int, ts: int | str, sig: str, hash_key: str | bytes, *,
                     now: float | None = None, window: int = SIGNATURE_WINDOW_SECONDS,
                     trust_level: str | None = None) -> bool:
    try:
        ts_int = _ts_int(ts)
    except SignatureError:
        return False
    if not sig or not ts_is_fresh(ts_int, now=now, window=window):
        return False
    expected = signature(sig_field, ts_int, hash_key, trust_level=trust_level)
    candidates = {sig, unquote(sig)} if "%" in sig else {sig}
    # compare_digest on every candidate (no early exit) so timing says nothing about which one was close.
    matches = [hmac.compare_digest(expected.encode(), c.encode("utf-8", "replace")) for c in candidates]
    return any(matches)


def og_auth_cookie(sig_field: str | int, hash_key: str | bytes, *, ts: int | None = None) -> str:
    """The `og_auth` cookie value: never URL-encoded (D-SMAUTH)."""
    ts, sig = sign(sig_field, hash_key, ts=ts)
    return f"{sig_field}|{ts}|{sig}"


def _ts_int(ts: object) -> int:
    """Whole seconds as a JSON number or a numeric string: ASCII digits only ("²" is a digit to ``isdigit`` but
    not to ``int``) and bounded (10**400 is a valid JSON number), via the project's one strict parser."""
    try:
        return strict_int(ts, minimum=0, maximum=TS_MAX, what="ts")
    except InputError as exc:
        raise SignatureError("ts must be a number of seconds", reason="malformed") from exc


# --- JSON `authorization` header ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Authorization:
    public_id: str
    ts: int
    sig_field: str
    sig: str
    trust_level: str | None = None


def authorization_header(public_id: str, sig_field: str | int, hash_key: str | bytes, *, ts: int | None = None,
                         trust_level: str | None = None) -> str:
    """Customer (Storefront API) scope. The value is JSON and is never URL-encoded (D-PP)."""
    ts, sig = sign(sig_field, hash_key, ts=ts, trust_level=trust_level)
    value: dict = {"public_id": str(public_id), "ts": ts, "sig_field": str(sig_field), "sig": sig}
    if trust_level:
        value["trust_level"] = trust_level
    return json.dumps(value)


def authorization_header_parse(value: str | None) -> Authorization:
    if not value or not value.strip():
        raise SignatureError("Signature authorization is required.", reason="malformed")
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise SignatureError("The authorization header is not JSON.", reason="malformed") from exc
    if not isinstance(data, dict):
        raise SignatureError("The authorization header is not a JSON object.", reason="malformed")
    missing = [k for k in ("public_id", "ts", "sig_field", "sig") if data.get(k) in (None, "")]
    if missing:
        raise SignatureError(f"The authorization header lacks {', '.join(missing)}.", reason="malformed")
    if not all(isinstance(data[k], str | int) and not isinstance(data[k], bool)
               for k in ("public_id", "sig_field", "sig")):
        raise SignatureError("The authorization header has fields of the wrong type.", reason="malformed")
    texts = [str(data[k]) for k in ("public_id", "sig_field", "sig")] + [str(data.get("trust_level") or "")]
    if any(len(text) > FIELD_MAX_CHARS or has_nul(text) for text in texts):
        raise SignatureError("The authorization header has a field that is too long or contains NUL.",
                             reason="malformed")
    trust_level = data.get("trust_level")
    return Authorization(public_id=str(data["public_id"]), ts=_ts_int(data["ts"]), sig_field=str(data["sig_field"]),
                         sig=str(data["sig"]), trust_level=str(trust_level) if trust_level else None)


def authorization_header_verify(value: str | None, hash_key: str | bytes, *, expected_public_id: str | None = None,
                                expected_sig_field: str | None = None, now: float | None = None,
                                window: int = SIGNATURE_WINDOW_SECONDS) -> Authorization:
    """Verify an inbound JSON `authorization` header the way Ordergroove's own integrations do (ordergroove.md
    §2.4): the signed field must be the one the request is about, the ts fresh, the signature ours."""
    auth = authorization_header_parse(value)
    if expected_public_id is not None and not hmac.compare_digest(auth.public_id, str(expected_public_id)):
        raise SignatureError("The authorization header names another merchant.", reason="unknown_merchant")
    if expected_sig_field is not None and auth.sig_field != str(expected_sig_field):
        raise SignatureError("The signed field does not match the request.", reason="wrong_sig_field")
    if not ts_is_fresh(auth.ts, now=now, window=window):
        raise SignatureError("The signature timestamp is outside the 2 hour window.", reason="expired")
    if not signature_verify(auth.sig_field, auth.ts, auth.sig, hash_key, now=now, window=window,
                            trust_level=auth.trust_level):
        raise SignatureError("Signature could not be verified to perform a request.", reason="bad_signature")
    return auth


def api_key_headers(api_key: str) -> dict[str, str]:
    """Application API scope (R-AUTH)."""
    if not api_key:
        raise ValueError("An Ordergroove application API key is required")
    return {"x-api-key": api_key}


# --- Ordergroove webhooks: `Ordergroove-Signature: ts=..,sig=..[,sig=..]` ------------------------------------

def webhook_signature(key: str | bytes, ts: int | str, body: bytes) -> str:
    """hex(HMAC-SHA256(key, f"{ts}." + raw body)) over the raw bytes, never re-serialised JSON."""
    message = str(ts).encode("ascii") + b"." + body
    return hmac.new(_key_bytes(key), message, hashlib.sha256).hexdigest()


def webhook_signature_header(keys: str | bytes | list | tuple, body: bytes, *, ts: int | None = None) -> str:
    keys = [keys] if isinstance(keys, str | bytes) else list(keys)
    ts = int(time.time()) if ts is None else int(ts)
    return ",".join([f"ts={ts}", *(f"sig={webhook_signature(k, ts, body)}" for k in keys)])


def webhook_signature_parse(value: str | None) -> tuple[int, list[str]]:
    if not value:
        raise SignatureError("The Ordergroove-Signature header is missing.", reason="malformed")
    ts: int | None = None
    sigs: list[str] = []
    for part in value.split(","):
        name, sep, item = part.strip().partition("=")
        if not sep:
            raise SignatureError("The Ordergroove-Signature header is malformed.", reason="malformed")
        name, item = name.strip().lower(), item.strip()
        if name == "ts":
            ts = _ts_int(item)
        elif name == "sig" and item:
            sigs.append(item.lower())
    if ts is None or not sigs:
        raise SignatureError("The Ordergroove-Signature header needs ts and sig.", reason="malformed")
    return ts, sigs


def webhook_signature_verify(value: str | None, body: bytes, keys: str | bytes | list | tuple, *,
                             tolerance: int | None = None, now: float | None = None) -> int:
    """Accept when any `sig=` matches any key (rotation windows carry two). Returns the header's ts."""
    ts, sigs = webhook_signature_parse(value)
    if tolerance is not None and not ts_is_fresh(ts, now=now, window=tolerance):
        raise SignatureError("The webhook timestamp is outside the accepted window.", reason="expired")
    keys = [keys] if isinstance(keys, str | bytes) else [k for k in keys if k]
    if not keys:
        raise SignatureError("No webhook verification key is configured.", reason="unknown_merchant")
    expected = [webhook_signature(k, ts, body) for k in keys]
    matched = False
    for candidate in sigs:
        for exp in expected:
            matched |= hmac.compare_digest(exp.encode(), candidate.encode("ascii", "replace"))
    if not matched:
        raise SignatureError("The webhook signature does not verify.", reason="bad_signature")
    return ts
