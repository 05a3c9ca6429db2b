"""The fake BigCommerce's Scripts API (`/v3/content/scripts`) and Pages API (`/v3/content/pages`), as the API
reference describes them: `store_v2_content` needed for both, `store_content_checkout` for scripts shown on
checkout pages (visibility `checkout` or `all_pages`), the enums and limits validated (422), scripts listed only
to the API account that created them."""

from __future__ import annotations

import time
import uuid

from tests.fakes.base import Request, Response

SCRIPT_ENUMS = {
    "kind": ("src", "script_tag"),
    "load_method": ("default", "async", "defer"),
    "location": ("head", "footer"),
    "visibility": ("storefront", "all_pages", "checkout", "order_confirmation"),
    "consent_category": ("essential", "functional", "analytics", "targeting", "unknown"),
}
SCRIPT_DEFAULTS = {"description": "", "kind": "src", "load_method": "default", "location": "footer",
                   "visibility": "storefront", "consent_category": "unknown", "auto_uninstall": False,
                   "enabled": True, "channel_id": 1, "html": "", "src": ""}
PAGE_TYPES = ("page", "raw", "contact_form", "feed", "link", "blog")
MAX_HTML = 65536


def _scope_error(fake, needed: str) -> Response:
    return fake.v3_error(403, f"You don't have a required scope to access the endpoint ({needed})")


def _has(store, scope: str) -> bool:
    return scope in (store.scope or "").split()


