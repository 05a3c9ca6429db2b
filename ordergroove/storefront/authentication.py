"""DRF authentication for the storefront: BigCommerce's Current Customer JWT (bigcommerce.md §2).

The theme sends ``authorization-client: <app client id>``, ``Authorization: BigCommerce`` and
``signed-payload: <the /customer/current.jwt text>``. The token is accepted only when it is HS256 or HS512 signed
with this app's client secret (never ``none``, never an asymmetric algorithm), ``aud`` is our client id (and the
``authorization-client`` header says the same), ``iss`` is ``bc/apps``, ``operation`` is ``current_customer``, it
lives at most 15 minutes and has not expired (small leeway), and it names an installed store (``sub`` /
``store_hash``, which must agree). The customer id always comes from the verified token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass

from django.conf import settings
from rest_framework import authentication, exceptions, status

from ordergroove.storefront import conf
from ordergroove.storefront.selectors import StorefrontStore, storefront_store_get

TOKEN_HEADER = "HTTP_SIGNED_PAYLOAD"
CLIENT_HEADER = "HTTP_AUTHORIZATION_CLIENT"
ALGORITHMS = ("HS256", "HS512")
_DIGESTS = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}
_STORE_HASH = re.compile(r"^[a-z0-9]{1,64}$")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class StoreNotConfigured(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Ordergroove is not configured for this store yet."
    default_code = "ordergroove_not_configured"


@dataclass(frozen=True)
class StorefrontCustomer:
    """request.user of the storefront endpoints."""

    customer_id: int
    email: str
    sf: StorefrontStore

    is_authenticated = True

    @property
    def store_hash(self) -> str:
        return self.sf.store.store_hash


def _fail(message: str) -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(message)


class CurrentCustomerJwtAuthentication(authentication.BaseAuthentication):
    www_authenticate_realm = "storefront"

    def authenticate_header(self, request) -> str:
        # A value here makes DRF answer 401 (not 403) to unauthenticated requests.
        return f'BigCommerce realm="{self.www_authenticate_realm}"'

    def authenticate(self, request):
        token = request.META.get(TOKEN_HEADER, "").strip()
        if not token:
            raise _fail("Sign in to the store: the signed-payload customer token is missing.")
        client_id = settings.BIGCOMMERCE_CLIENT_ID
        claimed_client = request.META.get(CLIENT_HEADER, "")
        if not client_id or not hmac.compare_digest(claimed_client.encode(), client_id.encode()):
            raise _fail("The authorization-client header does not name this app.")
        claims = self._verify(token, client_id)
        customer = claims.get("customer")
        customer_id = customer.get("id") if isinstance(customer, dict) else None
        if isinstance(customer_id, str) and customer_id.isdigit():
            customer_id = int(customer_id)
        if isinstance(customer_id, bool) or not isinstance(customer_id, int) or customer_id <= 0:
            raise _fail("The customer token names no customer.")
        store_hash = str(claims.get("sub") or "")
        if claims.get("store_hash") not in (None, store_hash) or not _STORE_HASH.match(store_hash):
            raise _fail("The customer token names no valid store.")
        sf = storefront_store_get(store_hash)
        if sf is None:
            raise _fail("The app is not installed on this store.")
        if not sf.configured:
            raise StoreNotConfigured()
        return StorefrontCustomer(customer_id=customer_id, email=str(customer.get("email") or ""), sf=sf), token

    @staticmethod
    def _verify(token: str, client_id: str) -> dict:
        """The token's claims once it is proven to be BigCommerce's current-customer token for this app.

        A compact JWS verified here rather than by PyJWT: PyJWT validated the base64url alphabet one character at
        a time in Python, which made verification a large share of the signature endpoint. The checks are the
        ones PyJWT made for our options, in its order, and no looser: three strict base64url segments, a JSON
        object header whose ``alg`` is on the allow-list (never ``none``, HS384 or an asymmetric algorithm: key
        confusion), no ``crit``/``b64`` extensions, the HMAC compared in constant time before the payload is
        read, then the required claims (exp, iat, aud, iss, sub) with PyJWT's semantics and a leeway."""
        try:
            header_b64, payload_b64, signature_b64 = token.split(".")
            header = json.loads(_b64url_decode(header_b64))
            signature = _b64url_decode(signature_b64)
        except (ValueError, RecursionError) as exc:  # ValueError covers binascii, JSON and Unicode errors
            raise _fail("The customer token was rejected: it is not a well-formed JWT.") from exc
        if not isinstance(header, dict):
            raise _fail("The customer token was rejected: its header is not a JSON object.")
        digest = _DIGESTS.get(header.get("alg")) if isinstance(header.get("alg"), str) else None
        if digest is None:
            raise _fail("The customer token algorithm is not accepted.")
        if "crit" in header or "b64" in header:
            raise _fail("The customer token was rejected: unsupported header extensions.")
        expected = hmac.new(settings.BIGCOMMERCE_CLIENT_SECRET.encode(), f"{header_b64}.{payload_b64}".encode(),
                            digest).digest()
        if not hmac.compare_digest(expected, signature):
            raise _fail("The customer token was rejected: Signature verification failed")
        try:
            claims = json.loads(_b64url_decode(payload_b64))
        except (ValueError, RecursionError) as exc:
            raise _fail("The customer token was rejected: unreadable payload.") from exc
        if not isinstance(claims, dict):
            raise _fail("The customer token was rejected: its payload is not a JSON object.")
        _check_claims(claims, client_id)
        if claims.get("operation") != "current_customer":
            raise _fail("The token is not a current-customer token.")
        try:
            lifetime = int(claims["exp"]) - int(claims["iat"])
        except (TypeError, ValueError) as exc:
            raise _fail("The customer token has unreadable times.") from exc
        if lifetime > conf.JWT_MAX_LIFETIME_SECONDS:
            raise _fail("The customer token lives longer than BigCommerce's 15 minutes.")
        return claims


