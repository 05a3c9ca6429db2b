"""The fake Ordergroove static domain's Subscription Manager: `GET /<merchant>/msi.js` is a stub that finds the
og_auth cookie and asks `GET /<merchant>/msi-auth` whether it is valid (the signature checked with the merchant's
hash key, as Ordergroove does, and not older than two hours), then writes the verdict into `<div id="og-msi">`:
`data-og-msi-status` = valid | invalid | missing, and `data-og-msi-customer`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from tests.fakes.base import Request, Response

MAX_AGE_SECONDS = 2 * 3600

MSI_JS = """(function () {
  var box = document.getElementById('og-msi');
  if (!box) { return; }
  function show(status, customer) {
    box.setAttribute('data-og-msi-status', status);
    box.setAttribute('data-og-msi-customer', customer || '');
    box.textContent = 'Subscription Manager (fake): ' + status + (customer ? ' for customer ' + customer : '');
  }
  var match = document.cookie.match(/(?:^|;\\s*)og_auth=([^;]*)/);
  if (!match) { show('missing'); return; }
  fetch(%(check_url)s + '?og_auth=' + encodeURIComponent(match[1]))
    .then(function (r) { return r.json(); })
    .then(function (answer) { show(answer.valid ? 'valid' : 'invalid', answer.customer); })
    .catch(function () { show('invalid'); });
}());
"""


def cookie_verdict(merchant, value: str) -> dict:
    parts = value.split("|")
    if merchant is None or len(parts) != 3 or not parts[1].isdigit():
        return {"valid": False, "customer": ""}
    customer, ts, signature = parts
    expected = base64.b64encode(hmac.new(merchant.hash_key.encode(), f"{customer}|{ts}".encode(),
                                         hashlib.sha256).digest()).decode()
    fresh = abs(time.time() - int(ts)) <= MAX_AGE_SECONDS
    return {"valid": hmac.compare_digest(expected, signature) and fresh, "customer": customer}


def register_msi_routes(fake) -> None:
    def msi_js(request: Request) -> Response:
        merchant_id = request.params["merchant"]
        check_url = json.dumps(f"{fake.url}/{merchant_id}/msi-auth")
        return Response.text(MSI_JS % {"check_url": check_url}, content_type="application/javascript")

    def msi_auth(request: Request) -> Response:
        merchant = fake.merchants.get(request.params["merchant"])
        return Response.json(cookie_verdict(merchant, request.q("og_auth", "") or ""),
                             headers={"Access-Control-Allow-Origin": "*"})

    fake.route("GET", r"/(?P<merchant>[A-Za-z0-9_-]+)/msi\.js", msi_js)
    fake.route("GET", r"/(?P<merchant>[A-Za-z0-9_-]+)/msi-auth", msi_auth)
