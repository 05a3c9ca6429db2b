"""`/console/`: the Overview (the store's state, its scopes in the merchant's words, and the setup checklist)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from bigcommerce_app import selectors
from bigcommerce_app.console import labels
from bigcommerce_app.console.auth import console_view
from bigcommerce_app.console.settings.checklist import setup_checklist

# The Overview's panels, top to bottom: (template, context of the store).
PANELS = (("ordergroove/checklist.html", lambda store: {"checklist": setup_checklist(store)}),)


@require_GET
@console_view
def console_home(request: HttpRequest) -> HttpResponse:
    store = request.console.store
    context = selectors.store_overview(store)
    return render(request, "console/home.html", {
        "console": request.console, **context, "scopes": labels.scopes_labelled(store.scope or ""),
        "panels": [render_to_string(template, {"console": request.console, **panel_context(store)})
                   for template, panel_context in PANELS]})
