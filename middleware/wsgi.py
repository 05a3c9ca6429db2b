import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "middleware.settings.dev")
application = get_wsgi_application()
# Everything loaded so far (Django, the apps, URL patterns) lives as long as the worker: keeping it out of the
# cyclic garbage collector's generations makes each collection scan only what requests allocate.
gc.freeze()
