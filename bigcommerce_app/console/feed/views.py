"""The Product feed tab (`/console/feeds/`): schedule state, runs with progress (JavaScript polls the JSON API
with the console token header), "Run now", and the SFTP host key: its fingerprint, a scan of what the server
presents, and pinning it. Forms carry the console token in a hidden `t` field (no cookies in the iframe)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from bigcommerce_app.console.auth import console_view
from feeds import cron, sftp
from feeds.feed import host_keys, selectors, services
from feeds.models import FeedRun


def _back(token: str, **params) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"/console/feeds/?{urlencode({'t': token, **params})}")


@require_GET
@console_view
def feeds_page(request: HttpRequest) -> HttpResponse:
    store = request.console.store
    fs = selectors.feed_settings_for(store)
    fields = {name: getattr(fs, name) for name in cron.FIELDS}
    runs = selectors.runs_recent(store)
    identity = selectors.feed_identity(store)
    context = {
        "console": request.console, "runs": runs, "runs_chart": selectors.runs_chart(store),
        "active": selectors.run_active(store),
        "schedule": selectors.schedule_status(store), "schedule_words": cron.describe(fields, time_zone=fs.time_zone),
        "feed_settings": fs, "identity": identity,
        "host_key": host_keys.host_key_view(fs, scan=request.GET.get("scan") == "1"),
        "message": request.GET.get("message", ""), "problem": request.GET.get("problem", ""),
    }
    return render(request, "feeds/feed.html", context)


@require_POST
@console_view
def run_now(request: HttpRequest) -> HttpResponse:
    console = request.console
    try:
        run = services.feed_run_request(console.store, trigger=FeedRun.Trigger.MANUAL,
                                        requested_by=console.user.email)
    except services.FeedRunRefused as exc:
        return _back(console.token, problem=str(exc))
    services.feed_run_enqueue(run)
    return _back(console.token, message=f"Feed run {run.pk} queued.")


@require_POST
@console_view
def host_key_pin(request: HttpRequest) -> HttpResponse:
    console = request.console
    fs = selectors.feed_settings_for(console.store)
    try:
        view = host_keys.host_key_pin(fs, fingerprint=request.POST.get("fingerprint", ""), actor=console.user.email)
    except sftp.SftpError as exc:
        return _back(console.token, problem=str(exc))
    return _back(console.token, message=f"Host key {view.pinned_fingerprint} pinned.")
