"""The rules of the feed settings: the SFTP drop-off (host, user, keys) and the schedule's cron fields, each on
its own (`FIELD_RULES`) and across fields (`cross_field_clean`), checked against the values the store would have
after the change.

Errors are Django's `ValidationError`: a message for one field, a `{field: [messages]}` dict for a change.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError

from bigcommerce_app.store_settings import fields_clean
from feeds import cron
from feeds.models import FeedSettings
from feeds.sftp import SftpConfigError, host_key_line, host_key_parse, private_key_parse
from middleware.plumbing.outbound import OutboundRefused, outbound_host_check

FEED_SECRETS = ("sftp_password", "sftp_private_key")
FEED_FIELDS = ("sftp_host", "sftp_port", "sftp_username", "sftp_host_key", *cron.FIELDS,
               "incremental_updates_enabled", *FEED_SECRETS)

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                       r"[A-Za-z0-9])?)*$")


def _ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def sftp_host_clean(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    if "://" in value or "/" in value:
        raise ValidationError("Enter the server's host name only, e.g. feeds.ordergroove.com.")
    if ":" in value and not _ip(value):
        raise ValidationError("Enter the host name only; the port has its own field.")
    if not (_HOSTNAME.match(value) or _ip(value)):
        raise ValidationError(f"'{value}' is not a valid host name.")
    try:  # a public address in production; checked again when connecting, after DNS resolution
        outbound_host_check(value, 22, unresolvable_ok=True)
    except OutboundRefused as exc:
        raise ValidationError(str(exc)) from exc
    return value.lower()


def sftp_username_clean(value: str) -> str:
    value = value.strip()
    if any(ch.isspace() for ch in value):
        raise ValidationError("The user name cannot contain spaces.")
    return value


def sftp_private_key_clean(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        private_key_parse(value)
    except SftpConfigError as exc:
        raise ValidationError(str(exc)) from exc
    return value.strip() + "\n"


def sftp_host_key_clean(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        return host_key_line(host_key_parse(value))
    except SftpConfigError as exc:
        raise ValidationError(str(exc)) from exc


def _port(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValidationError("Enter a port from 1 to 65535.")
    return value


def _cron_field(name: str) -> Callable[[str], str]:
    def clean(value: str) -> str:
        try:
            return cron.cron_field_validate(name, value)
        except cron.CronError as exc:
            raise ValidationError(exc.message) from exc
    return clean


# Field name -> rule (the value cleaned, or ValidationError). A field without a rule (any characters are valid in
# a password) is taken as given.
FIELD_RULES: dict[str, Callable[[Any], Any]] = {
    "sftp_host": sftp_host_clean,
    "sftp_port": _port,
    "sftp_username": sftp_username_clean,
    "sftp_private_key": sftp_private_key_clean,
    "sftp_host_key": sftp_host_key_clean,
    **{name: _cron_field(name) for name in cron.FIELDS},
}


def cross_field_clean(row: FeedSettings, attrs: dict) -> dict:
    """Rules across fields, on the values after the change (`attrs` over the saved `row`): the schedule as a whole
    (its given fields come back normalised) and a private key needs a user name. Raises
    ValidationError({field: [messages]})."""
    def after(name: str) -> Any:
        return attrs[name] if name in attrs else getattr(row, name)

    attrs = dict(attrs)
    errors: dict[str, list[str]] = {}
    cron_given = {name for name in cron.FIELDS if name in attrs}
    if cron_given:
        try:
            normalised = cron.cron_validate({name: after(name) for name in cron.FIELDS})
            attrs.update({name: value for name, value in normalised.items() if name in cron_given})
        except cron.CronError as exc:
            errors.setdefault(exc.field, []).append(exc.message)
    if after("sftp_private_key") and not after("sftp_username"):
        errors.setdefault("sftp_username", []).append("A user name is needed with a private key.")
    if errors:
        raise ValidationError(errors)
    return attrs


def feed_settings_clean(row: FeedSettings, data: dict) -> dict:
    """The change cleaned: every field rule, then (when they pass) the cross-field rules. Raises
    ValidationError({field: [messages]}) with every error. Fields that are not feed settings are refused."""
    return cross_field_clean(row, fields_clean(data, FIELD_RULES, known=FEED_FIELDS, unknown="Not a feed setting."))
