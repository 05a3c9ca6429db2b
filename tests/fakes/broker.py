"""A Celery broker for the tests of durable jobs (middleware.plumbing.jobs): it records which ids were sent to
which task name, or refuses every message while `down`, as an unreachable Redis does."""

from __future__ import annotations

from middleware.plumbing import jobs


class FakeBroker:
    def __init__(self) -> None:
        self.down = False
        self.messages: list[tuple[str, int]] = []

    def task(self, name: str) -> _Sender:
        return _Sender(self, name)

    def ids(self, name: str) -> list[int]:
        """The ids sent to the task `name`, in order."""
        return [pk for task, pk in self.messages if task == name]


class _Sender:
    def __init__(self, broker: FakeBroker, name: str) -> None:
        self.broker, self.name = broker, name

    def apply_async(self, args: tuple, **options) -> None:
        if self.broker.down:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.broker.messages.append((self.name, args[0]))


def install(monkeypatch) -> FakeBroker:
    """Every job enqueued by name goes to a new FakeBroker (for the rest of the test)."""
    broker = FakeBroker()
    monkeypatch.setattr(jobs, "task_named", broker.task)
    return broker
