"""The memory dedup store: states, windows, least-recently-used eviction at its cap, and concurrency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from anthropic_otel.dedup import MemoryStore

from tests.clock import Clock


def test_begin_marks_in_flight_and_reports_existing_states() -> None:
    clock = Clock(1000.0)
    store = MemoryStore(clock=clock)
    assert store.begin("a", owner=1, in_flight_ttl_s=60) is None
    assert store.begin("a", owner=2, in_flight_ttl_s=60) == "in_flight"
    store.complete("a", window_s=600)
    assert store.begin("a", owner=3, in_flight_ttl_s=60) == "completed"
    assert store.get("a") == "completed"
    assert len(store) == 1


def test_in_flight_mark_expires_after_its_ttl_and_completed_after_the_window() -> None:
    clock = Clock(1000.0)
    store = MemoryStore(clock=clock)
    store.begin("a", 1, 60)
    clock.now += 59.9
    assert store.get("a") == "in_flight"
    clock.now += 0.1
    assert store.get("a") is None
    assert store.begin("a", 2, 60) is None
    store.complete("a", 600)
    clock.now += 599.9
    assert store.begin("b", 3, 60) is None
    assert store.get("a") == "completed"
    clock.now += 0.1
    assert store.begin("a", 4, 60) is None


def test_a_duplicate_does_not_extend_the_completed_window() -> None:
    clock = Clock(1000.0)
    store = MemoryStore(clock=clock)
    store.complete("a", 600)
    clock.now += 500
    assert store.begin("a", 1, 60) == "completed"
    clock.now += 100
    assert store.get("a") is None


def test_clear_removes_only_the_owners_in_flight_mark() -> None:
    store = MemoryStore()
    store.begin("a", 1, 60)
    store.clear("a", owner=2)
    assert store.get("a") == "in_flight"
    store.clear("a", owner=1)
    assert store.get("a") is None
    store.complete("a", 600)
    store.clear("a", owner=0)
    assert store.get("a") == "completed"


def test_least_recently_used_is_evicted_at_the_cap() -> None:
    store = MemoryStore(cap=3)
    for fp in ("a", "b", "c"):
        store.begin(fp, 1, 60)
    assert store.begin("a", 2, 60) == "in_flight"  # touches a: b is now the oldest
    store.begin("d", 1, 60)
    assert len(store) == 3
    assert store.get("b") is None
    assert [store.get(fp) for fp in ("a", "c", "d")] == ["in_flight"] * 3


def test_expired_entries_at_the_old_end_are_swept() -> None:
    clock = Clock(1000.0)
    store = MemoryStore(clock=clock)
    for i in range(4):
        store.begin(str(i), 1, 10)
    clock.now += 11
    store.begin("x", 1, 10)
    store.begin("y", 1, 10)
    assert len(store) == 2


# Run in a fresh interpreter: RSS in a process that already ran hundreds of tests measures the
# allocator's earlier fragmentation, not the store.
_MILLION_SCRIPT = """
import gc, json, os, time
from anthropic_otel.dedup import MemoryStore

def rss_bytes():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

gc.collect()
before = rss_bytes()
store = MemoryStore()
started = time.perf_counter()
for i in range(1_000_000):
    store.begin(f"{i:064x}", i, 60.0)
elapsed = time.perf_counter() - started
gc.collect()
after = rss_bytes()
for i in range(1_000_000, 1_500_000):
    store.begin(f"{i:064x}", i, 60.0)
gc.collect()
plateau = rss_bytes()
print(json.dumps({
    "cap": store.cap, "size": len(store), "elapsed": elapsed, "growth": after - before,
    "plateau": plateau - after,
    "newest": store.get(f"{1_499_999:064x}"), "evicted": store.get(f"{1_399_999:064x}"),
}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS is read from /proc")
def test_a_million_distinct_requests_keep_the_default_store_at_its_cap() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _MILLION_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    m = json.loads(done.stdout)
    print(
        f"\n1,000,000 distinct fingerprints in {m['elapsed']:.2f} s; store size {m['size']}; RSS growth "
        f"{m['growth'] / 1e6:.1f} MB; 500,000 more: {m['plateau'] / 1e6:+.1f} MB"
    )
    assert (m["cap"], m["size"]) == (100_000, 100_000)
    assert m["newest"] == "in_flight"
    assert m["evicted"] is None
    # About 0.5 KB per fingerprint at the cap, and flat from there on.
    assert m["growth"] < 70_000_000
    assert m["plateau"] < 1_000_000


def test_a_small_cap_holds_under_many_times_its_size() -> None:
    store = MemoryStore(cap=1_000)
    for i in range(200_000):
        store.begin(str(i), i, 60.0)
        if i % 997 == 0:
            store.complete(str(i), 600.0)
    assert len(store) == 1_000
    assert store.get("199999") == "in_flight"
    assert store.get("198999") is None


def test_threads_racing_on_one_fingerprint_see_exactly_one_first() -> None:
    store = MemoryStore()
    results: list[str | None] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def work(owner: int) -> None:
        barrier.wait()
        mine = [store.begin("same", owner * 1000 + i, 60) for i in range(500)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(None) == 1
    assert results.count("in_flight") == 3999
