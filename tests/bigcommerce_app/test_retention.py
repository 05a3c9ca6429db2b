"""Retention: handled webhooks go after INBOX_RETENTION_DAYS; failed, pending and in-flight ones stay whatever
their age (they are visible and replayable), and recent ones stay whatever their status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bigcommerce_app.models import InboundEvent
from bigcommerce_app.tasks import inbound_events_prune

pytestmark = pytest.mark.django_db

S = InboundEvent.Status


def _event(store, hash_: str, status: str, age_days: float) -> InboundEvent:
    return InboundEvent.objects.create(store=store, scope="store/order/created", event_hash=hash_, payload={},
                                       status=status, received_at=timezone.now() - timedelta(days=age_days))


def test_prune_deletes_only_old_handled_events(store, settings):
    settings.INBOX_RETENTION_DAYS = 30
    for status in (S.DONE, S.SKIPPED, S.FAILED, S.PENDING, S.PROCESSING):
        _event(store, f"old-{status}", status, 31)
        _event(store, f"new-{status}", status, 29)

    assert inbound_events_prune() == 2  # the Celery task body, as beat runs it daily

    assert sorted(InboundEvent.objects.values_list("event_hash", flat=True)) == sorted(
        ["old-failed", "old-pending", "old-processing"] + [f"new-{s}" for s in S.values])
    assert inbound_events_prune() == 0


def test_prune_follows_the_setting_and_works_in_batches(store, settings, monkeypatch):
    from bigcommerce_app import services

    monkeypatch.setattr(services, "PRUNE_BATCH", 3)
    settings.INBOX_RETENTION_DAYS = 2
    for i in range(8):
        _event(store, f"h{i}", S.DONE, 3)
    _event(store, "fresh", S.DONE, 1)

    assert inbound_events_prune() == 8
    assert list(InboundEvent.objects.values_list("event_hash", flat=True)) == ["fresh"]
