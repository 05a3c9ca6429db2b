"""The BigCommerce client: the only module that builds BigCommerce URLs.

It owns the OAuth token exchange, the `X-Auth-Token` header, timeouts, rate limits (`X-Rate-Limit-*`),
V2's empty `204` lists, V3 pagination; failures map to the typed errors of `client_errors` (bigcommerce.md §4–§5),
which callers import from here. A vendor client: it imports only the shared plumbing and its errors module, never
the store layer above it (what a refused token does to a store is passed in, see `on_store_unauthorized`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from django.conf import settings

from bigcommerce_app.client_errors import BigCommerceError, BigCommerceNotFound, error_for, rate_limit_reset_seconds
from bigcommerce_app.client_errors import BigCommerceRateLimited as BigCommerceRateLimited  # re-exported
from bigcommerce_app.client_errors import BigCommerceUnauthorized as BigCommerceUnauthorized  # re-exported
from middleware.plumbing.http import send

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 250
MAX_RATE_LIMIT_WAITS = 5


# --- OAuth (login host) --------------------------------------------------------------------------------

def exchange_code(*, code: str, scope: str, context: str) -> dict[str, Any]:
    """Exchange the auth callback's `code` for a permanent access token (bigcommerce.md §1.3)."""
    url = f"{settings.BIGCOMMERCE_LOGIN_URL}/oauth2/token"
    body = {
        "client_id": settings.BIGCOMMERCE_CLIENT_ID,
        "client_secret": settings.BIGCOMMERCE_CLIENT_SECRET,
        "code": code,
        "context": context,
        "scope": scope,
        "grant_type": "authorization_code",
        "redirect_uri": f"{settings.APP_URL}/bigcommerce/auth",
    }
    response, _ = send("POST", url, timeout=settings.BIGCOMMERCE_TIMEOUT, error_class=BigCommerceError,
                       json=body, headers={"Accept": "application/json"})
    if response.status_code not in (200, 201):
        raise error_for(response, "Token exchange failed")
    data = response.json()
    if not data.get("access_token") or not str(data.get("context", "")).startswith("stores/"):
        raise BigCommerceError("Token exchange answered without an access token", status=response.status_code)
    return data


# --- Store API ---------------------------------------------------------------------------------------------

