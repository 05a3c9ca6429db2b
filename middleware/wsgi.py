import gc
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from middleware.celery import app as celery_app
from middleware.plumbing import admission
from ordergroove.storefront.wsgi_dispatch import storefront_dispatch

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "middleware.settings.dev")
# The storefront endpoints (every storefront page view) are answered before Django's handler, by the same views and
# middleware without the request cycle's plumbing (ordergroove/storefront/wsgi_dispatch.py); late webhook deliveries
# are shed before Django builds a request (only under admission.ThreadWorker).
application = admission.shed_late(storefront_dispatch(get_wsgi_application()), paths=["/webhooks/bigcommerce"],
                                  max_queue_seconds=settings.INBOX_MAX_QUEUE_SECONDS)
# Every app's tasks module, now rather than on a request's first enqueue (jobs.task_named enqueues by name).
celery_app.loader.import_default_modules()
# Everything loaded so far (Django, the apps, URL patterns) lives as long as the worker: keeping it out of the
# cyclic garbage collector's generations makes each collection scan only what requests allocate.
gc.freeze()
