from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from bigcommerce_app.inbox.urls import urlpatterns as inbox_urlpatterns
from middleware import health, metrics
from ordergroove.storefront.urls import urlpatterns as storefront_urlpatterns

urlpatterns = [
    # First: the storefront endpoints are the hottest paths (every storefront page); resolving them before
    # every other app's patterns is measurable, and so is an include() level. Their paths overlap no other pattern.
    *storefront_urlpatterns,
    # Next: BigCommerce's webhooks (every order, customer and product change of every store), for the same reasons.
    *inbox_urlpatterns,
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="openapi-schema"),
    path("", include("bigcommerce_app.console.urls")),
    # Ordergroove's recurring orders placed into BigCommerce: POST /ordergroove/order-placement.
    path("", include("bigcommerce_app.placement.urls")),
    path("", include("ordergroove.urls")),
]

# Unhandled exceptions: a database that cannot be reached answers 503 + Retry-After (callers retry), not 500.
handler500 = "middleware.plumbing.errors.server_error"
