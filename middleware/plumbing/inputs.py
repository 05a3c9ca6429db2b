"""Values from outside, parsed strictly and bounded before use.

Python's own parsers are generous in ways that hurt a service: ``str.isdigit`` accepts "²" (which ``int`` then
refuses), ``int`` accepts "٣" and "1_000" and builds a number of any size, ``Decimal`` accepts "1e999999" (a
million-digit integer once quantized or converted) and "Infinity", and PostgreSQL refuses NUL characters in text
and integers past 64 bits. Every number or identifier that arrives in a request goes through one of these
functions, which accept only ASCII digits of a bounded length and value, so a hostile value is a clear
``InputError`` (a 4xx for the caller) before it costs CPU or reaches the database.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal, InvalidOperation

# PostgreSQL integer (BigCommerce ids are int32) and bigint bounds.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
# Plain decimal notation only (no exponent, no NaN/Infinity, no "_" separators): 15 integer digits, 8 places.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,8})?|\.[0-9]{1,8})")


class InputError(ValueError):
    """A value from outside is not what it must be; the message is fit to show to the caller."""


def strict_int(value: object, *, minimum: int = 0, maximum: int = INT64_MAX, what: str = "value") -> int:
    """An integer written with ASCII digits (optional sign), within [minimum, maximum].

    Accepts ``int`` (not ``bool``), integral ``float`` and ``str``; surrounding whitespace is ignored."""
    if isinstance(value, bool):
        raise InputError(f"{what} must be a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise InputError(f"{what} must be a whole number")
        value = int(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str | bytes):
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        text = text.strip()
        if not _INTEGER.fullmatch(text):
            raise InputError(f"{what} must be a whole number of at most 19 digits")
        number = int(text)
    else:
        raise InputError(f"{what} must be a whole number")
    if not minimum <= number <= maximum:
        raise InputError(f"{what} must be between {minimum} and {maximum}")
    return number


def optional_int(value: object, *, minimum: int = 0, maximum: int = INT64_MAX) -> int | None:
    """``strict_int`` or ``None`` when the value is not such a number (for optional filters and lookups)."""
    try:
        return strict_int(value, minimum=minimum, maximum=maximum)
    except InputError:
        return None


def bounded_decimal(value: str, *, what: str = "value", maximum: Decimal = Decimal("1e12")) -> Decimal:
    """A decimal in plain notation (``-12.50``, thousands commas allowed), at most 8 places, ``|x| <= maximum``.

    Exponents, NaN and Infinity are refused on their text, before ``Decimal`` builds anything from them."""
    text = value.strip().replace(",", "")
    if not _DECIMAL.fullmatch(text):
        raise InputError(f"{what} is not a plain decimal number: {value[:40]!r}")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:  # unreachable after the pattern, kept as a guard
        raise InputError(f"{what} is not a number: {value[:40]!r}") from exc
    if abs(number) > maximum:
        raise InputError(f"{what} is larger than {maximum:f}")
    return number


def has_nul(value: str) -> bool:
    """PostgreSQL text and jsonb cannot hold U+0000: such input is refused where it enters."""
    return "\x00" in value


def text_without_nul(value: str, *, what: str = "value") -> str:
    if has_nul(value):
        raise InputError(f"{what} contains a NUL character")
    return value


def _refuse_constant(name: str) -> None:
    raise InputError(f"JSON {name} is not a number PostgreSQL can store")


def json_loads_storable(body: bytes | str) -> object:
    """JSON that PostgreSQL's jsonb will store, or ``InputError``.

    Python's ``json`` accepts what jsonb refuses (NaN, Infinity, ``\\u0000``, lone surrogates) and raises
    ``RecursionError`` (not a ``ValueError``) on deep nesting; each is refused here, where the body enters, so
    one bad body is a 400 of its own and never a failed statement that takes other rows with it."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        data = json.loads(text, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError("The body is not JSON (UTF-8, at most a few hundred levels deep).") from exc
    pending = [data]
    while pending:  # iterative: the structure may be as deep as the parser allowed
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and not storable_text(value):
            raise InputError("The JSON carries a NUL character or a lone surrogate.")
        elif isinstance(value, float) and not math.isfinite(value):  # 1e400 parses as inf
            _refuse_constant("Infinity")
    return data


def storable_text(value: str) -> bool:
    """PostgreSQL text and jsonb hold neither U+0000 nor a lone surrogate (which UTF-8 cannot encode)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
