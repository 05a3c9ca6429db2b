"""Template filters of the console: codes in the merchant's words (console_labels)."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template

from bigcommerce_app import console_labels

register = template.Library()

register.filter("alert_label", console_labels.alert_label)
register.filter("alert_link", console_labels.alert_link)
register.filter("audit_describe", console_labels.audit_describe)
register.filter("scope_label", console_labels.scope_label)


@register.filter
def with_token(path: str, token: str) -> str:
    """A console link carrying the console token (`?t=`), placed before any #anchor: "/console/x/?a=1#b"."""
    base, _, anchor = path.partition("#")
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{urlencode({'t': token})}{'#' + anchor if anchor else ''}"
