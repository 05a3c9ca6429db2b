"""A database that cannot be reached is a temporary condition: every entry point answers 503 with Retry-After
(BigCommerce and Ordergroove deliver again), never a 500 that reads as a bug (issue 14, soak finding)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client

pytestmark = pytest.mark.django_db


def _database_down():
    # Fault injection at the driver boundary (Django's cursor), as when PostgreSQL refuses new connections.
    return mock.patch.object(CursorWrapper, "execute", side_effect=OperationalError("too many clients already"))


def test_the_console_api_answers_503_with_retry_after_while_the_database_is_down(store, console_token):
    client = Client(raise_request_exception=False)
    with _database_down():
        response = client.get("/console/api/settings", HTTP_X_CONSOLE_TOKEN=console_token)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "retry" in response.json()["detail"].lower()


def test_a_webhook_is_told_to_come_back_while_the_database_is_down(store):
    client = Client(raise_request_exception=False)
    body = b'{"scope": "store/order/created", "store_id": "1", "data": {"type": "order", "id": 1}, "hash": "x", ' \
           b'"created_at": 1, "producer": "stores/abc123"}'
    with _database_down():
        response = client.post("/webhooks/bigcommerce", body, content_type="application/json",
                               HTTP_X_WEBHOOK_TOKEN="whatever")
    assert response.status_code == 503


def test_other_unhandled_errors_stay_a_500(store, console_token):
    client = Client(raise_request_exception=False)
    with mock.patch.object(CursorWrapper, "execute", side_effect=ZeroDivisionError):
        response = client.get("/console/api/settings", HTTP_X_CONSOLE_TOKEN=console_token)
    assert response.status_code == 500
