"""What an Ordergroove call answers: the outcome of a status, the response record, the error.

Contract (other apps code against exactly this; `ordergroove.client` exports the same names):

``classify(status: int | None) -> Outcome`` — DECISIONS §3.13, expressed once for every caller:

    ============================  ==============  ==========================================================
    HTTP status                   Outcome         what the caller does
    ============================  ==============  ==========================================================
    200, 201, 202, 204, 206       SUCCESS         done (202 on purchase_post_status = still pending)
    207                           PARTIAL         done, and alert (some subscriptions failed)
    409                           DUPLICATE       already received = success; never re-send with a new id
    429                           RATE_LIMITED    retry after ``retry_after`` seconds
    400, 401, 403, other 4xx/3xx  FAILED          fail at once, keep the response; alert on 400/401/403
    5xx, None (timeout/no answer) RETRY           3 tries within 10 min, then +24 h, then failed
    ============================  ==============  ==========================================================

``Outcome`` (enum): SUCCESS, DUPLICATE, PARTIAL, FAILED, RETRY, RATE_LIMITED.

``OrdergrooveResponse`` (dataclass) — what every call returns; calls NEVER raise for HTTP statuses or transport
errors (only for programming errors such as a missing hash key, raised as ``OrdergrooveError`` with no status):
    ``status`` (int | None: None = no answer), ``body`` (str, at most 10 000 chars), ``data`` (parsed JSON or None),
    ``outcome`` (Outcome), ``duration_ms``, ``request_summary`` (method, url, headers and body with every secret
    masked: safe to store), ``error`` (human message, "" on success), ``retry_after`` (seconds or None),
    ``auth_scope`` ("customer" = JSON authorization header, "application" = x-api-key, "body" = ts/sig inside the
    body), ``transliterated_fields`` (dotted paths whose non-ASCII text was transliterated, DECISIONS §3.15),
    ``held_back`` (True = not sent: no slot of the allowance within ``max_wait``).
    Properties: ``ok`` (SUCCESS/DUPLICATE/PARTIAL), ``pending`` (HTTP 202), ``should_alert`` (PARTIAL or
    400/401/403), ``subs_req_id``. ``raise_for_outcome()`` raises ``OrdergrooveError`` unless ``ok``.

``OrdergrooveError(middleware.plumbing.http.VendorError)``: ``vendor = "Ordergroove"``; keeps ``status``, ``body``,
``headers``, ``kind`` and ``response`` (the OrdergrooveResponse, when there is one).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from middleware.plumbing.http import VendorError


class Outcome(enum.Enum):
    SUCCESS = "success"
    DUPLICATE = "duplicate"
    PARTIAL = "partial"
    FAILED = "failed"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"


def classify(status: int | None) -> Outcome:
    """DECISIONS §3.13 in one place."""
    if status is None or status >= 500:
        return Outcome.RETRY
    if status == 207:
        return Outcome.PARTIAL
    if 200 <= status < 300:
        return Outcome.SUCCESS
    if status == 409:
        return Outcome.DUPLICATE
    if status == 429:
        return Outcome.RATE_LIMITED
    return Outcome.FAILED


class OrdergrooveError(VendorError):
    vendor = "Ordergroove"

    def __init__(self, message: str, *, response: OrdergrooveResponse | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.response = response


@dataclass
class OrdergrooveResponse:
    status: int | None
    body: str
    data: Any
    outcome: Outcome
    duration_ms: int
    request_summary: dict
    error: str = ""
    retry_after: float | None = None
    auth_scope: str = ""
    transliterated_fields: list[str] = field(default_factory=list)
    # Not sent: the service's own allowance had no slot within the wait bound (`retry_after` = when to ask again).
    held_back: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.SUCCESS, Outcome.DUPLICATE, Outcome.PARTIAL)

    @property
    def pending(self) -> bool:
        return self.status == 202

    @property
    def should_alert(self) -> bool:
        return self.outcome is Outcome.PARTIAL or (self.outcome is Outcome.FAILED and self.status in (400, 401, 403))

    @property
    def subs_req_id(self) -> str | None:
        if isinstance(self.data, dict) and self.data.get("subs_req_id"):
            return str(self.data["subs_req_id"])
        return None

    def raise_for_outcome(self) -> OrdergrooveResponse:
        if self.ok:
            return self
        kind = "http" if self.status is not None else ("timeout" if "did not answer" in self.error else "unavailable")
        raise OrdergrooveError(self.error or f"Ordergroove answered {self.status}", status=self.status,
                               body=self.body, kind=kind, response=self)
