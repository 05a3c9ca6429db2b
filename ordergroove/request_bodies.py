"""How Ordergroove's request bodies are written (the payload shapes `ordergroove.client` sends; it builds the URLs
and headers and sends them): encodeURIComponent and JSON.stringify as Ordergroove's JavaScript reads them, ASCII
transliteration (DECISIONS §3.15), card type codes, the `create_request=` and `update_request=` bodies, and the
masked copies of them that are safe to store.

Helpers: ``encode_uri_component(s)`` (JavaScript semantics), ``to_ascii(obj) -> (obj, changed_paths)``,
``card_type_code(value) -> str``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from anyascii import anyascii

from ordergroove.responses import OrdergrooveError

# R-CCT; DECISIONS §3.4 (1-4); G-SFCC / G-M2 brand names.
CARD_TYPES = {
    "1": "1", "VISA": "1", "VI": "1",
    "2": "2", "MASTERCARD": "2", "MASTER": "2", "MC": "2",
    "3": "3", "AMEX": "3", "AMERICAN EXPRESS": "3", "AMERICAN_EXPRESS": "3", "AE": "3",
    "4": "4", "DISCOVER": "4", "DI": "4",
    "5": "5", "DINERS": "5", "DINERS CLUB": "5", "DINERS_CLUB": "5",
    "6": "6", "JCB": "6",
}


def encode_uri_component(value: str) -> str:
    """JavaScript's encodeURIComponent: everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ) is escaped (UTF-8)."""
    return quote(value, safe="-_.!~*'()")


def json_stringify(value: Any) -> str:
    """JSON.stringify's output for plain data: no spaces, non-ASCII kept as is (we send ASCII anyway)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def to_ascii(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """Transliterate every string (DECISIONS §3.15: Ordergroove accepts ASCII only). Returns the new value and
    the dotted paths that changed, so callers can record that it happened."""
    changed: list[str] = []
    if isinstance(value, str):
        if value.isascii():
            return value, changed
        return anyascii(value), [path or "."]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out[key], sub = to_ascii(item, f"{path}.{key}" if path else str(key))
            changed.extend(sub)
        return out, changed
    if isinstance(value, list | tuple):
        items = []
        for index, item in enumerate(value):
            new, sub = to_ascii(item, f"{path}[{index}]")
            items.append(new)
            changed.extend(sub)
        return items, changed
    return value, changed


def card_type_code(value: Any) -> str:
    key = str(value or "").strip().upper()
    if key not in CARD_TYPES:
        raise OrdergrooveError(f"Unknown card type {value!r} for Ordergroove")
    return CARD_TYPES[key]


def _url_encode_strings(value: Any) -> Any:
    """Seed 000: each string inside update_request is URL-encoded on its own (numbers and booleans are not)."""
    if isinstance(value, str):
        return encode_uri_component(value)
    if isinstance(value, dict):
        return {k: _url_encode_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_url_encode_strings(v) for v in value]
    return value


def mask(value: str | None) -> str:
    if not value:
        return ""
    return f"***{value[-4:]}" if len(value) >= 12 else "***"


def masked_payload(obj: dict) -> dict:
    """A copy safe to store: the stored-instrument token shows only its end. Only `payment` is copied (the rest is
    shared with `obj`, which callers no longer change; a deep copy cost a purchase post ~0.3 ms)."""
    masked = dict(obj)
    payment = masked.get("payment")
    if isinstance(payment, dict) and payment.get("token_id"):
        masked["payment"] = {**payment, "token_id": mask(str(payment["token_id"]))}
    return masked


def create_request_body(payload: dict, *, merchant_id: str, encrypt: Callable[[str], str]
                        ) -> tuple[bytes, dict, list[str]]:
    """A purchase post's body: `create_request=` + encodeURIComponent(JSON.stringify(payload)) (DECISIONS §3.3),
    the payload transliterated to ASCII, `merchant_id` filled in when missing, the payment's `cc_exp_date`,
    `cc_holder` and `cc_number` passed through `encrypt`, `cc_type` as Ordergroove's code. Returns the body, its
    masked summary and the transliterated paths."""
    body_obj, changed = to_ascii(payload)  # a new structure: the caller's payload is left untouched
    if "merchant_id" not in body_obj:
        body_obj = {"merchant_id": merchant_id, **body_obj}
    payment = body_obj.get("payment")
    if isinstance(payment, dict):
        for name in ("cc_exp_date", "cc_holder", "cc_number"):
            if payment.get(name):
                payment[name] = encrypt(str(payment[name]))
        if payment.get("cc_type") not in (None, ""):
            payment["cc_type"] = card_type_code(payment["cc_type"])
    body = "create_request=" + encode_uri_component(json_stringify(body_obj))
    return body.encode("ascii"), {"create_request": masked_payload(body_obj)}, changed


def update_request_body(payment: dict, *, merchant_id: str, user_id: str, ts: int | str, sig: str,
                        encrypt: Callable[[str], str]) -> tuple[bytes, dict, list[str]]:
    """A payment update's body: `update_request=<JSON>` in which every string value is URL-encoded on its own and
    the whole body is not (DECISIONS §3.4), the signature inside `user`; `cc_exp_date`, `cc_last_4` and
    `cc_holder` passed through `encrypt` (ordergroove.md §5.2). Returns the body, its masked summary and the
    transliterated paths (under `payment.`)."""
    plain, changed = to_ascii(copy.deepcopy(payment))
    out: dict[str, Any] = {}
    for key in ("label", "payment_method", "card_type", "cc_exp_date", "cc_last_4", "cc_holder", "token_id"):
        if plain.get(key) in (None, ""):
            continue
        value = str(plain[key])
        if key == "card_type":
            value = card_type_code(value)
        elif key in ("cc_exp_date", "cc_last_4", "cc_holder"):
            value = encrypt(value)
        out[key] = value
    if plain.get("billing"):
        out["billing"] = {k: str(v) for k, v in plain["billing"].items() if v not in (None, "")}
    request_obj = {"merchant_id": merchant_id, "user": {"user_id": user_id, "ts": str(ts), "sig": sig},
                   "payment": out}
    body = "update_request=" + json.dumps(_url_encode_strings(request_obj), separators=(",", ":"))
    summary_obj = copy.deepcopy(request_obj)
    summary_obj["user"]["sig"] = mask(sig)
    summary_obj["payment"] = masked_payload({"payment": out})["payment"]
    return body.encode("ascii"), {"update_request": summary_obj}, ["payment." + p for p in changed]