def _b64url_decode(segment: str) -> bytes:
    """Strict base64url (RFC 7515 §2): its alphabet only, at most two trailing "=" (and then a full quartet),
    canonical bits (the decoded bytes re-encode to the same text), so one token has exactly one spelling."""
    stripped = segment.rstrip("=")
    padding = len(segment) - len(stripped)
    if padding > 2 or (padding and len(segment) % 4) or len(stripped) % 4 == 1 or not _BASE64URL.fullmatch(stripped):
        raise ValueError("not base64url")
    decoded = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != stripped.encode():
        raise binascii.Error("non-canonical base64url")
    return decoded


def _time_claim(claims: dict, name: str) -> int:
    value = claims[name]
    try:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(name)
        return int(value)  # JSON's Infinity/NaN raise here
    except (TypeError, ValueError, OverflowError) as exc:
        raise _fail(f"The customer token was rejected: {name} must be a number.") from exc


def _check_claims(claims: dict, client_id: str) -> None:
    for name in ("exp", "iat", "aud", "iss", "sub"):
        if name not in claims:
            raise _fail(f'The customer token was rejected: Token is missing the "{name}" claim')
    now, leeway = time.time(), conf.JWT_LEEWAY_SECONDS
    if not isinstance(claims["sub"], str):
        raise _fail("The customer token was rejected: Subject must be a string")
    if "jti" in claims and not isinstance(claims["jti"], str):
        raise _fail("The customer token was rejected: JWT ID must be a string")
    if _time_claim(claims, "iat") > now + leeway:
        raise _fail("The customer token was rejected: The token is not yet valid (iat)")
    if "nbf" in claims and _time_claim(claims, "nbf") > now + leeway:
        raise _fail("The customer token was rejected: The token is not yet valid (nbf)")
    if _time_claim(claims, "exp") <= now - leeway:
        raise _fail("The customer token expired: fetch a new one.")
    audience = claims["aud"]
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise _fail("The customer token was rejected: Invalid claim format in token")
    if client_id not in audiences:
        raise _fail("The customer token was rejected: Audience doesn't match")
    if claims["iss"] != "bc/apps":
        raise _fail("The customer token was rejected: Invalid issuer")
