"""Building the two feed files of a run: the product feed and the categories feed with its product links.

The category trees are read first, then the catalog page by page, each page written to both files before the
next is taken (two local files: memory stays flat whatever the catalog size, and an upload retry does not
re-read the catalog). The pages are fetched ahead by a thread of their own. Nothing here touches the run's row:
the caller (feeds.feed.services) reports progress through the callbacks.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from bigcommerce_app.client import MAX_PAGE_SIZE, BigCommerceClient, BigCommerceUnauthorized
from bigcommerce_app.models import Store
from feeds.feed import categories as cat_xml
from feeds.feed import xml_feed as xf
from feeds.feed.selectors import FeedIdentity
from feeds.models import FeedRun, ProductSubscriptionSetting

PRODUCT_INCLUDE = "variants,primary_image"
MAX_WARNINGS = 50


@dataclass
class FeedBuild:
    products_path: Path
    categories_path: Path
    catalog_read: int = 0
    products: int = 0
    categories: int = 0
    bytes: int = 0
    categories_bytes: int = 0
    warnings: list[str] = field(default_factory=list)


def storefront_url(client: BigCommerceClient) -> str:
    info = client.store_information()
    url = info.get("secure_url") or (f"https://{info['domain']}" if info.get("domain") else "")
    return str(url).rstrip("/")


def feed_build(store: Store, client: BigCommerceClient, directory: Path, identity: FeedIdentity, *,
               on_page: Callable[[FeedBuild, int | None], None] | None = None,
               on_phase: Callable[[str], None] | None = None, page_size: int = MAX_PAGE_SIZE) -> FeedBuild:
    """Write both feeds into `directory`, streaming the catalog one page at a time. The pages are fetched on a
    thread of their own (_CatalogPages), so writing one page overlaps fetching the next ones, and the first
    page is already on its way while the store's URL and category trees are read."""
    build = FeedBuild(products_path=directory / identity.products_file,
                      categories_path=directory / identity.categories_file)
    with _CatalogPages(client, page_size) as pages:
        base_url = storefront_url(client)
        ctx = xf.FeedContext(storefront_url=base_url, incentive_group=identity.incentive_group)
        if on_phase:
            on_phase(FeedRun.Phase.CATEGORIES)
        with build.products_path.open("wb") as products_out, build.categories_path.open("wb") as categories_out:
            def out(data: str) -> None:
                encoded = data.encode("utf-8")
                products_out.write(encoded)
                build.bytes += len(encoded)

            def cat_out(data: str) -> None:
                encoded = data.encode("utf-8")
                categories_out.write(encoded)
                build.categories_bytes += len(encoded)

            known = _categories_write(client, base_url, build, cat_out)
            if on_phase:
                on_phase(FeedRun.Phase.CATALOG)
            out(xf.products_open())
            for body in pages:
                _page_write(store, body, ctx, known, build, out, cat_out)
                total = ((body.get("meta") or {}).get("pagination") or {}).get("total")
                if on_page:
                    on_page(build, int(total) if total is not None else None)
            out(xf.products_close())
            cat_out(cat_xml.categories_close())
    return build


def _categories_write(client: BigCommerceClient, base_url: str, build: FeedBuild,
                      cat_out: Callable[[str], None]) -> set[int]:
    """The categories feed's category list, every tree's categories once; returns their ids (the product links
    that follow name only these)."""
    known: set[int] = set()
    cat_out(cat_xml.categories_open())
    for tree in client.category_trees():
        nodes = client.tree_categories(int(tree["id"]))
        for category in cat_xml.flatten_tree(int(tree["id"]), nodes, base_url):
            if category.category_id in known:
                continue
            known.add(category.category_id)
            cat_out(cat_xml.category_xml(category))
            build.categories += 1
    cat_out(cat_xml.links_open())
    return known


