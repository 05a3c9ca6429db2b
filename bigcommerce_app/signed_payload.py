"""Verification of BigCommerce's `signed_payload_jwt` (load, uninstall, remove_user; bigcommerce.md §1.4)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import jwt
from django.conf import settings

LEEWAY_SECONDS = 60
_SUB = re.compile(r"^stores/(?P<hash>[a-z0-9]{1,64})$")


class InvalidSignedPayload(Exception):
    """The token is not one BigCommerce signed for this app, or it is stale."""


@dataclass(frozen=True)
class SignedPayload:
    store_hash: str
    user_id: int
    user_email: str
    user_locale: str
    owner_id: int | None
    owner_email: str
    url: str
    channel_id: int | None
    issued_at: int
    jti: str


def verify_signed_payload_jwt(token: str) -> SignedPayload:
    if not token or token.count(".") != 2:
        raise InvalidSignedPayload("signed_payload_jwt is missing or malformed")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidSignedPayload("signed_payload_jwt header is unreadable") from exc
    # BigCommerce signs these with HS256 and the client secret; refuse anything else before verifying
    # (no "none", no RS*/ES* key-confusion, no other HMAC sizes).
    if header.get("alg") != "HS256":
        raise InvalidSignedPayload(f"signed_payload_jwt algorithm {header.get('alg')!r} is not accepted")
    try:
        claims = jwt.decode(
            token,
            settings.BIGCOMMERCE_CLIENT_SECRET,
            algorithms=["HS256"],
            audience=settings.BIGCOMMERCE_CLIENT_ID,
            issuer="bc",
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "nbf", "aud", "iss", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidSignedPayload(f"signed_payload_jwt rejected: {exc}") from exc
    match = _SUB.match(str(claims.get("sub", "")))
    if not match:
        raise InvalidSignedPayload("signed_payload_jwt has no valid 'sub' (stores/{hash})")
    user = claims.get("user") or {}
    owner = claims.get("owner") or {}
    try:
        user_id = int(user["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidSignedPayload("signed_payload_jwt has no user") from exc
    url = str(claims.get("url") or "/")
    if not url.startswith("/") or url.startswith("//"):
        url = "/"  # never follow a protocol-relative or absolute deep link
    return SignedPayload(
        store_hash=match.group("hash"),
        user_id=user_id,
        user_email=str(user.get("email") or ""),
        user_locale=str(user.get("locale") or ""),
        owner_id=int(owner["id"]) if owner.get("id") is not None else None,
        owner_email=str(owner.get("email") or ""),
        url=url,
        channel_id=claims.get("channel_id"),
        issued_at=int(claims["iat"]),
        jti=str(claims.get("jti") or ""),
    )
