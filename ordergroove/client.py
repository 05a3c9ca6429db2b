"""The Ordergroove client: the ONLY module that builds Ordergroove requests (URLs, headers, signatures; the
bodies' shapes come from `ordergroove.request_bodies`) and sends them.

Contract (other apps code against exactly this):

``Outcome``, ``classify``, ``OrdergrooveResponse`` and ``OrdergrooveError`` are described (and defined) in
``ordergroove/responses.py``; the request bodies' shapes and their helpers (``encode_uri_component``,
``to_ascii``, ``card_type_code``, ``CARD_TYPES``) in ``ordergroove/request_bodies.py``. This module exports
those names too, and is the one that builds Ordergroove's URLs and headers, signs, books the allowance, sends
and turns every answer (or its absence) into an ``OrdergrooveResponse``.

``OrdergrooveClient(og_settings, *, timeout=None, max_wait=None)`` — one per ``OrdergrooveSettings`` row
(per-store base URLs, staging or production; ``settings.ORDERGROOVE_TIMEOUT`` = 5 s on every call). Every call
first books a slot of the egress IP's allowance (``ordergroove/allowance.py``) and waits for it at most
``max_wait`` seconds (``ORDERGROOVE_RATE_MAX_WAIT``, never more than the timeout); with no slot that close it sends
nothing and returns ``outcome`` RATE_LIMITED, ``held_back`` True, ``status`` None and ``retry_after`` = when to
ask again. ``purchase_post``, ``customer``, ``live_subscriptions`` and ``check_connection`` book as FIRST;
``purchase_post_status``, ``set_contact_details`` and ``update_payment_default`` as BACKGROUND:

- ``purchase_post(payload, *, sig_field) -> OrdergrooveResponse``: ``POST {subscription_api_url}``, body
  ``create_request=`` + encodeURIComponent(JSON.stringify(payload)) (DECISIONS §3.3), ``Content-Type:
  application/json``, JSON ``authorization`` header, customer scope, ``sig_field`` = BigCommerce customer id.
  ``payload["merchant_id"]`` is filled in when missing. Payment fields are passed in PLAINTEXT
  (``payment.cc_exp_date`` as MM/YYYY, ``cc_holder``, ``cc_number``) and the client AES-encrypts them; a value
  that already is AES ciphertext under the store's key is left alone (never encrypted twice). Success →
  ``response.subs_req_id``. 409 → DUPLICATE.
- ``purchase_post_status(subs_req_id, *, sig_field=None)``: ``GET {sc host}/subscription/{id}/response``.
  Auth: ``x-api-key`` (Application scope, R-PPS) when the store has an API key, else customer scope over
  ``sig_field``; ``response.auth_scope`` says which. 202 = pending (``response.pending``), 200 = result in ``data``.
- ``set_contact_details(merchant_user_id, *, email, phone_number=None)``: ``PATCH {api_url}/customers/{id}/
  set_contact_details`` with JSON ``{"email", "merchant", "merchant_user_id"[, "phone_number"]}`` (phone omitted
  when unknown), customer scope over ``merchant_user_id`` (DECISIONS §3.5).
- ``update_payment_default(merchant_user_id, payment)``: ``POST {legacy_api_url}/customer/update_payment_default``,
  body ``update_request=<JSON>`` in which every string value is URL-encoded on its own and the whole body is not
  (DECISIONS §3.4); ts/sig inside ``user`` (``auth_scope`` "body"). ``payment`` is plaintext:
  ``{card_type, cc_exp_date (MM/YYYY; "12/2099" for PayPal), cc_last_4, cc_holder, token_id, label?,
  payment_method?, billing{first_name, last_name, phone, address, address2, city, country_code, zip_postal_code,
  fax, state_province_code, company_name}}``. The client AES-encrypts ``cc_exp_date``, ``cc_last_4`` and
  ``cc_holder`` (ordergroove.md §5.2, D-CPU); ``token_id``, ``card_type`` and billing stay plain. ``card_type`` may
  be a number or a brand name (VISA, MASTERCARD, AMEX, DISCOVER, DINERS, JCB). Success iff the body is
  ``SUCCESS``; any other body is FAILED with that text as ``error`` (whatever the HTTP status).
- ``customer(merchant_user_id)``: ``GET {api_url}/customers/{id}/`` (customer scope); 404 = not an Ordergroove
  customer (``outcome`` FAILED, ``status`` 404).
- ``live_subscriptions(merchant_user_id)``: ``GET {api_url}/subscriptions/?live=True`` (customer scope, so only
  this customer's); ``data["results"]``.
- ``check_connection()``: a signed read (``customer`` of a probe id). 200/404 mean Ordergroove accepted the merchant
  id and hash key → SUCCESS; 401/403 → FAILED with "check the merchant ID and hash key"; no answer → RETRY.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings

from middleware.plumbing.http import send
from ordergroove import allowance, crypto, signatures
from ordergroove.allowance import Priority
from ordergroove.request_bodies import (
    CARD_TYPES,
    card_type_code,
    create_request_body,
    encode_uri_component,
    mask,
    to_ascii,
    update_request_body,
)
from ordergroove.responses import OrdergrooveError, OrdergrooveResponse, Outcome, classify

# The client's contract in one import (callers need not know which module defines a name).
__all__ = ["CARD_TYPES", "OrdergrooveClient", "OrdergrooveError", "OrdergrooveResponse", "Outcome", "card_type_code",
           "classify", "encode_uri_component", "retry_after_seconds", "to_ascii"]

logger = logging.getLogger(__name__)

BODY_KEEP_CHARS = 10_000
DEFAULT_RATE_LIMIT_WAIT = 60.0
CONNECTION_PROBE_ID = "bc-og-connection-check"


def retry_after_seconds(headers) -> float:
    """Retry-After (seconds or HTTP date) or an X-RateLimit-Reset style header (delta or epoch seconds)."""
    now = time.time()
    for name in ("Retry-After", "X-RateLimit-Reset", "X-Rate-Limit-Reset", "RateLimit-Reset"):
        raw = headers.get(name) if headers is not None else None
        if not raw:
            continue
        try:
            number = float(raw)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(raw) if "," in raw else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - now)
            continue
        if number > 1_000_000_000:  # an epoch timestamp
            return max(0.0, number - now)
        return max(0.0, number)
    return DEFAULT_RATE_LIMIT_WAIT


def _error_text(status: int | None, body: str, data: Any) -> str:
    """Ordergroove's own words: `error`, `error_message`, `detail`, `errors` or field errors; else the body."""
    detail = ""
    if isinstance(data, dict):
        for key in ("error", "error_message", "detail", "message", "result"):
            if data.get(key):
                detail = str(data[key])
                break
        else:
            errors = data.get("errors", data)
            detail = json.dumps(errors)[:500] if errors else ""
    elif data is not None:
        detail = json.dumps(data)[:500]
    else:
        detail = (body or "").strip()[:500]
    prefix = f"Ordergroove answered HTTP {status}"
    return f"{prefix}: {detail}" if detail else prefix


