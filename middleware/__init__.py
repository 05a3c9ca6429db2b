"""The project wiring, the top layer: settings, URLs, the Celery app and its service-level tasks, health and metrics
endpoints, the WSGI entry point and the management commands (`run`, `rotate_field_keys`), with the sandbox's child
process (`sandbox.py`). `plumbing/` below is the shared plumbing at the bottom and is documented there.

May import: every app (bigcommerce_app, ordergroove, feeds) and the plumbing. Never: tests/ (the sandbox's fakes
are started as a process by module name). Nothing imports the wiring but Django, Celery and gunicorn (the plumbing
and the apps never do).

Importing the package loads the Celery app, so that `@shared_task` binds to it in every process (Celery's Django
layout).
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
