"""What every settings owner does the same way (each app's own settings table, one row per store): run each given
field through its rule, and save a validated change under a row lock. The owners (ordergroove.store_settings,
feeds.store_settings) bring their model, rules and secrets; this module knows no app's table."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from bigcommerce_app.models import Store


def fields_clean(data: dict, rules: dict[str, Callable[[Any], Any]], *, known: Collection[str],
                 unknown: str) -> dict:
    """Each field of `data` through its rule (a field without one is taken as given). Raises
    ValidationError({field: [messages]}) with every error; a field not in `known` is refused with `unknown`."""
    errors: dict[str, list[str]] = {name: [unknown] for name in data if name not in known}
    attrs: dict = {}
    for name, value in data.items():
        if name in errors:
            continue
        try:
            attrs[name] = rules[name](value) if name in rules else value
        except ValidationError as exc:
            errors[name] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    return attrs


def row_update(model: type[models.Model], store: Store, data: dict, *,
               clean: Callable[[Any, dict], dict], secrets: Collection[str]) -> list[str]:
    """Lock the store's row (created if missing), `clean(row, data)` (ValidationError: nothing changed), set the
    fields; returns the names of those that changed (secrets by name only). A null secret clears it. The row is
    saved even when nothing changed: its `updated_at` says when the settings were last saved."""
    with transaction.atomic():
        row = model.objects.select_for_update().get_or_create(store=store)[0]
        attrs = clean(row, data)
        changed: list[str] = []
        for name, value in attrs.items():
            if name in secrets and value is None:
                value = ""
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed.append(name)
        row.save()
    return changed
