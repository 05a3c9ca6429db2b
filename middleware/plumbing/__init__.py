"""Shared plumbing, the bottom layer: HTTP sessions and outbound-address checks, encrypted fields, strict input
parsers, group commit, durable jobs and their enqueueing, log redaction, security middleware, admission control, the
broker transport, the process supervisor and SVG charts.

May import: Django, the standard library and third-party packages. Never: bigcommerce_app, ordergroove, feeds or
the project wiring (middleware.settings, middleware.urls, ...); tests/test_structure.py enforces it.
"""
