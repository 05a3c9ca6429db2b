"""What a BigCommerce delivery must be before the inbox stores it: a bounded UTF-8 JSON object whose every part
PostgreSQL's jsonb can hold, naming a store by a well-formed store hash, and (when the headers are present) a
Standard Webhooks signature that verifies. Pure checks: no database, no outbound call.

Why each bound (issue 14): Python's json accepts what the database then refuses (NaN, Infinity, `\\u0000`, lone
surrogates, numbers float cannot hold) and recurses once per nesting level; either used to surface as a 500, or,
inside a group-commit statement, as a 503 for every other delivery of the batch. Everything here is decided from
the delivery alone, so a delivery succeeds or fails on its own merits.
"""

from __future__ import annotations

import base64
import functools
import hmac
import json
import logging
import math
import re
from datetime import UTC, datetime

from django.conf import settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bigcommerce_app.models import InboundEvent

logger = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 256 * 1024
# BigCommerce's payloads nest three levels at most (bigcommerce.md §3.2); json recurses once per level and hits
# the interpreter's recursion limit near 1,000.
MAX_NESTING = 32
_PRODUCER = re.compile(r"stores/([a-z0-9]{1,64})")  # a store hash, as signed_payload.py accepts it
# Strings and brackets: a bracket inside a string is no nesting. Possessive, so a long string is one match.
_NESTING_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]')
# What a jsonb string cannot hold; JSON can only carry these as \u escapes (strict json refuses raw control
# characters, strict UTF-8 refuses encoded surrogates).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class WebhookRejected(Exception):
    """The request is not an acceptable webhook; nothing was stored."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class _NotStorable(ValueError):
    """Raised from the JSON parser's hooks: the body is refused with this message."""


def _refuse_constant(name: str):
    raise _NotStorable(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value) or (value == 0.0 and text.lower().partition("e")[0].strip("+-0.")):
        raise _NotStorable("a number in the body is out of range")
    return value


# Hooks run only for NaN/Infinity literals and numbers with a fraction or exponent (BigCommerce sends neither):
# the common body parses at the C decoder's full speed.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def body_parse(body: bytes) -> tuple[dict, str, str]:
    """The delivery as a JSON object, the body's text (what a signature covers) and the text to store (the body
    as received, unless some string had to be made storable). Raises WebhookRejected: 413 for a body that is
    too large, 400 for one that is not UTF-8, nested too deep, not JSON, holds a number float cannot hold, or is
    not an object."""
    if len(body) > MAX_PAYLOAD_BYTES:
        raise WebhookRejected(413, "payload too large")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise WebhookRejected(400, "body must be UTF-8 encoded JSON") from None
    if text.count("[") + text.count("{") > MAX_NESTING and _nesting_exceeds(text, MAX_NESTING):
        raise WebhookRejected(400, f"JSON nested deeper than {MAX_NESTING} levels")
    try:
        payload = _DECODER.decode(text)
    except _NotStorable as exc:
        raise WebhookRejected(400, str(exc)) from None
    except (ValueError, RecursionError):
        raise WebhookRejected(400, "body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "body must be a JSON object")
    stored = text
    if "\\u" in text:  # only an escape can carry what jsonb cannot hold
        for field in ("scope", "hash"):  # the event's identity is never rewritten
            value = payload.get(field)
            if isinstance(value, str) and _UNSTORABLE.search(value):
                raise WebhookRejected(400, f"{field} holds a NUL or an unpaired surrogate")
        storable = _storable(payload)
        if storable != payload:
            # Authenticated content PostgreSQL cannot hold as is (never seen from BigCommerce, whose payloads
            # carry ids): kept, with U+FFFD in place of each such character, rather than refused for two days.
            logger.info("Webhook body held a NUL or an unpaired surrogate: stored with U+FFFD in its place")
            payload, stored = storable, json.dumps(storable, ensure_ascii=False)
    return payload, text, stored


def declared_length(meta) -> int:
    """The request's Content-Length (0 when absent or malformed: the body read is bounded by it anyway)."""
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _nesting_exceeds(text: str, limit: int) -> bool:
    depth = 0
    for match in _NESTING_TOKENS.finditer(text):
        char = match.group()[0]
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _storable(value):
    """`value` with NUL and unpaired surrogates replaced by U+FFFD in every string, keys included (the depth is
    bounded by MAX_NESTING)."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


class MetaHeaders:
    """The few request headers the intake reads (token, Standard Webhooks), looked up in the WSGI environ as
    asked: Django's request.headers first copies every header of the request into a case-insensitive dict."""

    __slots__ = ("_meta",)

    def __init__(self, meta: dict) -> None:
        self._meta = meta

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._meta.get("HTTP_" + name.upper().replace("-", "_"), default)


def store_hash_of(producer) -> str | None:
    """The store hash `producer` ("stores/{store_hash}") names; None when it names none."""
    match = _PRODUCER.fullmatch(producer) if isinstance(producer, str) else None
    return match.group(1) if match else None


def text_field(value, max_length: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= max_length


@functools.lru_cache(maxsize=4)
def _hook(secret: str) -> Webhook:
    return Webhook(base64.b64encode(secret.encode()).decode())


def signature_check(text: str, headers) -> str:
    """Standard Webhooks (bigcommerce.md §3.6): verified when the headers are present, key = the app's client
    secret, over the body's UTF-8 text (body_parse has decoded it). A valid signature with a timestamp outside
    the library's 5-minute window is accepted and marked: BigCommerce's retries may keep the first timestamp
    (UNCONFIRMED), the token header already authenticates the sender, and a replay is harmless because events
    are deduplicated on their hash. A malformed signature header is a 401 like a wrong one."""
    msg_id, timestamp, signature = (headers.get("webhook-id"), headers.get("webhook-timestamp"),
                                    headers.get("webhook-signature"))
    if not (msg_id or timestamp or signature):
        return InboundEvent.Signature.ABSENT
    if not (msg_id and timestamp and signature) or not settings.BIGCOMMERCE_CLIENT_SECRET:
        raise WebhookRejected(401, "incomplete webhook signature headers")
    hook = _hook(settings.BIGCOMMERCE_CLIENT_SECRET)
    try:
        hook.verify(text, {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature},
                    json_parse=False)
        return InboundEvent.Signature.VALID
    except WebhookVerificationError as exc:
        if "timestamp" not in str(exc).lower():
            raise WebhookRejected(401, "webhook signature does not verify") from None
    except ValueError:  # the library's parse of a malformed "v1,<base64>" entry
        raise WebhookRejected(401, "webhook signature does not verify") from None
    try:
        when = datetime.fromtimestamp(float(timestamp), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise WebhookRejected(401, "invalid webhook-timestamp") from None
    expected = hook.sign(msg_id=msg_id, timestamp=when, data=text).split(",", 1)[1]
    for candidate in signature.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            logger.info("Webhook %s signed with a timestamp outside the 5-minute window", msg_id)
            return InboundEvent.Signature.VALID_STALE
    raise WebhookRejected(401, "webhook signature does not verify")
