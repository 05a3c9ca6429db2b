"""Template filters of the console: codes in the merchant's words (bigcommerce_app.console.labels)."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template

from bigcommerce_app.console import labels

register = template.Library()

register.filter("alert_label", labels.alert_label)
register.filter("alert_link", labels.alert_link)
register.filter("audit_describe", labels.audit_describe)
register.filter("scope_label", labels.scope_label)


@register.filter
def with_token(path: str, token: str) -> str:
    """A console link carrying the console token (`?t=`), placed before any #anchor: "/console/x/?a=1#b"."""
    base, _, anchor = path.partition("#")
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{urlencode({'t': token})}{'#' + anchor if anchor else ''}"