def _page_write(store: Store, body: dict, ctx: xf.FeedContext, known: set[int], build: FeedBuild,
                out: Callable[[str], None], cat_out: Callable[[str], None]) -> None:
    """One catalog page: its products' entries in the products feed, their category links in the other."""
    rows = body.get("data") or []
    product_settings = _settings_for(store, xf.product_ids_of(rows))
    products_xml, links_xml = [], []
    for product in rows:
        entry = xf.product_entries(product, product_settings.get(int(product["id"])), ctx)
        products_xml.append(entry.xml)
        build.products += entry.entries
        if entry.warnings and len(build.warnings) < MAX_WARNINGS:
            build.warnings.extend(entry.warnings[:MAX_WARNINGS - len(build.warnings)])
        links = cat_xml.product_links_xml(entry.og_product_ids, product.get("categories") or [], known)
        if links:
            links_xml.append(links)
    # One write per page and file: few system calls, so few GIL hand-overs with the page thread.
    out("".join(products_xml))
    cat_out("".join(links_xml))
    build.catalog_read += len(rows)


def _settings_for(store: Store, product_ids: list[int]) -> dict[int, xf.ProductSetting]:
    """The CSV rows of one page's products: one query, plain values. Written as SQL because this runs once per
    catalog page on the run's busy thread, and the ORM's query building and per-value converters cost more than
    the query itself. `frequencies` arrives as JSON text (Django has both SQLite and psycopg load jsonb as
    text); booleans as 0/1 on SQLite."""
    if not product_ids:
        return {}
    meta, quote = ProductSubscriptionSetting._meta, connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column)
                        for name in ("bc_product_id", "autoship_eligible", "discontinued", "frequencies"))
    # Identifiers from the model, every value a parameter.
    sql = (f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.get_field('store').column)} = %s "  # noqa: S608
           f"AND {quote(meta.get_field('bc_product_id').column)} IN ({', '.join(['%s'] * len(product_ids))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [store.pk, *(int(pid) for pid in product_ids)])
        rows = cursor.fetchall()
    return {int(pid): xf.ProductSetting.from_values(
                eligible, discontinued, json.loads(frequencies) if isinstance(frequencies, str) else frequencies)
            for pid, eligible, discontinued, frequencies in rows}


@dataclass
class _PageFailed:
    error: BaseException


class _CatalogPages:
    """The catalog's pages in order, fetched by a thread of their own ahead of the caller, so a feed run takes
    about max(paging, writing) instead of their sum.

    - At most `depth` fetched pages wait for the caller: memory stays flat whatever the catalog size.
    - The thread walks the pages like any catalog walk: one page request at a time, the same requests.
    - A page that fails is raised in the caller's thread in its place, after the pages before it have been
      handed over, as a one-thread walk would have met it; nothing after it is fetched. The thread touches no
      database: a 401's hook (the store needs re-authorization) runs in the caller's thread when the error
      reaches it.
    - Leaving the block early (the caller failed) stops the thread before returning.
    """

    _DONE = object()

    def __init__(self, client: BigCommerceClient, page_size: int, depth: int = 2):
        self._client = client
        self._page_size = page_size
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._walk, args=(client.for_worker_thread(),),
                                        name="feed-catalog-pages", daemon=True)

    def __enter__(self) -> _CatalogPages:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def __iter__(self) -> Iterator[dict]:
        while (item := self._queue.get()) is not self._DONE:
            if isinstance(item, _PageFailed):
                if isinstance(item.error, BigCommerceUnauthorized):
                    self._client.report_unauthorized()
                raise item.error
            yield item

    def _walk(self, client: BigCommerceClient) -> None:
        page = 1
        try:
            while True:
                body = client.products_page(page, include=PRODUCT_INCLUDE, limit=self._page_size)
                if not self._hand_over(body):
                    return
                rows = body.get("data") or []
                total_pages = ((body.get("meta") or {}).get("pagination") or {}).get("total_pages")
                if not rows or total_pages is None or page >= int(total_pages):
                    break
                page += 1
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            self._hand_over(_PageFailed(exc))
            return
        self._hand_over(self._DONE)

    def _hand_over(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False
