"""What the storefront endpoints produce: the og_auth signature for the verified customer."""

from __future__ import annotations

from ordergroove import signatures
from ordergroove.models import OrdergrooveSettings


def storefront_signature_issue(og_settings: OrdergrooveSettings, customer_id: int | str, ts: int) -> bytes:
    """The URL-encoded signature (ASCII bytes) the theme decodes and puts into the og_auth cookie (DECISIONS
    §2/§3.1). `customer_id` must come from the verified customer token, never from the request."""
    return signatures.signature_url_encoded_bytes(customer_id, ts, og_settings.hash_key)
