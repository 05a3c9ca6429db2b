"""The Storefront tab (`/console/storefront/`): the script's state, the switches and "Reconcile now". Thin: the
storefront script flow's services write (through the settings owner) and reconcile; its selectors read."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from bigcommerce_app.console.auth import console_view
from ordergroove.models import StorefrontSettings
from ordergroove.store_settings.selectors import storefront_settings_get
from ordergroove.storefront_script import services
from ordergroove.storefront_script.selectors import storefront_status


def _form_data(post) -> dict:
    data = {name: name in post for name in services.SWITCHES}
    data.update({name: post[name] for name in services.TEXT_FIELDS if name in post})
    return data


@require_http_methods(["GET", "POST"])
@console_view
def storefront_page(request: HttpRequest) -> HttpResponse:
    console = request.console
    errors: dict = {}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "reconcile":
                services.storefront_reconcile_now(console.store, actor=console.user.email)
                changed = ["reconcile"]
            else:
                changed = services.storefront_settings_update(console.store, _form_data(request.POST),
                                                              actor=console.user.email)
        except services.StorefrontSettingsInvalid as exc:
            errors = exc.errors
        else:
            query = urlencode({"t": console.token, "saved": len(changed)})
            return HttpResponseRedirect(f"/console/storefront/?{query}")
    context = {"console": console, "tab": "storefront", "status": storefront_status(console.store),
               "settings": storefront_settings_get(console.store), "modes": StorefrontSettings.Mode.choices,
               "errors": errors, "saved": request.GET.get("saved") if request.method == "GET" else None}
    return render(request, "ordergroove/storefront.html", context, status=400 if errors else 200)
