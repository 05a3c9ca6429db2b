"""Shared plumbing of the vendor clients: one requests session per process, a timeout on every call, and
transport failures mapped to typed errors that keep what the vendor said."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_netrc_auth
from requests_hardened.ip_filter import InvalidIPAddress

from middleware.plumbing import outbound

logger = logging.getLogger(__name__)

_local = threading.local()


def session(*, checked: bool = False) -> requests.Session:
    """A per-thread keep-alive session (requests.Session is not documented as thread-safe).

    It does not read the environment itself (`trust_env` off): `send` applies what the environment says per
    host, read once per process (`_environment_for`). ``checked``: the session for URLs a merchant entered,
    whose connections go only to addresses `middleware.plumbing.outbound` allows, checked after DNS resolution."""
    name = "checked_session" if checked else "session"
    s = getattr(_local, name, None)
    if s is None:
        s = requests.Session()
        s.trust_env = False
        adapters = outbound.checked_adapters() if checked else dict.fromkeys(
            ("http://", "https://"), HTTPAdapter(pool_connections=16, pool_maxsize=32, max_retries=0))
        for prefix, adapter in adapters.items():
            s.mount(prefix, adapter)
        s.headers["User-Agent"] = "bc-og-middleware/1.0"
        setattr(_local, name, s)
    return s


_ENVIRONMENT: dict[str, dict] = {}


def _environment_for(url: str) -> dict:
    """What requests' `trust_env` would take from the environment for this URL's host: proxies (honouring
    `no_proxy`), the CA bundle (`REQUESTS_CA_BUNDLE`/`CURL_CA_BUNDLE`) and ~/.netrc credentials. requests reads
    these on every call (three walks of os.environ and two stat() calls, ~0.5 ms of CPU per call on the
    worker, bench/webhooks.py); the environment of a running process does not change, so once per host."""
    parts = urlsplit(url)
    key = f"{parts.scheme}://{parts.netloc}"
    found = _ENVIRONMENT.get(key)
    if found is None:
        trusting = requests.Session()
        merged = trusting.merge_environment_settings(key, {}, None, None, None)
        found = {"proxies": merged["proxies"], "verify": merged["verify"], "auth": get_netrc_auth(key)}
        trusting.close()
        _ENVIRONMENT[key] = found
    return found


class VendorError(Exception):
    """A call to BigCommerce, Ordergroove or a payment gateway did not succeed."""

    vendor = "vendor"

    def __init__(self, message: str, *, status: int | None = None, body: str = "", headers=None,
                 kind: str = "http"):
        super().__init__(message)
        self.kind = kind  # "http" (the vendor answered), "timeout" or "unavailable" (no answer)
        self.status = status
        self.body = body or ""
        self.headers = dict(headers or {})

    @property
    def transient(self) -> bool:
        """Worth retrying later: no answer, a 5xx, or a rate limit."""
        return self.status is None or self.status >= 500 or self.status == 429

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} (HTTP {self.status})" if self.status else base


@dataclass
class Timing:
    started: float
    duration_ms: int = 0


def send(method: str, url: str, *, timeout: float, error_class: type[VendorError] = VendorError,
         checked: bool = False, **kwargs) -> tuple[requests.Response, Timing]:
    """One HTTP exchange with a hard timeout. Transport failures become typed errors; any HTTP status is
    returned to the caller, whose client maps it. ``checked`` for a URL a merchant entered: only to an address
    OUTBOUND_ALLOWED_ADDRESSES allows (and https only with OUTBOUND_HTTPS_ONLY), checked after DNS resolution
    on the address connected to."""
    timing = Timing(started=time.monotonic())
    try:
        environment = _environment_for(url)
        kwargs.setdefault("proxies", environment["proxies"])
        kwargs.setdefault("verify", environment["verify"])
        if environment["auth"] is not None:
            kwargs.setdefault("auth", environment["auth"])
        if checked:
            outbound.outbound_scheme_check(url)
        response = session(checked=checked).request(method, url, timeout=timeout, **kwargs)
    except (outbound.OutboundRefused, InvalidIPAddress) as exc:
        raise error_class(f"{error_class.vendor} endpoint refused: {exc}", kind="unavailable") from exc
    except requests.Timeout as exc:
        raise error_class(f"{error_class.vendor} did not answer within {timeout:g}s", kind="timeout") from exc
    except requests.RequestException as exc:
        raise error_class(f"{error_class.vendor} could not be reached: {exc.__class__.__name__}",
                          kind="unavailable") from exc
    finally:
        timing.duration_ms = int((time.monotonic() - timing.started) * 1000)
    return response, timing
