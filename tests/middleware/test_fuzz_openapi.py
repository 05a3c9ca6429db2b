"""Every JSON endpoint of the OpenAPI schema (`GET /api/schema/`), fuzzed with schemathesis over real HTTP
(issue 14): valid and schema-violating requests, with the right credentials, with none and with forged ones.
No request may get a 5xx.

Bounded so that it runs in a minute or two on a loaded 2-core machine: FUZZ_EXAMPLES cases per operation,
generation mode and credential kind (about 1,000 requests in all). The run prints how many cases it sent and
how many 5xx it got; every 5xx is listed with the curl command that reproduces it."""

from __future__ import annotations

import os
import uuid

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.generation.modes import GenerationMode

from ordergroove.storefront.selectors import storefront_caches_clear
from tests.feeds.conftest import feed_settings, sftp_server, sftp_server_session  # noqa: F401
from tests.ordergroove.conftest import fake_og, fake_og_server, og_settings  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
FUZZ_PATHS = os.environ.get("FUZZ_PATHS", "")  # only operations whose path contains this (while working on one)
STOREFRONT_ORIGIN = "https://store-abc123.mybigcommerce.com"
SECURITY_HEADERS = ("X-Console-Token", "signed-payload", "authorization-client", "Authorization")


@pytest.fixture
def fuzz_settings(settings):
    settings.STOREFRONT_CACHE_NAMESPACE = f"fuzz-{uuid.uuid4().hex}"
    settings.STOREFRONT_RATE_PER_CUSTOMER = "100000/m"
    settings.STOREFRONT_RATE_PER_IP = "100000/m"
    settings.ORDERGROOVE_TIMEOUT = 2
    settings.SFTP_CONNECT_TIMEOUT = 2
    storefront_caches_clear()
    yield settings
    storefront_caches_clear()


def _credentials(fake_bc, console_token: str, django_settings) -> dict[str, dict[str, str]]:
    storefront = {"signed-payload": fake_bc.customer_jwt("abc123", 4927),
                  "authorization-client": django_settings.BIGCOMMERCE_CLIENT_ID, "Authorization": "BigCommerce",
                  "Origin": STOREFRONT_ORIGIN}
    return {
        "valid": {"X-Console-Token": console_token, **storefront},
        "none": {},
        "forged": {"X-Console-Token": console_token[:-4] + "AAAA",
                   "signed-payload": storefront["signed-payload"][:-4] + "AAAA",
                   "authorization-client": django_settings.BIGCOMMERCE_CLIENT_ID, "Authorization": "BigCommerce"},
    }


class Run:
    """What the fuzz sent and every 5xx it got back."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()
        self.sent = 0
        self.failures: list[str] = []

    def fuzz(self, operation, mode: GenerationMode, kind: str, headers: dict[str, str]) -> None:
        security = {h.lower() for h in SECURITY_HEADERS}

        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis.settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
                             phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def one(case):
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in security}
            case.headers.update(headers)
            response = case.call(base_url=self.base_url, session=self.session, timeout=30)
            self.sent += 1
            if response.status_code >= 500:
                command = case.as_curl_command()
                for value in headers.values():  # the credentials stay out of the printout
                    command = command.replace(value, "[Filtered]") if len(value) > 20 else command
                self.failures.append(f"{response.status_code} [{kind}, {mode.value}] {command}"
                                     f"\n    -> {response.text[:300]!r}")

        one()


def test_no_schema_operation_answers_5xx(live_server, fake_bc, og_settings, feed_settings, console_token,  # noqa: F811
                                        fuzz_settings):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25  # every JSON endpoint the README lists
    operations = [op for op in operations if FUZZ_PATHS in op.path]
    run = Run(live_server.url)

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for kind, headers in _credentials(fake_bc, console_token, fuzz_settings).items():
                run.fuzz(operation, mode, kind, headers)

    print(f"\nschemathesis fuzz: {len(operations)} operations, {run.sent} cases sent, {len(run.failures)} "
          "answered 5xx")
    for failure in run.failures[:40]:
        print(failure)
    assert run.sent >= len(operations) * 6
    assert run.failures == []
