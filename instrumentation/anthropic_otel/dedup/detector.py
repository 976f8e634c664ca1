"""Duplicate-request detection: one `Ticket` per call, states from the memory or Redis store.

`start()` runs on the calling thread at the start of each logical call (the SDK's retries of that
call are attempts of the same ticket, never duplicates). With the memory store the answer is known
at once. With Redis, the round trip is kept off the request path: operations go to a bounded queue
that one daemon thread drains in pipelined batches; a full queue drops the operation and counts it.
The worker mirrors every operation into a local memory store, so when Redis fails (one warning per
outage, every failed round trip counted) it answers from memory at once and probes Redis again
every second until it is back; a full queue is logged the same way (one warning when dropping
starts, one line when operations are accepted again). The recorder is told of a duplicate when a
ticket's state becomes known (`anthropic.duplicates`), `anthropic.duplicates.tokens` once the state is known and the call
completed, in either order. Shutting down waits for the queue to flush for a bounded time only.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import queue
import threading
import time
import uuid
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from .. import semconv
from .._guard import guard, report
from ..settings import Settings
from . import redis_store
from .fingerprint import fingerprint
from .memory import DEFAULT_CAP, MemoryStore

if TYPE_CHECKING:
    from ..recorder import Recorder

_log = logging.getLogger(semconv.LOGGER)

IN_FLIGHT_TTL_S: Final = 60.0
QUEUE_SIZE: Final = 10_000
BATCH: Final = 256
SHUTDOWN_DEADLINE_S: Final = 2.0
_STOP: Final = object()

# One warning per process about unkeyed fingerprints in Redis, however many detectors are built.
_unkeyed_warned = False
_unkeyed_lock = threading.Lock()


def _warn_unkeyed_redis() -> None:
    global _unkeyed_warned
    with _unkeyed_lock:
        if _unkeyed_warned:
            return
        _unkeyed_warned = True
    _log.warning(
        semconv.LOG_PREFIX + "%s=redis without %s: the fingerprints shared in Redis are plain SHA-256 of the "
        "request, so anyone who can read that Redis can confirm a guessed prompt by hashing it; set %s "
        "to the same secret on every process",
        semconv.ENV_DEDUP,
        semconv.ENV_DEDUP_HMAC_KEY,
        semconv.ENV_DEDUP_HMAC_KEY,
    )


class Ticket:
    """One call's passage through the detector. `state` is None until known, or when not a duplicate."""

    __slots__ = ("fp", "model", "owner", "state", "checked", "billed", "dropped")

    def __init__(self, fp: str, model: str, owner: int) -> None:
        self.fp = fp
        self.model = model
        self.owner = owner
        self.state: str | None = None
        # True once the store has answered (at start() for memory, from the worker for Redis).
        self.checked = False
        self.billed: int | None = None
        self.dropped = False


