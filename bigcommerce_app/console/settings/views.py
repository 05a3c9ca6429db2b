"""The Settings tab (`/console/settings/`): a plain HTML form inside the control-panel iframe. The console token
travels in the form (hidden `t`), never in a cookie. Thin: validation and saving are the services'."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from bigcommerce_app.console.auth import console_view
from bigcommerce_app.console.settings import selectors, services
from bigcommerce_app.console.settings.checklist import checks_verified
from bigcommerce_app.console.settings.serializers import SECRET_FIELDS, SettingsSerializer
from feeds import cron
from ordergroove.models import OrdergrooveSettings

BOOLEAN_FIELDS = ("incentive_groups_enabled", "free_shipping_enabled", "delete_coupons_after_use",
                  "incremental_updates_enabled")


def form_to_data(post) -> dict:
    """The form's fields as the settings API takes them: unchecked boxes are false, an empty secret box keeps
    the secret, a ticked "remove" box clears it."""
    data: dict = {}
    for name in SettingsSerializer._declared_fields:
        if name in BOOLEAN_FIELDS:
            data[name] = name in post
        elif name in SECRET_FIELDS:
            if post.get(f"clear_{name}"):
                data[name] = None
            elif post.get(name, "").strip():
                data[name] = post[name]
        elif name in post:
            data[name] = post[name]
    return data


def _cron_choices(name: str, current: str) -> list[tuple[str, str]]:
    low, high = cron.RANGES[name]
    labels = {"cron_month": cron.MONTHS, "cron_day_of_week": cron.DAYS}.get(name)
    choices = [("*", "* (every)")]
    for number in range(low, high + 1):
        if labels:
            label = f"{number} – {labels[number - 1] if name == 'cron_month' else labels[number]}"
        elif name in ("cron_minute", "cron_hour"):
            label = f"{number:02d}"
        else:
            label = str(number)
        choices.append((str(number), label))
    if current not in {value for value, _ in choices}:
        choices.insert(1, (current, current))  # a value set through the API keeps showing as it is
    return choices


@require_http_methods(["GET", "POST"])
@console_view
def settings_page(request: HttpRequest) -> HttpResponse:
    console = request.console
    errors: dict = {}
    submitted: dict = {}
    if request.method == "POST":
        try:
            changed = services.settings_update(console.store, form_to_data(request.POST),
                                               actor=console.user.email, from_form=True)
        except services.SettingsInvalid as exc:
            errors = exc.errors
            submitted = {k: v for k, v in form_to_data(request.POST).items() if k not in SECRET_FIELDS}
        else:
            query = urlencode({"t": console.token, "saved": len(changed)})
            return HttpResponseRedirect(f"/console/settings/?{query}")
    values = selectors.settings_read(console.store)
    values.update(submitted)  # show what the merchant typed next to its errors (never secrets)
    cron_fields = [{"name": name, "label": cron.LABELS[name].capitalize(), "value": str(values[name]),
                    "choices": _cron_choices(name, str(values[name])), "errors": errors.get(name, [])}
                   for name in cron.FIELDS]
    secrets = {name: values[f"{name}_hint"] for name in SECRET_FIELDS}
    context = {
        "console": console, "values": values, "errors": errors, "secrets": secrets,
        "verified": checks_verified(console.store),
        "saved": request.GET.get("saved") if request.method == "GET" else None,
        "cron_fields": cron_fields, "environments": OrdergrooveSettings.Environment.choices,
        "owners": OrdergrooveSettings.Owner.choices, "payment_sources": OrdergrooveSettings.PaymentSource.choices,
    }
    return render(request, "ordergroove/settings.html", context, status=400 if errors else 200)
