"""The storefront script file (public, cacheable) and the console's Storefront tab. Thin: the services write."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from bigcommerce_app.console.auth import console_view
from ordergroove.models import StorefrontSettings
from ordergroove.store_settings.selectors import storefront_settings_get
from ordergroove.storefront_script import services
from ordergroove.storefront_script.asset import script_asset
from ordergroove.storefront_script.selectors import storefront_status

IMMUTABLE = "public, max-age=31536000, immutable"
# A tag still naming an older version (before the next reconcile) gets today's script, cached only briefly.
STALE_VERSION = "public, max-age=300"


@require_GET
def script_file(request: HttpRequest, version: str) -> HttpResponse:
    asset = script_asset()
    etag = f'"{asset.version}"'
    cache_control = IMMUTABLE if version == asset.version else STALE_VERSION
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    elif "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(asset.gzipped, content_type="application/javascript; charset=utf-8")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(asset.content, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = cache_control
    response["ETag"] = etag
    response["Access-Control-Allow-Origin"] = "*"  # a public file; lets a store use integrity/crossorigin
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


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
