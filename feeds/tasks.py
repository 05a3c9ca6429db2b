"""Celery tasks of this app (thin: each calls a service). Feature modules' tasks are imported here so that
the worker's autodiscovery registers them."""
