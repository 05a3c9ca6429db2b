"""middleware.plumbing.group_commit under real thread concurrency: every item gets exactly its own outcome, each item is
flushed exactly once, a failing flush fails exactly its batch, and a lone item is flushed at once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from middleware.plumbing.group_commit import GroupCommit, GroupCommitFailed


def test_concurrent_items_are_each_flushed_once_and_get_their_own_outcome():
    batches: list[list[int]] = []

    def flush(items):
        batches.append(list(items))
        time.sleep(0.002)  # a commit takes a while: others queue meanwhile
        return [item * 10 for item in items]

    writer = GroupCommit(flush, max_batch=16)
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(writer.submit, range(500)))

    assert results == [item * 10 for item in range(500)]
    flushed = [item for batch in batches for item in batch]
    assert sorted(flushed) == list(range(500))  # none lost, none twice
    assert max(len(batch) for batch in batches) > 1  # they were grouped
    assert max(len(batch) for batch in batches) <= 16


def test_a_failing_flush_fails_exactly_the_items_of_its_batch():
    started, release = threading.Event(), threading.Event()
    calls: list[list[str]] = []

    def flush(items):
        calls.append(list(items))
        if items == ["first"]:
            started.set()
            release.wait(5)
            return ["ok"]
        if "poison" in items:
            raise RuntimeError("database gone")
        return ["ok"] * len(items)

    writer = GroupCommit(flush)
    with ThreadPoolExecutor(max_workers=8) as pool:
        first = pool.submit(writer.submit, "first")
        assert started.wait(5)
        queued = [pool.submit(writer.submit, name) for name in ("a", "b", "poison")]
        deadline = time.monotonic() + 5
        while len(writer._queue) < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        release.set()
        assert first.result(5) == "ok"
        for future in queued:
            with pytest.raises(GroupCommitFailed):
                future.result(5)
        assert pool.submit(writer.submit, "later").result(5) == "ok"  # the writer carries on
    assert calls == [["first"], ["a", "b", "poison"], ["later"]]


def test_an_outcome_that_is_an_exception_is_raised_for_that_item_only():
    writer = GroupCommit(lambda items: [ValueError(item) if item < 0 else item for item in items])
    assert writer.submit(3) == 3
    with pytest.raises(ValueError):
        writer.submit(-1)


def test_a_lone_item_is_flushed_at_once():
    writer = GroupCommit(lambda items: items)
    started = time.perf_counter()
    for item in range(200):
        assert writer.submit(item) == item
    assert (time.perf_counter() - started) / 200 < 0.001  # no timer: well under a millisecond each