# --- The client ----------------------------------------------------------------------------------------------

class OrdergrooveClient:
    def __init__(self, og_settings, *, timeout: float | None = None, max_wait: float | None = None):
        self.settings = og_settings
        self.merchant_id: str = og_settings.merchant_id or ""
        self._hash_key: str = og_settings.hash_key or ""
        self._api_key: str = og_settings.api_key or ""
        self.api_url = (og_settings.api_url or "").rstrip("/")
        self.legacy_api_url = (og_settings.legacy_api_url or "").rstrip("/")
        self.subscription_api_url = (og_settings.subscription_api_url or "").rstrip("/")
        self.timeout = settings.ORDERGROOVE_TIMEOUT if timeout is None else timeout
        # How long a call may wait for a slot of the allowance (ordergroove/allowance.py); never longer than the
        # time it may wait for Ordergroove's answer.
        self.max_wait = min(allowance.max_wait() if max_wait is None else max_wait, self.timeout)

    # URLs (the only place they are built) -----------------------------------------------------------------
    @property
    def sc_base_url(self) -> str:
        """The purchase-post host: `https://sc.ordergroove.com` from `.../subscription/create`."""
        url = self.subscription_api_url
        for suffix in ("/subscription/create",):
            if url.endswith(suffix):
                return url[: -len(suffix)]
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def _api(self, path: str) -> str:
        return f"{self.api_url}{path}"

    # Auth ---------------------------------------------------------------------------------------------------
    def _require_signing(self) -> None:
        if not (self.merchant_id and self._hash_key):
            raise OrdergrooveError("Ordergroove merchant ID and hash key are not configured for this store")

    def _customer_scope(self, sig_field: str) -> dict[str, str]:
        self._require_signing()
        return {"authorization": signatures.authorization_header(self.merchant_id, sig_field, self._hash_key)}

    # Core exchange ------------------------------------------------------------------------------------------
    def _exchange(self, method: str, url: str, *, headers: dict[str, str], body: bytes | None = None,
                  params: dict | None = None, summary_body: Any = None, auth_scope: str,
                  transliterated: list[str] | None = None,
                  priority: Priority = Priority.FIRST) -> OrdergrooveResponse:
        summary = {
            "method": method,
            "url": url + (("?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items()))
                          if params else ""),
            "headers": self._masked_headers(headers),
            "body": summary_body,
        }
        grant = allowance.book(priority, wait_at_most=self.max_wait)
        if not grant.granted:
            return OrdergrooveResponse(
                status=None, body="", data=None, outcome=Outcome.RATE_LIMITED, duration_ms=0, request_summary=summary,
                error=f"not sent: the Ordergroove allowance of this egress IP has no free slot for {grant.wait:.1f} s",
                retry_after=grant.wait, auth_scope=auth_scope, transliterated_fields=transliterated or [],
                held_back=True)
        if grant.wait > 0:
            time.sleep(grant.wait)
        started = time.monotonic()
        try:
            response, timing = send(method, url, timeout=self.timeout, error_class=OrdergrooveError, checked=True,
                                    headers=headers, data=body, params=params)
        except OrdergrooveError as exc:
            # No answer at all: retryable, and the caller still gets a record of the attempt.
            duration = int((time.monotonic() - started) * 1000)
            logger.warning("Ordergroove %s %s: %s", method, summary["url"], exc)
            return OrdergrooveResponse(status=None, body="", data=None, outcome=Outcome.RETRY,
                                       duration_ms=duration, request_summary=summary, error=str(exc),
                                       auth_scope=auth_scope, transliterated_fields=transliterated or [])
        text = response.text[:BODY_KEEP_CHARS]
        try:
            data = response.json() if text.strip() else None
        except ValueError:
            data = None
        outcome = classify(response.status_code)
        result = OrdergrooveResponse(
            status=response.status_code, body=text, data=data, outcome=outcome, duration_ms=timing.duration_ms,
            request_summary=summary, auth_scope=auth_scope, transliterated_fields=transliterated or [],
            retry_after=retry_after_seconds(response.headers) if outcome is Outcome.RATE_LIMITED else None,
        )
        if outcome not in (Outcome.SUCCESS,):
            result.error = _error_text(response.status_code, text, data)
        return result

    def _masked_headers(self, headers: dict[str, str]) -> dict[str, str]:
        out = {}
        for key, value in headers.items():
            if key.lower() == "authorization":
                try:
                    parsed = json.loads(value)
                    parsed["sig"] = mask(parsed.get("sig"))
                    out[key] = json.dumps(parsed)
                except (ValueError, TypeError, AttributeError):
                    out[key] = "***"
            elif key.lower() == "x-api-key":
                out[key] = mask(value)
            else:
                out[key] = value
        return out

    # Operations -----------------------------------------------------------------------------------------------
    def purchase_post(self, payload: dict, *, sig_field: str | int) -> OrdergrooveResponse:
        self._require_signing()
        body, summary, changed = create_request_body(payload, merchant_id=self.merchant_id,
                                                     encrypt=self._encrypt_once)
        headers = {**self._customer_scope(str(sig_field)), "Content-Type": "application/json",
                   "Accept": "application/json"}
        return self._exchange("POST", self.subscription_api_url, headers=headers, body=body, summary_body=summary,
                              auth_scope="customer", transliterated=changed)

    def purchase_post_status(self, subs_req_id: str, *, sig_field: str | int | None = None) -> OrdergrooveResponse:
        url = f"{self.sc_base_url}/subscription/{quote(str(subs_req_id), safe='')}/response"
        if self._api_key:
            headers, scope = signatures.api_key_headers(self._api_key), "application"
        elif sig_field is not None:
            headers, scope = self._customer_scope(str(sig_field)), "customer"
        else:
            raise OrdergrooveError("Purchase post status needs the store's application API key "
                                   "(or the customer id for customer scope)")
        return self._exchange("GET", url, headers={**headers, "Accept": "application/json"}, auth_scope=scope,
                              priority=Priority.BACKGROUND)

    def set_contact_details(self, merchant_user_id: str | int, *, email: str,
                            phone_number: str | None = None) -> OrdergrooveResponse:
        body_obj: dict[str, Any] = {"email": email, "merchant": self.merchant_id,
                                    "merchant_user_id": str(merchant_user_id)}
        if phone_number:
            body_obj["phone_number"] = phone_number
        body_obj, changed = to_ascii(body_obj)
        url = self._api(f"/customers/{quote(str(merchant_user_id), safe='')}/set_contact_details")
        headers = {**self._customer_scope(str(merchant_user_id)), "Content-Type": "application/json",
                   "Accept": "application/json"}
        return self._exchange("PATCH", url, headers=headers, body=json.dumps(body_obj).encode("ascii"),
                              summary_body=body_obj, auth_scope="customer", transliterated=changed,
                              priority=Priority.BACKGROUND)

    def update_payment_default(self, merchant_user_id: str | int, payment: dict) -> OrdergrooveResponse:
        self._require_signing()
        ts, sig = signatures.sign(str(merchant_user_id), self._hash_key)  # ts/sig travel inside the body
        body, summary, changed = update_request_body(payment, merchant_id=self.merchant_id,
                                                     user_id=str(merchant_user_id), ts=ts, sig=sig,
                                                     encrypt=self._encrypt_once)
        url = f"{self.legacy_api_url}/customer/update_payment_default"
        result = self._exchange("POST", url, headers={"Content-Type": "application/json"}, body=body,
                                summary_body=summary, auth_scope="body", transliterated=changed,
                                priority=Priority.BACKGROUND)
        if result.status is not None:
            text = result.body.strip()
            if text.startswith('"') and text.endswith('"'):
                text = text[1:-1]
            if result.outcome is Outcome.SUCCESS and text != "SUCCESS":
                result.outcome = Outcome.FAILED
                result.error = f"Ordergroove refused the payment update: {text or '(empty answer)'}"
        return result

    def customer(self, merchant_user_id: str | int) -> OrdergrooveResponse:
        url = self._api(f"/customers/{quote(str(merchant_user_id), safe='')}/")
        headers = {**self._customer_scope(str(merchant_user_id)), "Accept": "application/json"}
        return self._exchange("GET", url, headers=headers, auth_scope="customer")

    def live_subscriptions(self, merchant_user_id: str | int) -> OrdergrooveResponse:
        url = self._api("/subscriptions/")
        headers = {**self._customer_scope(str(merchant_user_id)), "Accept": "application/json"}
        return self._exchange("GET", url, headers=headers, params={"live": "True"}, auth_scope="customer")

    def check_connection(self) -> OrdergrooveResponse:
        result = self.customer(CONNECTION_PROBE_ID)
        if result.status in (200, 404):
            result.outcome, result.error = Outcome.SUCCESS, ""
        elif result.status in (401, 403):
            result.outcome = Outcome.FAILED
            result.error = f"Ordergroove refused the signature: check the merchant ID and hash key ({result.error})"
        return result

    # Helpers --------------------------------------------------------------------------------------------------
    def _encrypt_once(self, value: str) -> str:
        if crypto.is_aes_ciphertext(value, self._hash_key):
            return value
        return crypto.aes_encrypt(value, self._hash_key)
