"""`/console/activity/`: the merchant's page (events, deliveries, a chart of counts per day, replay buttons)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from bigcommerce_app.console.activity import presenters, selectors
from bigcommerce_app.console.auth import console_view
from bigcommerce_app.inbox.services import inbound_event_replay, inbound_events_replay_failed
from bigcommerce_app.models import InboundEvent
from ordergroove.models import Delivery
from ordergroove.sync.services import deliveries_replay_failed, delivery_replay


@require_GET
@console_view
def activity_page(request: HttpRequest) -> HttpResponse:
    store = request.console.store
    error = ""
    try:
        event_filter = selectors.ActivityFilter.from_query(
            {"status": request.GET.get("event_status"), "scope": request.GET.get("scope"),
             "q": request.GET.get("q"), "days": request.GET.get("days")}, for_events=True)
        delivery_filter = selectors.ActivityFilter.from_query(
            {"status": request.GET.get("status"), "kind": request.GET.get("kind"), "q": request.GET.get("q"),
             "days": request.GET.get("days")}, for_events=False)
    except selectors.InvalidFilter as exc:
        error = str(exc)
        event_filter = delivery_filter = selectors.ActivityFilter()
    days = selectors.daily_counts(store, delivery_filter.days)
    context = {
        "console": request.console, "filter_error": error,
        "flt": delivery_filter, "event_status": event_filter.status, "scope": event_filter.kind,
        "events": [presenters.event_row(e) for e in selectors.events_list(store, event_filter)],
        "deliveries": [presenters.delivery_row(d) for d in selectors.deliveries_list(store, delivery_filter)],
        "days": days, "chart": selectors.chart(days),
        "kinds": Delivery.Kind.choices, "delivery_statuses": Delivery.Status.choices,
        "event_statuses": InboundEvent.Status.choices,
        "failed": selectors.failed_counts(store, kind=delivery_filter.kind),
        "flash": request.GET.get("flash", ""),
    }
    status = 400 if error else 200
    return render(request, "ordergroove/activity.html", context, status=status)


@require_GET
@console_view
def delivery_page(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = selectors.delivery_get(request.console.store, delivery_id)
    if delivery is None:
        return render(request, "console/problem.html", {"console": request.console, "title": "Not found",
                                                         "reason": "No such delivery for this store."}, status=404)
    return render(request, "ordergroove/activity_delivery.html",
                  {"console": request.console, "d": presenters.delivery_detail(delivery)})


def _back(request: HttpRequest, flash: str) -> HttpResponseRedirect:
    return HttpResponseRedirect("/console/activity/?" + urlencode({"t": request.console.token, "flash": flash}))


@require_POST
@console_view
def event_replay(request: HttpRequest, event_id: int) -> HttpResponse:
    event = selectors.event_get(request.console.store, event_id)
    if event is None:
        return _back(request, "That event does not exist.")
    inbound_event_replay(event)
    return _back(request, f"Event {event.pk} ({event.scope} #{event.resource_id}) will be processed again.")


@require_POST
@console_view
def delivery_replay_view(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = selectors.delivery_get(request.console.store, delivery_id)
    if delivery is None:
        return _back(request, "That delivery does not exist.")
    try:
        delivery_replay(delivery)
    except ValueError as exc:
        return _back(request, str(exc))
    return _back(request, f"Delivery {delivery.pk} ({delivery.get_kind_display()}) will be sent again.")


@require_POST
@console_view
def deliveries_replay_failed_view(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    if kind and kind not in Delivery.Kind.values:
        return _back(request, f"Unknown kind of call: {kind!r}.")
    replayed, left = deliveries_replay_failed(request.console.store, kind=kind or None)
    label = f"{Delivery.Kind(kind).label} calls" if kind else "Ordergroove calls"
    return _back(request, f"{replayed} failed {label} will be sent again"
                          + (f"; {left} still failed: replay again for the rest." if left else "."))


@require_POST
@console_view
def events_replay_failed_view(request: HttpRequest) -> HttpResponse:
    replayed, left = inbound_events_replay_failed(request.console.store)
    return _back(request, f"{replayed} failed webhooks will be processed again"
                          + (f"; {left} still failed: replay again for the rest." if left else "."))