def _script_problems(body: dict, creating: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if creating and not str(body.get("name") or "").strip():
        errors["name"] = "name is required"
    for key, allowed in SCRIPT_ENUMS.items():
        if key in body and body[key] not in allowed:
            errors[key] = f"must be one of {', '.join(allowed)}"
    kind = body.get("kind", "src")
    if kind == "script_tag":
        html = str(body.get("html") or "")
        if not html or len(html) > MAX_HTML:
            errors["html"] = f"html is required for kind script_tag, at most {MAX_HTML} characters"
        elif html.lower().count("<script") != 1:
            errors["html"] = "html must contain exactly one script tag"
    elif creating and kind == "src" and not body.get("src"):
        errors["src"] = "src is required for kind src"
    return errors


def register_content_routes(fake, store_prefix: str) -> None:
    r, api = fake.route, fake.api
    r("GET", store_prefix + r"/v3/content/scripts", api(lambda req, st: h_scripts_list(fake, req, st)))
    r("POST", store_prefix + r"/v3/content/scripts", api(lambda req, st: h_script_write(fake, req, st, None)))
    r("GET", store_prefix + r"/v3/content/scripts/(?P<uuid>[0-9a-f-]+)",
      api(lambda req, st: h_script_get(fake, req, st)))
    r("PUT", store_prefix + r"/v3/content/scripts/(?P<uuid>[0-9a-f-]+)",
      api(lambda req, st: h_script_write(fake, req, st, req.params["uuid"])))
    r("DELETE", store_prefix + r"/v3/content/scripts/(?P<uuid>[0-9a-f-]+)",
      api(lambda req, st: h_script_delete(fake, req, st)))
    r("GET", store_prefix + r"/v3/content/pages", api(lambda req, st: h_pages_list(fake, req, st)))
    r("POST", store_prefix + r"/v3/content/pages", api(lambda req, st: h_pages_create(fake, req, st)))
    r("PUT", store_prefix + r"/v3/content/pages/(?P<id>\d+)", api(lambda req, st: h_page_update(fake, req, st)))
    r("DELETE", store_prefix + r"/v3/content/pages/(?P<id>\d+)", api(lambda req, st: h_page_delete(fake, req, st)))


# --- Scripts ------------------------------------------------------------------------------------------------

def h_scripts_list(fake, request: Request, store) -> Response:
    if not _has(store, "store_v2_content") and not _has(store, "store_v2_content_read_only"):
        return _scope_error(fake, "store_v2_content")
    mine = [s for s in store.scripts.values() if s["api_client_id"] == fake.client_id]
    return fake.paginate(request, mine)


def h_script_get(fake, request: Request, store) -> Response:
    script = store.scripts.get(request.params["uuid"])
    if not script or script["api_client_id"] != fake.client_id:
        return fake.v3_error(404, "Script not found")
    return Response.json({"data": script, "meta": {}})


def h_script_write(fake, request: Request, store, script_uuid: str | None) -> Response:
    if not _has(store, "store_v2_content"):
        return _scope_error(fake, "store_v2_content")
    body = request.json() or {}
    if not isinstance(body, dict):
        return fake.v3_error(422, "JSON data is missing or invalid")
    current = store.scripts.get(script_uuid) if script_uuid else None
    if script_uuid and (not current or current["api_client_id"] != fake.client_id):
        return fake.v3_error(404, "Script not found")
    merged = {**(current or SCRIPT_DEFAULTS), **body}
    errors = _script_problems(merged, creating=current is None)
    if errors:
        return fake.v3_error(422, "Input is invalid", errors)
    if merged["visibility"] in ("checkout", "all_pages") and not _has(store, "store_content_checkout"):
        return _scope_error(fake, "store_content_checkout")
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    script = {key: merged.get(key, default) for key, default in SCRIPT_DEFAULTS.items()}
    script.update(name=merged["name"], uuid=script_uuid or str(uuid.uuid4()), api_client_id=fake.client_id,
                  date_created=(current or {}).get("date_created", now), date_modified=now)
    with fake.lock:
        store.scripts[script["uuid"]] = script
    return Response.json({"data": script, "meta": {}})


def h_script_delete(fake, request: Request, store) -> Response:
    if not _has(store, "store_v2_content"):
        return _scope_error(fake, "store_v2_content")
    with fake.lock:
        script = store.scripts.get(request.params["uuid"])
        if not script or script["api_client_id"] != fake.client_id:
            return fake.v3_error(404, "Script not found")
        del store.scripts[request.params["uuid"]]
    return Response(204, b"", {})


# --- Pages ------------------------------------------------------------------------------------------------

def _page_problems(store, body: dict, page_id: int | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = str(body.get("name") or "")
    if not 1 <= len(name) <= 100:
        errors["name"] = "name is required, 1 to 100 characters"
    if body.get("type") not in PAGE_TYPES:
        errors["type"] = f"must be one of {', '.join(PAGE_TYPES)}"
    if body.get("type") == "raw" and not body.get("body"):
        errors["body"] = "body is required for type raw"
    for other in store.pages.values():
        if other["id"] != page_id and other["name"] == name:
            errors["name"] = "a page with this name already exists"
        if other["id"] != page_id and body.get("url") and other.get("url") == body.get("url"):
            errors["url"] = "a page with this url already exists"
    return errors


def h_pages_list(fake, request: Request, store) -> Response:
    if not _has(store, "store_v2_content") and not _has(store, "store_v2_content_read_only"):
        return _scope_error(fake, "store_v2_content")
    return fake.paginate(request, sorted(store.pages.values(), key=lambda p: p["id"]))


def h_pages_create(fake, request: Request, store) -> Response:
    if not _has(store, "store_v2_content"):
        return _scope_error(fake, "store_v2_content")
    body = request.json()
    items = body if isinstance(body, list) else [body]
    created = []
    with fake.lock:
        for item in items:
            if not isinstance(item, dict):
                return fake.v3_error(422, "JSON data is missing or invalid")
            errors = _page_problems(store, item, None)
            if errors:
                return fake.v3_error(422, "Input is invalid", errors)
            page = {"id": fake.next_id(), "channel_id": item.get("channel_id", 1), "name": item["name"],
                    "type": item["type"], "body": item.get("body") or "", "url": item.get("url") or "",
                    "is_visible": bool(item.get("is_visible", True)), "parent_id": item.get("parent_id", 0),
                    "sort_order": item.get("sort_order", 0), "is_homepage": False, "meta_title": None}
            store.pages[page["id"]] = page
            created.append(page)
    return Response.json({"data": created, "meta": {}}, 201)


def h_page_update(fake, request: Request, store) -> Response:
    if not _has(store, "store_v2_content"):
        return _scope_error(fake, "store_v2_content")
    with fake.lock:
        page = store.pages.get(int(request.params["id"]))
        if not page:
            return fake.v3_error(404, "Page not found")
        merged = {**page, **(request.json() or {})}
        errors = _page_problems(store, merged, page["id"])
        if errors:
            return fake.v3_error(422, "Input is invalid", errors)
        page.update({k: merged[k] for k in ("name", "type", "body", "url", "is_visible")})
    return Response.json({"data": page, "meta": {}})


def h_page_delete(fake, request: Request, store) -> Response:
    if not _has(store, "store_v2_content"):
        return _scope_error(fake, "store_v2_content")
    with fake.lock:
        if store.pages.pop(int(request.params["id"]), None) is None:
            return fake.v3_error(404, "Page not found")
    return Response(204, b"", {})
