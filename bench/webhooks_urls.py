"""Bench-only URLs: the service's real URLs plus a bare Django view (the baseline). Never in production."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare(request):
    request.body  # noqa: B018 - read the body like the inbox does, so only the work differs
    return HttpResponse(status=200)


urlpatterns = [
    path("bench/bare", bare),
    path("", include("middleware.urls")),
]
