"""The Import/Export tab (`/console/products/`): start an export and watch its progress bar (JavaScript polls
the JSON API with the console token header), download the CSV, upload a corrected file, see every row error,
compare and roll back imports. Forms carry the console token in a hidden `t` field (no cookies in the iframe)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from bigcommerce_app.console.auth import console_view
from bigcommerce_app.console.products.api import max_upload_bytes, too_large_message
from feeds.products import imports, selectors
from middleware.plumbing.inputs import optional_int


def _back(token: str, **params) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"/console/products/?{urlencode({'t': token, **params})}")


@require_GET
@console_view
def products_page(request: HttpRequest) -> HttpResponse:
    store = request.console.store
    shown = None
    import_id = optional_int(request.GET.get("import"), minimum=1)
    if import_id is not None:
        shown = selectors.import_get(store, import_id)
    exports = selectors.exports_recent(store)
    imports = selectors.imports_recent(store)
    context = {
        "console": request.console, "exports": exports,
        "latest_export": exports[0] if exports else None,
        "imports": imports, "shown": shown,
        "stalled_ids": {r.pk for r in imports if selectors.import_is_stalled(r)},
        "shown_changes": selectors.import_changes(shown, limit=100) if shown else [],
        "shown_stalled": bool(shown) and selectors.import_is_stalled(shown),
        "latest_applied_id": selectors.latest_applied_import_id(store),
        "message": request.GET.get("message", ""), "problem": request.GET.get("problem", ""),
    }
    return render(request, "feeds/products.html", context)


@require_POST
@console_view
def import_upload(request: HttpRequest) -> HttpResponse:
    console = request.console
    upload = request.FILES.get("file")
    if upload is None:
        return _back(console.token, problem="Choose the CSV file to import first.")
    if upload.size > max_upload_bytes():
        return _back(console.token, problem=too_large_message())
    record = imports.product_settings_import(console.store, data=upload.read(), file_name=upload.name,
                                              uploaded_by=console.user.email)
    return _back(console.token, **{"import": record.pk})


@require_POST
@console_view
def import_rollback(request: HttpRequest, import_id: int) -> HttpResponse:
    console = request.console
    try:
        record = imports.product_settings_rollback(console.store, import_id, actor=console.user.email)
    except imports.ProductSettingsError as exc:
        return _back(console.token, problem=str(exc))
    return _back(console.token, message=f"Import #{record.pk} was rolled back: the previous settings are back.",
                 **{"import": record.pk})
