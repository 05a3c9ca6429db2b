"""DRF authentication for the storefront: BigCommerce's Current Customer JWT (bigcommerce.md §2).

The theme sends ``authorization-client: <app client id>``, ``Authorization: BigCommerce`` and
``signed-payload: <the /customer/current.jwt text>``. The token is accepted only when it is HS256 or HS512 signed
with this app's client secret (never ``none``, never an asymmetric algorithm), ``aud`` is our client id (and the
``authorization-client`` header says the same), ``iss`` is ``bc/apps``, ``operation`` is ``current_customer``, it
lives at most 15 minutes and has not expired (small leeway), and it names an installed store (``sub`` /
``store_hash``, which must agree). The customer id always comes from the verified token.
"""

from __future__ import annotations

import hmac
import re
from typing import NamedTuple

import jwt
from django.conf import settings
from rest_framework import authentication, exceptions, status

from ordergroove.storefront import conf
from ordergroove.storefront.customer_jwt import ALGORITHMS, customer_token_jwt
from ordergroove.storefront.selectors import StorefrontStore, storefront_store_get

TOKEN_HEADER = "HTTP_SIGNED_PAYLOAD"
CLIENT_HEADER = "HTTP_AUTHORIZATION_CLIENT"
_STORE_HASH = re.compile(r"^[a-z0-9]{1,64}$")
MAX_CUSTOMER_ID = 10**12 - 1
_ALGORITHMS = list(ALGORITHMS)
_NUMBER_TYPES = frozenset({int, float})  # PyJWT's allow-list, checked against the token's header before verifying


class StoreNotConfigured(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Ordergroove is not configured for this store yet."
    default_code = "ordergroove_not_configured"


class StorefrontCustomer(NamedTuple):
    """The verified customer of a storefront request (immutable; a NamedTuple is built for a third of a frozen
    dataclass's instructions, and one is built per request)."""

    customer_id: int
    email: str
    sf: StorefrontStore

    is_authenticated = True

    @property
    def store_hash(self) -> str:
        return self.sf.store.store_hash


def ascii_int(raw: str, max_digits: int) -> int | None:
    """The value of 1 to `max_digits` ASCII digits, else None. ``str.isdigit`` alone also accepts "²" (which
    ``int`` refuses) and other scripts' digits (which ``int`` reads), and ``int`` alone accepts signs, spaces and
    underscores: none of them is a number BigCommerce or the theme sends."""
    if 0 < len(raw) <= max_digits and raw.isascii() and raw.isdigit():
        return int(raw)
    return None


def customer_id_parse(value: object) -> int | None:
    """A customer id from the verified token: a positive JSON integer or a string of ASCII digits, at most
    MAX_CUSTOMER_ID (BigCommerce's ids are 32-bit; the bound keeps absurd values out of signatures and keys)."""
    if isinstance(value, str):
        value = ascii_int(value, len(str(MAX_CUSTOMER_ID)))
    if type(value) is not int or not 0 < value <= MAX_CUSTOMER_ID:  # bool is an int subclass: refused too
        return None
    return value


def _fail(message: str) -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(message)


AUTHENTICATE_HEADER = 'BigCommerce realm="storefront"'  # on every 401 (what makes it a 401, not a 403, in DRF)


def customer_authenticate(meta: dict) -> StorefrontCustomer:
    """The verified customer of a storefront request (its WSGI environ / Django META), or AuthenticationFailed
    (401) / StoreNotConfigured (503)."""
    token = meta.get(TOKEN_HEADER, "").strip()
    if not token:
        raise _fail("Sign in to the store: the signed-payload customer token is missing.")
    client_id = settings.BIGCOMMERCE_CLIENT_ID
    claimed_client = meta.get(CLIENT_HEADER, "")
    if not client_id or not hmac.compare_digest(claimed_client.encode(), client_id.encode()):
        raise _fail("The authorization-client header does not name this app.")
    claims = customer_token_verify(token, client_id)
    customer = claims.get("customer")
    customer_id = customer_id_parse(customer.get("id") if isinstance(customer, dict) else None)
    if customer_id is None:
        raise _fail("The customer token names no customer.")
    store_hash = str(claims.get("sub") or "")
    if claims.get("store_hash") not in (None, store_hash) or not _STORE_HASH.match(store_hash):
        raise _fail("The customer token names no valid store.")
    sf = storefront_store_get(store_hash)
    if sf is None:
        raise _fail("The app is not installed on this store.")
    if not sf.configured:
        raise StoreNotConfigured()
    return StorefrontCustomer(customer_id=customer_id, email=str(customer.get("email") or ""), sf=sf)


class CurrentCustomerJwtAuthentication(authentication.BaseAuthentication):
    """The same check as a DRF authentication class: the storefront views are plain Django views (views.py), and
    this class is how their OpenAPI declaration (schema.py) names the security scheme."""

    def authenticate_header(self, request) -> str:
        return AUTHENTICATE_HEADER

    def authenticate(self, request):
        meta = getattr(request, "_request", request).META
        return customer_authenticate(meta), meta.get(TOKEN_HEADER, "").strip()


def customer_token_verify(token: str, client_id: str) -> dict:
    """The token's claims once it is proven to be BigCommerce's current-customer token for this app.

    PyJWT does the verification (a JWS parser is security code: we keep the well-kept library; customer_jwt.py
    only removes per-call costs). `algorithms` is the allow-list PyJWT enforces against the token's header
    before verifying: "none", HS384 and asymmetric algorithms (key confusion) are refused without touching the
    signature."""
    try:
        # Required claims: customer_jwt.REQUIRED_CLAIMS, the instance's options (exp, iat, aud, iss, sub).
        # decode_complete: what decode() calls and takes the payload of, one call layer less
        claims = customer_token_jwt.decode_complete(
            token, settings.BIGCOMMERCE_CLIENT_SECRET, algorithms=_ALGORITHMS, audience=client_id, issuer="bc/apps",
            leeway=conf.JWT_LEEWAY_SECONDS)["payload"]
    except jwt.ExpiredSignatureError as exc:
        raise _fail("The customer token expired: fetch a new one.") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise _fail("The customer token algorithm is not accepted.") from exc
    except jwt.PyJWTError as exc:
        raise _fail(f"The customer token was rejected: {exc}") from exc
    exp, iat = claims["exp"], claims["iat"]
    # JSON numbers are exactly int or float (bool, a JSON true, is neither here)
    if type(exp) not in _NUMBER_TYPES:
        raise _fail("The customer token was rejected: exp must be a number.")
    if type(iat) not in _NUMBER_TYPES:
        raise _fail("The customer token was rejected: iat must be a number.")
    if claims.get("operation") != "current_customer":
        raise _fail("The token is not a current-customer token.")
    if int(exp) - int(iat) > conf.JWT_MAX_LIFETIME_SECONDS:
        raise _fail("The customer token lives longer than BigCommerce's 15 minutes.")
    return claims


