"""Issue 14 finding 13, as bench/soak.py saw it under load: Redis restarts while a worker holds unacknowledged
messages; Celery closes the connection, kombu closes the channel after its transport was detached, and handing the
unacked messages back raised AttributeError ('NoneType' object has no attribute 'hostname'), which the worker does
not survive. With the project's transport it is a connection error, which Celery ignores before reconnecting."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from kombu import Connection

pytestmark = pytest.mark.integration


def test_closing_a_channel_with_unacked_messages_after_the_transport_was_detached_is_a_connection_error():
    assert settings.CELERY_BROKER_TRANSPORT == "middleware.plumbing.broker:Transport"
    queue = f"broker-test-{uuid.uuid4().hex}"
    with Connection(settings.CELERY_BROKER_URL, transport=settings.CELERY_BROKER_TRANSPORT,
                    transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS) as connection:
        channel = connection.channel()
        connection.SimpleQueue(queue, channel=channel).put({"n": 1})
        message = channel.basic_get(queue, no_ack=False)  # delivered, not acknowledged
        assert message is not None and channel.qos._delivered
        connection._do_close_transport()  # as after the first close attempt while Redis was down
        with pytest.raises(connection.connection_errors):
            channel.close()
        connection.maybe_close_channel(channel)  # what Celery calls: nothing escapes