class DuplicateDetector:
    def __init__(
        self,
        settings: Settings,
        recorder: Recorder,
        *,
        in_flight_ttl_s: float = IN_FLIGHT_TTL_S,
        memory_cap: int = DEFAULT_CAP,
        queue_size: int = QUEUE_SIZE,
        redis_timeout_s: float = 0.5,
        redis_retry_interval_s: float = 1.0,
    ) -> None:
        self.enabled = settings.dedup != "off"
        self.window_s = settings.dedup_window_s
        self.in_flight_ttl_s = in_flight_ttl_s
        self._hmac_key = settings.dedup_hmac_key.encode() if settings.dedup_hmac_key else None
        self.memory = MemoryStore(memory_cap)
        self._owners = itertools.count(1)
        self.recorder = recorder
        self._worker: _RedisWorker | None = None
        if self.enabled and settings.dedup == "redis":
            self._worker = self._redis_worker(settings, queue_size, redis_timeout_s, redis_retry_interval_s)
            if self._worker is not None and self._hmac_key is None:
                _warn_unkeyed_redis()
        self.store_name = "redis" if self._worker is not None else "memory"

    def _redis_worker(
        self, settings: Settings, queue_size: int, timeout_s: float, retry_interval_s: float
    ) -> _RedisWorker | None:
        if not settings.dedup_redis_url:
            _log.warning(
                semconv.LOG_PREFIX + "%s=redis needs %s; detecting duplicates in memory (this process only)",
                semconv.ENV_DEDUP,
                semconv.ENV_DEDUP_REDIS_URL,
            )
            return None
        try:
            store = redis_store.RedisStore(settings.dedup_redis_url, timeout_s)
        except ImportError:
            _log.warning(
                semconv.LOG_PREFIX
                + "%s=redis needs the redis package (pip install 'anthropic-otel[redis]'); "
                "detecting duplicates in memory (this process only)",
                semconv.ENV_DEDUP,
            )
            return None
        except Exception as err:  # a malformed URL: the app must still start
            _log.warning(
                semconv.LOG_PREFIX + "cannot use %s (%s); detecting duplicates in memory",
                semconv.ENV_DEDUP_REDIS_URL,
                err,
            )
            return None
        return _RedisWorker(self, store, queue_size, retry_interval_s)

    # -- the hot path -----------------------------------------------------------------------
    def start(self, model: str, body: Mapping[str, Any]) -> Ticket | None:
        """A ticket for a call that is starting, or None when dedup is off (or the body unusable)."""
        if not self.enabled:
            return None
        # try/except with report() is `guard` without an object per call: this runs on every call.
        try:
            ticket = Ticket(fingerprint(body, self._hmac_key), model, next(self._owners))
            worker = self._worker
            if worker is not None:
                worker.submit(ticket, redis_store.BEGIN)
            else:
                self.resolve(ticket, self.memory.begin(ticket.fp, ticket.owner, self.in_flight_ttl_s), None)
        except Exception as err:
            report("dedup.start", err)
            return None
        return ticket

    def complete(self, ticket: Ticket, billed_tokens: int) -> None:
        """The call succeeded and billed `billed_tokens` (all input, cache included, plus output)."""
        try:
            worker = self._worker
            if worker is None:
                self.memory.complete(ticket.fp, self.window_s)
                ticket.billed = billed_tokens
                if ticket.state is not None:
                    self.recorder.duplicate_billed(ticket.model, ticket.state, billed_tokens)
                return
            worker.submit(ticket, redis_store.COMPLETE)
            with worker.lock:
                ticket.billed = billed_tokens
                state = ticket.state
            if state is not None:
                self.recorder.duplicate_billed(ticket.model, state, billed_tokens)
        except Exception as err:
            report("dedup.complete", err)

    def fail(self, ticket: Ticket) -> None:
        """The call failed: remove its in-flight mark (if still its own), never mark it completed."""
        try:
            worker = self._worker
            if worker is None:
                self.memory.clear(ticket.fp, ticket.owner)
            else:
                worker.submit(ticket, redis_store.CLEAR)
        except Exception as err:
            report("dedup.fail", err)

    def shutdown(self, flush_timeout_s: float = SHUTDOWN_DEADLINE_S) -> None:
        """Stop the worker and close Redis, waiting at most `flush_timeout_s` for queued operations.

        Whatever is still queued after that is dropped: the caller (`uninstrument()`, on the
        application's thread) is never held up longer by a slow or stopped Redis. 0 does not wait.
        """
        worker, self._worker = self._worker, None
        if worker is not None:
            with guard("dedup.shutdown"):
                worker.stop(flush_timeout_s)

    # -- shared with the worker -------------------------------------------------------------
    def resolve(self, ticket: Ticket, state: str | None, lock: threading.Lock | None) -> None:
        """The store's answer for `ticket`: record it as a duplicate if a state was found.

        `lock` is the worker's when the answer comes from another thread: then `complete()` may run
        at the same moment, and exactly one of the two must record the duplicate's tokens.
        """
        if lock is None:
            ticket.state = state
            ticket.checked = True
            billed = None  # memory answers inside start(): the call cannot have completed yet
        else:
            with lock:
                ticket.state = state
                ticket.checked = True
                billed = ticket.billed
        if state is None:
            return
        self.recorder.duplicate_seen(ticket.model, state)
        if billed is not None:
            self.recorder.duplicate_billed(ticket.model, state, billed)