class BigCommerceClient:
    """Calls for one store. `on_unauthorized` runs when BigCommerce refuses the stored token."""

    def __init__(self, store_hash: str, access_token: str, *,
                 on_unauthorized: Callable[[], None] | None = None,
                 max_inline_wait: float | None = None):
        self.store_hash = store_hash
        self._token = access_token
        self._on_unauthorized = on_unauthorized
        self.max_inline_wait = (settings.BIGCOMMERCE_MAX_INLINE_WAIT if max_inline_wait is None
                                else max_inline_wait)
        self.requests_made = 0
        self.rate_limit_waits = 0

    def for_worker_thread(self) -> BigCommerceClient:
        """This client for a helper thread: same store, token and rate-limit waits, but a 401 only raises. The
        thread that owns the work calls report_unauthorized() when the error reaches it, so that the hook's
        database writes stay on that thread's connection."""
        return BigCommerceClient(self.store_hash, self._token, max_inline_wait=self.max_inline_wait)

    def report_unauthorized(self) -> None:
        """Run the 401 hook for a 401 met by a for_worker_thread() copy."""
        if self._on_unauthorized:
            self._on_unauthorized()

    # URLs ------------------------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        """`path` is relative to the store, starting with /v2/ or /v3/."""
        return f"{settings.BIGCOMMERCE_API_URL}/stores/{quote(self.store_hash)}{path}"

    def payments_url(self) -> str:
        return f"{settings.BIGCOMMERCE_PAYMENTS_URL}/stores/{quote(self.store_hash)}/payments"

    # Core request ----------------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: dict | None = None, json_body: Any = None,
                url: str | None = None, headers: dict | None = None, expected: tuple[int, ...] = (200, 201, 204)):
        """One call, waiting out short rate-limit resets; longer ones raise BigCommerceRateLimited so the
        caller's task can come back later instead of sleeping in a worker (DECISIONS §3.13)."""
        all_headers = {"Accept": "application/json"}
        if not (headers and "Authorization" in headers):  # the payments host takes a PAT instead
            all_headers["X-Auth-Token"] = self._token
        if json_body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        target = url or self.url(path)
        for _attempt in range(MAX_RATE_LIMIT_WAITS + 1):
            response, _timing = send(method, target, timeout=settings.BIGCOMMERCE_TIMEOUT,
                                     error_class=BigCommerceError, params=params,
                                     data=None if json_body is None else json.dumps(json_body),
                                     headers=all_headers)
            self.requests_made += 1
            if response.status_code == 429:
                wait = rate_limit_reset_seconds(response.headers)
                if wait <= self.max_inline_wait and _attempt < MAX_RATE_LIMIT_WAITS:
                    self.rate_limit_waits += 1
                    logger.info("BigCommerce rate limit for %s: waiting %.2fs", self.store_hash, wait)
                    time.sleep(wait)
                    continue
                raise error_for(response, f"{method} {path} rate limited")
            self._pace(response.headers)
            if response.status_code == 401 and self._on_unauthorized:
                self._on_unauthorized()
            if response.status_code not in expected:
                raise error_for(response, f"{method} {path} failed")
            return response
        raise BigCommerceError(f"{method} {path} still rate limited")  # pragma: no cover - loop returns

    def _pace(self, headers) -> None:
        """Proactive throttle: with the quota exhausted, wait for the window to reset before the next call."""
        left = headers.get("X-Rate-Limit-Requests-Left")
        if left is None:
            return
        try:
            if int(left) <= 0:
                wait = rate_limit_reset_seconds(headers)
                if wait <= self.max_inline_wait:
                    self.rate_limit_waits += 1
                    time.sleep(wait)
        except ValueError:
            return

    def get_json(self, path: str, params: dict | None = None) -> Any:
        response = self.request("GET", path, params=params)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def post_json(self, path: str, body: Any) -> Any:
        response = self.request("POST", path, json_body=body)
        return response.json() if response.content else None

    def put_json(self, path: str, body: Any) -> Any:
        response = self.request("PUT", path, json_body=body)
        return response.json() if response.content else None

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    # Pagination ------------------------------------------------------------------------------------------
    def v2_list(self, path: str, params: dict | None = None, *, limit: int = MAX_PAGE_SIZE) -> Iterator[dict]:
        """V2 lists: page until an empty `204` or a short page."""
        page = 1
        while True:
            data = self.get_json(path, {**(params or {}), "page": page, "limit": limit})
            if not data:
                return
            yield from data
            if len(data) < limit:
                return
            page += 1

    def v3_pages(self, path: str, params: dict | None = None, *, limit: int = MAX_PAGE_SIZE) -> Iterator[dict]:
        """V3 lists page by page (`{"data": [...], "meta": {"pagination": ...}}`)."""
        page = 1
        while True:
            body = self.get_json(path, {**(params or {}), "page": page, "limit": limit}) or {}
            yield body
            pagination = (body.get("meta") or {}).get("pagination") or {}
            total_pages = pagination.get("total_pages")
            if not body.get("data") or total_pages is None or page >= int(total_pages):
                return
            page += 1

    def v3_list(self, path: str, params: dict | None = None, *, limit: int = MAX_PAGE_SIZE) -> Iterator[dict]:
        for body in self.v3_pages(path, params, limit=limit):
            yield from body.get("data") or []

    # Resources used across the service ----------------------------------------------------------------
    def store_information(self) -> dict:
        return self.get_json("/v2/store") or {}

    def hooks(self) -> list[dict]:
        return list(self.v3_list("/v3/hooks"))

    def hook_create(self, *, scope: str, destination: str, headers: dict[str, str]) -> dict:
        body = {"scope": scope, "destination": destination, "is_active": True, "headers": headers}
        return (self.post_json("/v3/hooks", body) or {}).get("data", {})

    def hook_update(self, hook_id: int, **fields) -> dict:
        return (self.put_json(f"/v3/hooks/{int(hook_id)}", fields) or {}).get("data", {})

    def channel_sites(self) -> list[dict]:
        """Every storefront channel's site (for CORS origins)."""
        sites = []
        for channel in self.v3_list("/v3/channels", {"type:in": "storefront"}):
            try:
                site = (self.get_json(f"/v3/channels/{int(channel['id'])}/site") or {}).get("data")
            except BigCommerceNotFound:
                continue
            if site:
                sites.append(site)
        return sites

    # Orders (V2) -----------------------------------------------------------------------------------------
    def order(self, order_id: int) -> dict:
        return self.get_json(f"/v2/orders/{int(order_id)}") or {}

    def order_products(self, order_id: int) -> list[dict]:
        return list(self.v2_list(f"/v2/orders/{int(order_id)}/products"))

    def order_shipping_addresses(self, order_id: int) -> list[dict]:
        return list(self.v2_list(f"/v2/orders/{int(order_id)}/shipping_addresses"))

    def orders_find(self, **filters) -> list[dict]:
        return list(self.v2_list("/v2/orders", filters))

    def order_create(self, body: dict) -> dict:
        return self.post_json("/v2/orders", body) or {}

    def order_update(self, order_id: int, body: dict) -> dict:
        return self.put_json(f"/v2/orders/{int(order_id)}", body) or {}

    # Customers (V3) and stored instruments -----------------------------------------------------------------
    def customer(self, customer_id: int) -> dict | None:
        data = (self.get_json("/v3/customers", {"id:in": int(customer_id), "include": "addresses"}) or {})
        rows = data.get("data") or []
        return rows[0] if rows else None

    def stored_instruments(self, customer_id: int) -> list[dict]:
        return self.get_json(f"/v3/customers/{int(customer_id)}/stored-instruments") or []

    # Catalog (V3) -----------------------------------------------------------------------------------------
    def products(self, *, include: str = "", params: dict | None = None,
                 limit: int = MAX_PAGE_SIZE) -> Iterator[dict]:
        query = dict(params or {})
        if include:
            query["include"] = include
        return self.v3_list("/v3/catalog/products", query, limit=limit)

    def product_modifiers(self, product_id: int) -> list[dict]:
        return list(self.v3_list(f"/v3/catalog/products/{int(product_id)}/modifiers"))

    def category_trees(self) -> list[dict]:
        return list(self.v3_list("/v3/catalog/trees"))

    def tree_categories(self, tree_id: int) -> list[dict]:
        return (self.get_json(f"/v3/catalog/trees/{int(tree_id)}/categories") or {}).get("data") or []

    # Payments ---------------------------------------------------------------------------------------------
    def payment_methods(self, order_id: int) -> list[dict]:
        return (self.get_json("/v3/payments/methods", {"order_id": int(order_id)}) or {}).get("data") or []

    def payment_access_token(self, order_id: int, *, is_recurring: bool = True) -> str:
        body = {"order": {"id": int(order_id), "is_recurring": is_recurring}}
        return ((self.post_json("/v3/payments/access_tokens", body) or {}).get("data") or {}).get("id", "")

    def payment_process(self, pat: str, payment: dict) -> dict:
        """Charge through the payments host with a payment access token (bigcommerce.md §4.6)."""
        response = self.request(
            "POST", "/payments", url=self.payments_url(), json_body={"payment": payment},
            headers={"Authorization": f"PAT {pat}", "Accept": "application/vnd.bc.v1+json"},
        )
        return response.json() if response.content else {}

    # Coupons (V2) -----------------------------------------------------------------------------------------
    def coupons_find(self, **filters) -> list[dict]:
        return list(self.v2_list("/v2/coupons", filters))

    def coupon_delete(self, coupon_id: int) -> None:
        self.delete(f"/v2/coupons/{int(coupon_id)}")

    # Catalog pages for the product CSV (issue 5) --------------------------------------------------------
    def products_page(self, page: int, *, include: str = "", limit: int = MAX_PAGE_SIZE,
                      params: dict | None = None) -> dict:
        """One V3 catalog page as BigCommerce answers it (`data` + `meta.pagination`), so a long walk can
        checkpoint between pages. With `include=modifiers` BigCommerce caps the page at 10 (§4.3)."""
        query = {**(params or {}), "page": int(page), "limit": int(limit)}
        if include:
            query["include"] = include
        return self.get_json("/v3/catalog/products", query) or {}

    def products_by_ids(self, product_ids: list[int], *, include: str = "") -> list[dict]:
        """The given products (`id:in`), every page."""
        if not product_ids:
            return []
        params = {"id:in": ",".join(str(int(pid)) for pid in product_ids)}
        return list(self.products(include=include, params=params))

    # Variants by SKU for recurring-order placement (issue 7) -------------------------------------------------
    def variants_find(self, **filters) -> list[dict]:
        """Catalog variants matching `filters` (e.g. `sku`, `product_id:in`), every page."""
        return list(self.v3_list("/v3/catalog/variants", filters))

    # Order transactions (V3) for the purchase post's payment (issue 4) ---------------------------------------
    def order_transactions(self, order_id: int) -> list[dict]:
        """The order's payment transactions (Orders V3 Get Transactions). A vaulted instrument's
        `payment_instrument_token` equals its stored-instrument `token` (bigcommerce.md §4.5). An order without
        transactions (paid offline, not paid yet) may come back as an empty `data` or an empty 204: both are []."""
        return (self.get_json(f"/v3/orders/{int(order_id)}/transactions") or {}).get("data") or []


    # Scripts and Pages (storefront content, issue 13; scope store_v2_content, checkout scripts also
    # store_content_checkout) ----------------------------------------------------------------------------------
    def scripts(self) -> list[dict]:
        """The scripts this app's API account created on the store (`/v3/content/scripts`)."""
        return list(self.v3_list("/v3/content/scripts"))

    def script_create(self, body: dict) -> dict:
        return (self.post_json("/v3/content/scripts", body) or {}).get("data") or {}

    def script_update(self, script_uuid: str, body: dict) -> dict:
        return (self.put_json(f"/v3/content/scripts/{quote(str(script_uuid), safe='')}", body) or {}).get("data") or {}

    def script_delete(self, script_uuid: str) -> None:
        self.delete(f"/v3/content/scripts/{quote(str(script_uuid), safe='')}")

    def pages(self) -> list[dict]:
        return list(self.v3_list("/v3/content/pages"))

    def page_create(self, body: dict) -> dict:
        """Pages V3 creates one or more pages; we send one and read it back from `data` (a list or an object)."""
        data = (self.post_json("/v3/content/pages", body) or {}).get("data")
        if isinstance(data, list):
            return data[0] if data else {}
        return data or {}

    def page_update(self, page_id: int, body: dict) -> dict:
        data = (self.put_json(f"/v3/content/pages/{int(page_id)}", body) or {}).get("data")
        return (data[0] if data else {}) if isinstance(data, list) else (data or {})

    def page_delete(self, page_id: int) -> None:
        self.delete(f"/v3/content/pages/{int(page_id)}")


# What a refused token does to its store (it needs re-authorization) is the store layer's business, above this
# client: BigcommerceAppConfig.ready() passes in bigcommerce_app.services.store_mark_needs_reauth.
_store_unauthorized: Callable[[Any], None] | None = None


def on_store_unauthorized(handler: Callable[[Any], None]) -> None:
    """Set what a client_for_store() client calls with its store when BigCommerce answers 401 (once, at start-up)."""
    global _store_unauthorized
    _store_unauthorized = handler


def client_for_store(store) -> BigCommerceClient:
    """A client for a Store row; a 401 marks the store as needing re-authorization (bigcommerce.md §8.8)."""

    def unauthorized() -> None:
        if _store_unauthorized is not None:
            _store_unauthorized(store)

    return BigCommerceClient(store.store_hash, store.access_token, on_unauthorized=unauthorized)
