"""BigCommerce's failures as typed errors: what `bigcommerce_app.client` raises, read from BigCommerce's answers.

Status codes map to classes (401 → BigCommerceUnauthorized, 404 → BigCommerceNotFound, 429 →
BigCommerceRateLimited with the seconds to wait), and the message is BigCommerce's own words from either API's
error shape (bigcommerce.md §4–§5). Builds no URL and calls nothing: imports only the shared HTTP plumbing.
"""

from __future__ import annotations

import json

from middleware.plumbing.http import VendorError


class BigCommerceError(VendorError):
    vendor = "BigCommerce"

    @property
    def message(self) -> str:
        """BigCommerce's own words: V3 `title`/`detail`, V2 `[{"message"}]`, or the raw body."""
        return extract_error_message(self.body) or str(self.args[0] if self.args else "")


class BigCommerceUnauthorized(BigCommerceError):
    """401: the stored token no longer works (app uninstalled or re-authorized)."""


class BigCommerceNotFound(BigCommerceError):
    pass


class BigCommerceRateLimited(BigCommerceError):
    def __init__(self, message: str, *, retry_after: float, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def extract_error_message(body: str) -> str:
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return (body or "").strip()[:500]
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return "; ".join(str(item.get("message", "")) for item in data if item.get("message"))
    if isinstance(data, dict):
        parts = [str(data[k]) for k in ("title", "detail", "message", "error") if data.get(k)]
        errors = data.get("errors")
        if isinstance(errors, dict) and errors:
            parts.append("; ".join(f"{k}: {v}" for k, v in errors.items()))
        return " — ".join(parts)
    return str(data)[:500]


def error_for(response, message: str) -> BigCommerceError:
    kwargs = {"status": response.status_code, "body": response.text[:4000], "headers": response.headers}
    detail = extract_error_message(response.text)
    text = f"{message}: {detail}" if detail else message
    if response.status_code == 401:
        return BigCommerceUnauthorized(text, **kwargs)
    if response.status_code == 404:
        return BigCommerceNotFound(text, **kwargs)
    if response.status_code == 429:
        return BigCommerceRateLimited(text, retry_after=rate_limit_reset_seconds(response.headers), **kwargs)
    return BigCommerceError(text, **kwargs)


def rate_limit_reset_seconds(headers) -> float:
    """Seconds until the quota refreshes; without headers BigCommerce is under load: back off a little."""
    reset_ms = headers.get("X-Rate-Limit-Time-Reset-Ms")
    if reset_ms is not None:
        try:
            return max(float(reset_ms) / 1000.0, 0.05)
        except ValueError:
            pass
    retry_after = headers.get("X-Retry-After") or headers.get("Retry-After")
    if retry_after is not None:
        try:
            return max(float(retry_after), 0.05)
        except ValueError:
            pass
    return 2.0