class _RedisWorker:
    """The daemon thread between the detector and Redis, with the memory store as its fallback."""

    def __init__(
        self,
        detector: DuplicateDetector,
        store: redis_store.RedisStore,
        queue_size: int,
        retry_interval_s: float,
    ) -> None:
        self.detector = detector
        self.store = store
        self.queue_size = queue_size
        self.retry_interval_s = retry_interval_s
        self.lock = threading.Lock()
        self.queue: queue.Queue[Any] = queue.Queue(queue_size)
        self.redis_up = True
        self.next_probe = 0.0
        # Keys the owner tokens of this process's in-flight marks in Redis: random, so a token says
        # nothing about the host, and keyed, so it does not show how many calls the process made.
        self.token = uuid.uuid4().bytes
        # A full queue is one episode from the first drop to the next accepted operation.
        self.saturated = False
        self.dropped_in_episode = 0
        self._saturation_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stopped = False
        # Set when shutdown stops waiting: the worker drops what is still queued and exits.
        self._abandoned = False
        ref = weakref.ref(self)
        if hasattr(os, "register_at_fork"):
            # A pre-forking server builds the detector in the parent: each child needs its own thread.
            os.register_at_fork(after_in_child=lambda: _reset_after_fork(ref))

    def submit(self, ticket: Ticket, kind: int) -> None:
        if self._thread is None:
            self._start_thread()
        try:
            self.queue.put_nowait((kind, ticket))
        except queue.Full:
            if kind == redis_store.BEGIN:
                ticket.dropped = True
            self.detector.recorder.dedup_dropped()
            self._dropped()
        else:
            if self.saturated:
                self._accepted()

    def _dropped(self) -> None:
        with self._saturation_lock:
            self.dropped_in_episode += 1
            first = not self.saturated
            self.saturated = True
        if first:
            _log.warning(
                semconv.LOG_PREFIX + "dedup queue to Redis full (%d operations waiting); dropping operations "
                "until it has room (counted in %s)",
                self.queue_size,
                semconv.ANTHROPIC_OTEL_DEDUP_DROPPED.name,
            )

    def _accepted(self) -> None:
        with self._saturation_lock:
            if not self.saturated:
                return
            self.saturated = False
            dropped, self.dropped_in_episode = self.dropped_in_episode, 0
        _log.info(
            semconv.LOG_PREFIX + "dedup queue to Redis has room again; %d operations were dropped", dropped
        )

    def _start_thread(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._stopped:
                thread = threading.Thread(target=self._run, name="anthropic-otel-dedup", daemon=True)
                thread.start()
                self._thread = thread

    def stop(self, timeout_s: float) -> None:
        """Let the worker flush the queue for at most `timeout_s` in all, then leave it to drop the rest."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._start_lock:
            self._stopped = True
            thread = self._thread
        if thread is None:
            self.store.close()
            return
        try:
            self.queue.put(_STOP, timeout=max(0.0, deadline - time.monotonic()))
        except queue.Full:
            pass  # the worker sees `_stopped` once it has emptied the queue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            # Still waiting on Redis: it exits after this round trip, and closes the store itself.
            self._abandoned = True
            _log.info(
                semconv.LOG_PREFIX + "stopped waiting for the dedup queue to flush to Redis after %s s (%s); "
                "about %d operations are not sent",
                timeout_s,
                semconv.ENV_DEDUP_FLUSH_TIMEOUT_S,
                self.queue.qsize(),
            )

    def _run(self) -> None:
        try:
            self._drain()
        finally:
            with guard("dedup.worker.close"):
                self.store.close()

    def _drain(self) -> None:
        get = self.queue.get
        while True:
            batch = [get()]
            try:
                while len(batch) < BATCH:
                    batch.append(self.queue.get_nowait())
            except queue.Empty:
                pass
            if self._abandoned:
                return
            stop = False
            jobs = []
            for job in batch:
                if job is _STOP:
                    stop = True
                else:
                    jobs.append(job)
            if jobs:
                with guard("dedup.worker"):
                    self._process(jobs)
            if stop or self._abandoned or self._stopped and self.queue.empty():
                return

    def _process(self, jobs: list[tuple[int, Ticket]]) -> None:
        detector = self.detector
        answers = None
        now = time.monotonic()
        if self.redis_up or now >= self.next_probe:
            ops = [self._op(kind, ticket) for kind, ticket in jobs]
            try:
                answers = self.store.run(ops)
            except Exception as err:
                detector.recorder.dedup_store_failed()
                self.next_probe = now + self.retry_interval_s
                if self.redis_up and not self._abandoned:  # after shutdown, nobody is waiting for it
                    self.redis_up = False
                    _log.warning(
                        semconv.LOG_PREFIX
                        + "dedup store Redis unavailable (%s); detecting duplicates in memory "
                        "until it is back (failures are counted in %s)",
                        err,
                        semconv.ANTHROPIC_OTEL_DEDUP_STORE_ERRORS.name,
                    )
            else:
                if not self.redis_up:
                    self.redis_up = True
                    _log.info(semconv.LOG_PREFIX + "dedup store Redis is back")
        memory = detector.memory
        for index, (kind, ticket) in enumerate(jobs):
            # Every operation also lands in memory, so a Redis outage starts with a warm local store.
            if kind == redis_store.BEGIN:
                local = memory.begin(ticket.fp, ticket.owner, detector.in_flight_ttl_s)
                detector.resolve(ticket, answers[index] if answers is not None else local, self.lock)
            elif kind == redis_store.COMPLETE:
                memory.complete(ticket.fp, detector.window_s)
            else:
                memory.clear(ticket.fp, ticket.owner)

    def _op(self, kind: int, ticket: Ticket) -> redis_store.Op:
        ttl = self.detector.window_s if kind == redis_store.COMPLETE else self.detector.in_flight_ttl_s
        owner = ""
        if kind != redis_store.COMPLETE:
            owner = hashlib.blake2b(
                ticket.owner.to_bytes(8, "big"), key=self.token, digest_size=8
            ).hexdigest()
        return (kind, ticket.fp, owner, ttl)


def _reset_after_fork(ref: weakref.ReferenceType[_RedisWorker]) -> None:
    worker = ref()
    if worker is None:
        return
    # The parent's thread does not exist here and its locks may have been held at fork time.
    worker.lock = threading.Lock()
    worker._start_lock = threading.Lock()
    worker.queue = queue.Queue(worker.queue_size)
    worker._thread = None
    worker._saturation_lock = threading.Lock()
    worker.saturated = False
    worker.dropped_in_episode = 0
    worker.token = uuid.uuid4().bytes
    worker.detector.memory.reset_lock()
