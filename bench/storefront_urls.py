"""Bench-only URLs: the service's real URLs plus a bare Django view (the baseline). Never in production."""

from django.http import HttpResponse
from django.urls import path

from middleware.urls import urlpatterns as service_urlpatterns


def bare(request):
    return HttpResponse(b'{"data": "bare"}', content_type="application/json")


# The service's patterns at the top level, as in production (an include() level would cost the storefront paths a
# second resolver); the bare view's pattern first, so the storefront paths pay one failed match more than in
# production and the bare view none.
urlpatterns = [
    path("bench/bare", bare),
    *service_urlpatterns,
]
