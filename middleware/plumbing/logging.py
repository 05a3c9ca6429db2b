"""Log redaction: secrets never reach a log line, whichever code path formats them."""

from __future__ import annotations

import logging
import re
import threading

_lock = threading.Lock()
_known_secrets: set[str] = set()

# URL query parameters that carry secrets: the console token (`?t=`, valid for hours), BigCommerce's signed
# payloads and OAuth code, and the usual names of keys and tokens. A request line in gunicorn's access log (and
# its Referer) passes through here like any other record.
SECRET_QUERY_PARAMETERS = ("t", "token", "code", "signed_payload", "signed_payload_jwt", "jwt", "access_token",
                           "api_key", "apikey", "key", "password", "secret", "client_secret", "sig", "signature")

# Header/field shapes that always carry secrets, whatever their value.
_PATTERNS = [
    re.compile(r"(?i)(x-auth-token|x-api-key|authorization|client_secret|access_token|hash_key|password|"
               r"signed_payload_jwt|signed-payload|x-webhook-token)(\"?\s*[:=]\s*\"?)([^\s\",&}]+)"),
    re.compile(r"(?i)([?&](?:" + "|".join(SECRET_QUERY_PARAMETERS) + r"))(=)([^&#\s\"]+)"),
]


def register_secret(value: str | None) -> None:
    """Remember a secret so that any later log line containing it is redacted."""
    if value and len(value) >= 6:
        with _lock:
            _known_secrets.add(value)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}[REDACTED]", text)
    with _lock:
        secrets = list(_known_secrets)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "[REDACTED]")
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not kill logging
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_record_factory() -> None:
    """Redact when a record is created, so every handler (files, console, test capture) sees clean text."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_redacting", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        RedactSecretsFilter().filter(record)
        return record

    factory._redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
