"""`/console/ordergroove-events/`: the console page of Ordergroove activity (the events Ordergroove sent and the
orders it placed), read through ordergroove.events' selectors."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from bigcommerce_app.console.auth import console_view
from ordergroove.events import selectors


@require_GET
@console_view
def console_events(request: HttpRequest) -> HttpResponse:
    store = request.console.store
    order = (request.GET.get("order") or "").strip()
    customer = (request.GET.get("customer") or "").strip()
    context = selectors.activity_for(store, order=order, customer=customer)
    return render(request, "ordergroove/events.html", {
        "console": request.console, "order": order, "customer": customer,
        "placements_chart": selectors.placements_chart(store),
        "webhook_url": f"{settings.APP_URL}/webhooks/ordergroove?store={store.store_hash}",
        "placement_url": f"{settings.APP_URL}/ordergroove/order-placement", **context,
    })
