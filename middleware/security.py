"""Framing policy: console pages may be framed by BigCommerce's control panel (CSP frame-ancestors) and
nothing else; every other response refuses framing."""

from django.conf import settings

FRAMEABLE_PREFIXES = ("/console", "/bigcommerce/auth", "/bigcommerce/load")


class FramingPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(FRAMEABLE_PREFIXES):
            ancestors = " ".join(["'self'", *settings.CONSOLE_FRAME_ANCESTORS])
            response.headers.setdefault("Content-Security-Policy", f"frame-ancestors {ancestors}")
            # The console URL carries a short-lived console token: never leak it through Referer.
            response.headers.setdefault("Referrer-Policy", "no-referrer")
            response.headers.pop("X-Frame-Options", None)
        else:
            response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
