"""Request hygiene at the door and the framing policy.

- NUL characters in the path or the query string are refused with 400 before any view runs: no endpoint takes
  one, and PostgreSQL refuses them in text, so a NUL that reached a lookup was a 500 (`?store=%00`).
- Framing: console pages may be framed by BigCommerce's control panel (CSP frame-ancestors) and nothing else;
  every other response refuses framing.
"""

from django.conf import settings
from django.http import JsonResponse


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query or "\x00" in request.path:
            return JsonResponse({"error": "The URL contains a NUL character."}, status=400)
        return self.get_response(request)

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
