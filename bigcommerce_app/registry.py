"""Which BigCommerce webhook scopes the service subscribes to, and who handles each.

bigcommerce_app never imports the apps that act on events: they register their handlers here when Django
starts (their AppConfig.ready), and the inbox dispatches by scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Hooks every installed store needs (issue 2); other apps may add more through `register`.
BASE_SCOPES = (
    "store/order/created",
    "store/customer/updated",
    "store/customer/payment/instrument/default/updated",
)


@dataclass(frozen=True)
class Registration:
    scope: str
    handler: Callable[[Any], None] | None
    enabled_for: Callable[[Any], bool]


_registry: dict[str, Registration] = {}


def register(scope: str, handler: Callable[[Any], None] | None = None, *,
             enabled_for: Callable[[Any], bool] | None = None) -> None:
    """Subscribe stores to `scope` (optionally only those for which `enabled_for(store)` is true) and
    route its events to `handler(event)`."""
    _registry[scope] = Registration(scope, handler, enabled_for or (lambda store: True))


def handler_for(scope: str) -> Callable[[Any], None] | None:
    registration = _registry.get(scope)
    return registration.handler if registration else None


def scopes_for(store) -> list[str]:
    scopes = set(BASE_SCOPES)
    scopes.update(r.scope for r in _registry.values() if r.enabled_for(store))
    return sorted(scopes)


# --- Storefront content (Scripts API and Pages API, issue 13) ------------------------------------------------

_storefront_provider: Callable[[Any], Any] | None = None


def register_storefront_content(provider: Callable[[Any], Any]) -> None:
    """`provider(store)` answers a bigcommerce_app.storefront_content.StorefrontContent: which scripts and pages
    the store should hold at BigCommerce, and every name the provider owns (so ones no longer wanted go)."""
    global _storefront_provider
    _storefront_provider = provider


def storefront_content_for(store) -> Any | None:
    return _storefront_provider(store) if _storefront_provider else None


# --- Store set-up at install (each settings owner creates its own rows) ---------------------------------------

_store_setups: dict[str, Callable[[Any], None]] = {}


def register_store_setup(name: str, setup: Callable[[Any], None]) -> None:
    """`setup(store)` runs inside the install's transaction, e.g. a settings owner creating the store's row, so
    that every installed store has its settings rows and the rest of the code never checks for them."""
    _store_setups[name] = setup


def store_setup(store) -> None:
    for setup in _store_setups.values():
        setup(store)
