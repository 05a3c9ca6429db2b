"""The Celery app: configured from Django settings (CELERY_*), tasks discovered in every app."""

import os
import warnings

from celery import Celery
from celery.exceptions import CPendingDeprecationWarning
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "middleware.settings.dev")

# Printed at every reconnection to the broker: the Celery 5 behaviour it announces a change of is chosen on purpose
# (settings/base.py, CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS).
warnings.filterwarnings("ignore", message=r"\s*In Celery 5.1 we introduced an optional breaking change",
                        category=CPendingDeprecationWarning)

app = Celery("middleware")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect(dispatch_uid="middleware_db_connections_before_task")
@task_postrun.connect(dispatch_uid="middleware_db_connections_after_task")
def _db_connections_recycle(**kwargs) -> None:
    """A task gets the database connection treatment of a web request: Django's close_old_connections drops a
    connection older than CONN_MAX_AGE, one left in a broken state, or one whose health check fails, and keeps
    the others. Celery's own Django fixup closes every connection around every task instead unless
    CELERY_DB_REUSE_MAX is set (settings/base.py); a fresh PostgreSQL connection per task cost the worker and
    the server more CPU than the task's own queries (bench/webhooks.py)."""
    if getattr(kwargs.get("task") and kwargs["task"].request, "is_eager", False):
        return
    close_old_connections()
