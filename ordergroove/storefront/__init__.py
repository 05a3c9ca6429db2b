"""Storefront endpoints called by the Stencil theme's JavaScript (DECISIONS §2): the og_auth signature and the
subscriber status, authenticated by BigCommerce's Current Customer JWT, with per-store CORS and rate limits."""
