"""The categories feed `<MERCHANT_ID>.Categories.xml`, uploaded next to the product feed.

Ordergroove publishes no schema for it (ordergroove.md §7.3 UNCONFIRMED), so this is our documented layout. It
follows the product feed's conventions (names in CDATA, optional elements left out when empty, ids as in the
product feed):

    <?xml version="1.0" encoding="UTF-8"?>
    <catalog_categories>
      <categories>
        <category>
          <category_id>23</category_id>
          <tree_id>1</tree_id>
          <parent_id>18</parent_id>                       <!-- omitted for top-level categories -->
          <name><![CDATA[Kitchen]]></name>
          <path><![CDATA[Shop All > Kitchen]]></path>     <!-- names from the tree's root, " > " between -->
          <details_url>https://shop.example.com/shop-all/kitchen/</details_url>   <!-- omitted when unknown -->
          <is_visible>1</is_visible>
        </category>
      </categories>
      <product_categories>
        <product>                                         <!-- one per feed product (variant) in a category -->
          <product_id>77_78</product_id>                  <!-- the product feed's product_id -->
          <category_id>23</category_id>                   <!-- one or more -->
        </product>
      </product_categories>
    </catalog_categories>

Categories come from the category trees (`/v3/catalog/trees`, every storefront's tree); product links only
name categories present in the trees. The links are written while the product feed streams, so memory does
not grow with the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from feeds.feed.xml_feed import XML_HEADER, cdata, clean, text


@dataclass
class Category:
    category_id: int
    tree_id: int
    parent_id: int | None
    name: str
    path: str
    url: str
    is_visible: bool


def _node_url(node: dict) -> str:
    url = node.get("url")
    if isinstance(url, dict):
        url = url.get("path") or url.get("url")
    return str(url or "")


def flatten_tree(tree_id: int, nodes: Iterable[dict], storefront_url: str,
                 parents: tuple[str, ...] = ()) -> Iterator[Category]:
    """Depth-first over the nested CategoryNode list BigCommerce answers for one tree."""
    for node in nodes or []:
        name = clean(node.get("name")).strip()
        path = (*parents, name)
        url = _node_url(node)
        if url and not url.startswith(("http://", "https://")):
            url = storefront_url.rstrip("/") + "/" + url.lstrip("/")
        parent = node.get("parent_id")
        yield Category(category_id=int(node["id"]), tree_id=int(tree_id),
                       parent_id=int(parent) if parent else None, name=name, path=" > ".join(path), url=url,
                       is_visible=bool(node.get("is_visible", True)))
        yield from flatten_tree(tree_id, node.get("children") or [], storefront_url, path)


def category_xml(category: Category) -> str:
    parts = ["<category>", f"<category_id>{category.category_id}</category_id>",
             f"<tree_id>{category.tree_id}</tree_id>"]
    if category.parent_id:
        parts.append(f"<parent_id>{category.parent_id}</parent_id>")
    parts.append(f"<name>{cdata(category.name)}</name>")
    parts.append(f"<path>{cdata(category.path)}</path>")
    if category.url and len(category.url) <= 400:
        parts.append(f"<details_url>{text(category.url)}</details_url>")
    parts.append(f"<is_visible>{int(category.is_visible)}</is_visible>")
    parts.append("</category>\n")
    return "".join(parts)


def categories_open() -> str:
    return XML_HEADER + "<catalog_categories>\n<categories>\n"


def links_open() -> str:
    return "</categories>\n<product_categories>\n"


def product_links_xml(og_product_ids: Iterable[str], category_ids: Iterable[int], known: set[int]) -> str:
    wanted = [int(c) for c in category_ids or [] if int(c) in known]
    if not wanted:
        return ""
    tail = "</product_id>" + "".join(f"<category_id>{c}</category_id>" for c in wanted) + "</product>\n"
    joined = "".join(og_product_ids)
    plain = text(joined) == joined  # one check for all ids (they are digits and "_"), not one text() call per id
    return "".join(f"<product><product_id>{pid if plain else text(pid)}{tail}" for pid in og_product_ids)


def categories_close() -> str:
    return "</product_categories>\n</catalog_categories>\n"
