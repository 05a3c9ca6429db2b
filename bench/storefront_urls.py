"""Bench-only URLs: the service's real URLs plus a bare Django view (the baseline). Never in production."""

from django.http import HttpResponse
from django.urls import include, path


def bare(request):
    return HttpResponse(b'{"data": "bare"}', content_type="application/json")


urlpatterns = [
    path("bench/bare", bare),
    path("", include("middleware.urls")),
]
