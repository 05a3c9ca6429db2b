"""The storefront script file (public, cacheable). The console's Storefront tab that switches it lives in
`bigcommerce_app.console.storefront`."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from ordergroove.storefront_script.asset import script_asset

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
