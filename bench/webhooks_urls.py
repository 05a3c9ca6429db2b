"""Bench-only URLs: the service's real URLs plus a bare Django view (the floor) and the usual DRF webhook view
(the peer baseline). Never in production."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from bench.webhooks_peer import PeerWebhookView


@csrf_exempt
def bare(request):
    request.body  # noqa: B018 - read the body like the inbox does, so only the work differs
    return HttpResponse(status=200)


urlpatterns = [
    path("bench/bare", bare),
    path("bench/peer", PeerWebhookView.as_view()),
    path("", include("middleware.urls")),
]
