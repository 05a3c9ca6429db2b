"""The CSV's Frequency cell (seed 002, DECISIONS §3.8).

The seed's form is a quasi-JSON list written by the original app:

    [{'Name':'One-time purchase';'option_id':132;'every':0;'every_period':0;'is_default':'TRUE'};
     {'Name':'Every 1 month';'option_id':133;'every':1;'every_period':3;'is_default':'FALSE'}]

single quotes, `;` between keys and between objects, values possibly padded (`' TRUE'`). Plain JSON is
accepted too. No library reads this dialect, so a small tokenizer does, reporting the position of the first
problem; `frequency_format` writes the seed's form back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from feeds.models.products import EVERY_PERIOD_NAMES
from middleware.plumbing.inputs import INT32_MAX, InputError, storable_text, strict_int

KEYS = ("Name", "option_id", "every", "every_period", "is_default")
_KEY_LOOKUP = {k.lower(): k for k in KEYS}

# The seed's "Frequency Options Table": the pairs Ordergroove documents. Others with a valid period are
# accepted with a warning (Ordergroove takes any positive `every`).
FREQUENCY_TABLE = {(30, 1), (60, 1), (90, 1), (1, 2), (2, 2), (3, 2), (1, 3), (2, 3), (3, 3)}


class FrequencyError(ValueError):
    """The cell cannot be read or breaks a rule; the message says what and where."""


@dataclass
class Frequency:
    name: str
    option_id: int
    every: int
    every_period: int
    is_default: bool

    @property
    def is_one_time(self) -> bool:
        return self.every == 0 and self.every_period == 0

    def as_dict(self) -> dict:
        return {"name": self.name, "option_id": self.option_id, "every": self.every,
                "every_period": self.every_period, "is_default": self.is_default}

    @property
    def words(self) -> str:
        if self.is_one_time:
            return "one-time purchase"
        unit = EVERY_PERIOD_NAMES.get(self.every_period, "?")
        return f"every {self.every} {unit[:-1] if self.every == 1 else unit}"


# --- Tokenizer ---------------------------------------------------------------------------------------------

class _Reader:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def error(self, message: str) -> FrequencyError:
        snippet = self.text[self.pos:self.pos + 20]
        where = f" at character {self.pos + 1}" + (f" (near \"{snippet}\")" if snippet else " (end of cell)")
        return FrequencyError(message + where)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, chars: str, what: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            raise self.error(f"Expected {what}")
        self.pos += 1
        return char

    def string(self) -> str:
        quote = self.expect("'\"", "a quoted text")
        out = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == quote:
                self.pos += 1
                return "".join(out)
            out.append(char)
            self.pos += 1
        raise FrequencyError(f"A text opened with {quote} is never closed")

    def scalar(self) -> str | int | bool:
        char = self.peek()
        if char in ("'", '"'):
            return self.string()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ";,}] \t\r\n":
            self.pos += 1
        word = self.text[start:self.pos]
        if not word:
            self.pos = start
            raise self.error("Expected a value")
        lowered = word.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        try:
            return int(word)
        except ValueError:
            self.pos = start
            raise self.error(f"'{word}' is not a number, TRUE/FALSE or quoted text") from None


def _parse_quasi(text: str) -> list[dict]:
    reader = _Reader(text)
    reader.expect("[", "'[' to open the list")
    objects: list[dict] = []
    if reader.peek() == "]":
        reader.pos += 1
    else:
        while True:
            objects.append(_parse_object(reader))
            sep = reader.expect(";,]", "';' between options or ']' to close the list")
            if sep == "]":
                break
            if reader.peek() == "]":  # a trailing separator, as spreadsheets sometimes leave
                reader.pos += 1
                break
    if reader.peek():
        raise reader.error("Unexpected text after the closing ']'")
    return objects


def _parse_object(reader: _Reader) -> dict:
    reader.expect("{", "'{' to open an option")
    obj: dict = {}
    while True:
        if reader.peek() not in ("'", '"'):
            raise reader.error("Expected a quoted key such as 'Name'")
        key = reader.string()
        reader.expect(":", f"':' after '{key}'")
        value = reader.scalar()
        if key in obj:
            raise FrequencyError(f"The key '{key}' appears twice in option {len(obj) and obj.get('Name', '')!r}")
        obj[key] = value
        sep = reader.expect(";,}", "';' between keys or '}' to close the option")
        if sep == "}":
            return obj


# --- Parse + validate one cell -------------------------------------------------------------------------------

def _as_int(value, key: str, label: str) -> int:
    if isinstance(value, bool):
        raise FrequencyError(f"{label}: '{key}' must be a whole number, not TRUE/FALSE")
    try:  # ASCII digits, within int32 (what BigCommerce ids and the feed's numbers are)
        return strict_int(value.strip() if isinstance(value, str) else value, minimum=-INT32_MAX,
                          maximum=INT32_MAX, what=key)
    except InputError:
        raise FrequencyError(f"{label}: '{key}' must be a whole number, got '{str(value)[:40]}'") from None


def _as_bool(value, label: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().upper()
    if text in ("TRUE", "FALSE"):
        return text == "TRUE"
    raise FrequencyError(f"{label}: 'is_default' must be TRUE or FALSE, got '{value}'")


def frequency_parse(cell: str) -> list[Frequency]:
    """Read a Frequency cell (the seed's quasi-JSON or plain JSON) into typed options; syntax and per-option
    type errors raise FrequencyError. Product-level rules are `frequency_validate`'s."""
    text = (cell or "").strip()
    if not text:
        return []
    try:
        raw = json.loads(text)
    except RecursionError:
        raise FrequencyError("The Frequency is nested too deeply to be a list of options") from None
    except ValueError:
        raw = _parse_quasi(text)
    if not isinstance(raw, list):
        raise FrequencyError("The Frequency must be a list of options in [ ]")
    options = []
    for index, item in enumerate(raw, start=1):
        label = f"Option {index}"
        if not isinstance(item, dict):
            raise FrequencyError(f"{label} is not an object in {{ }}")
        normalised = {}
        for key, value in item.items():
            canonical = _KEY_LOOKUP.get(str(key).strip().lower())
            if canonical is None:
                raise FrequencyError(f"{label}: unknown key '{key}' (expected {', '.join(KEYS)})")
            if canonical in normalised:
                raise FrequencyError(f"{label}: the key '{canonical}' appears twice")
            normalised[canonical] = value
        missing = [k for k in KEYS if k not in normalised]
        if missing:
            raise FrequencyError(f"{label}: missing {', '.join(repr(k) for k in missing)}")
        name = normalised["Name"]
        if not isinstance(name, str) or not name.strip():
            raise FrequencyError(f"{label}: 'Name' must be a non-empty quoted text")
        if not storable_text(name) or len(name) > 255:
            raise FrequencyError(f"{label}: 'Name' must be at most 255 characters, without NUL or broken characters")
        label = f"Option {index} ('{name.strip()}')"
        option_id = _as_int(normalised["option_id"], "option_id", label)
        if option_id <= 0:
            raise FrequencyError(f"{label}: 'option_id' must be a positive id, got {option_id}")
        options.append(Frequency(name=name.strip(), option_id=option_id,
                                 every=_as_int(normalised["every"], "every", label),
                                 every_period=_as_int(normalised["every_period"], "every_period", label),
                                 is_default=_as_bool(normalised["is_default"], label)))
    return options


def frequency_problems(options: list[Frequency]) -> tuple[list[str], list[str]]:
    """Every broken product-level rule (seed 002 "Frequency Options Table") of a subscription-eligible product,
    and the warnings: (errors, warnings)."""
    if not options:
        return ["No frequency options: a subscription-eligible product needs at least one"], []
    errors: list[str] = []
    warnings: list[str] = []
    seen: set[int] = set()
    for option in options:
        label = f"Option '{option.name}' (option_id {option.option_id})"
        if option.option_id in seen:
            errors.append(f"{label}: option_id {option.option_id} is listed twice")
        seen.add(option.option_id)
        if option.every < 0 or option.every_period < 0:
            errors.append(f"{label}: every and every_period cannot be negative")
        elif option.every == 0 or option.every_period == 0:
            if not option.is_one_time:
                errors.append(
                    f"{label}: every {option.every} / every_period {option.every_period} is not valid; "
                    "a one-time purchase is every 0 and every_period 0, a subscription needs every > 0 and "
                    "every_period 1 (days), 2 (weeks) or 3 (months)")
        elif option.every_period not in EVERY_PERIOD_NAMES:
            errors.append(f"{label}: every_period {option.every_period} is not valid; use 1 (days), "
                          "2 (weeks) or 3 (months)")
        elif (option.every, option.every_period) not in FREQUENCY_TABLE:
            warnings.append(f"{label}: {option.words} is not in the seed's Frequency Options Table")
    one_time = [o for o in options if o.is_one_time]
    if len(one_time) > 1:
        names = ", ".join(f"'{o.name}'" for o in one_time)
        errors.append(f"{len(one_time)} options are one-time purchases (every 0, every_period 0): {names}; "
                      "only one may be — set every and every_period on the subscription options")
    elif one_time and len(one_time) == len(options):
        errors.append("No subscription frequency: every option is a one-time purchase (0/0); set every "
                      "and every_period on the subscription options")
    defaults = [o for o in options if o.is_default]
    if len(defaults) != 1:
        which = ", ".join(f"'{o.name}'" for o in defaults)
        errors.append("Exactly one option must have is_default TRUE; "
                      + (f"{len(defaults)} do: {which}" if defaults else "none does"))
    return errors, warnings


def frequency_validate(options: list[Frequency]) -> list[str]:
    """Warnings of a valid cell; FrequencyError naming the first broken rule otherwise."""
    errors, warnings = frequency_problems(options)
    if errors:
        raise FrequencyError(errors[0])
    return warnings


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def frequency_format(options: list[dict] | list[Frequency]) -> str:
    """Write options in the seed's form (one line; DECISIONS §3.8)."""
    parts = []
    for option in options:
        data = option.as_dict() if isinstance(option, Frequency) else option
        parts.append("{" + ";".join([
            f"'Name':{_quote(str(data['name']))}",
            f"'option_id':{int(data['option_id'])}",
            f"'every':{int(data['every'])}",
            f"'every_period':{int(data['every_period'])}",
            f"'is_default':'{'TRUE' if data['is_default'] else 'FALSE'}'",
        ]) + "}")
    return "[" + ";".join(parts) + "]"
