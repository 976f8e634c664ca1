"""Rate-limit headroom as this process last saw it: per model and limit kind, the last limit,
remaining amount and announced reset time any response carried.

Every attempt's response's rate-limit lines pass through `seen()` (success, error and stream alike),
off the calling thread, in order; the three
gauges `anthropic.ratelimit.limit`, `.remaining` and `.reset_time` read `limits()`, `remaining()`
and `reset_times()` when the SDK collects. "Last seen" is exact for a single process; a fleet shares one organisation-wide budget
and each process reports its own last view of it. Bounded: at most `MAX_MODELS` models, and the
kinds are the closed list the API names.
"""

from __future__ import annotations

import os
import threading
import weakref

from ..extract.ratelimit import LimitLines, RateLimit, parse_lines

MAX_MODELS = 256
Gauges = dict[tuple[str, str], float]


class RateLimits:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (model, kind) -> the fields seen last, each kept until a response gives a newer value.
        self._limit: Gauges = {}
        self._remaining: Gauges = {}
        self._reset: Gauges = {}
        self._models: set[str] = set()
        if hasattr(os, "register_at_fork"):  # a forked child starts empty, with a lock of its own
            ref = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _reset_after_fork(ref))

    def seen(self, model: str, lines: LimitLines) -> tuple[list[RateLimit], int]:
        """Note the limits a response of `model` announced; returns them and how many values were garbled."""
        limits, bad = parse_lines(lines)
        if not limits:
            return limits, bad
        with self._lock:
            if model not in self._models:
                if len(self._models) >= MAX_MODELS:
                    return limits, bad
                self._models.add(model)
            for limit in limits:
                key = (model, limit.kind)
                if limit.limit is not None:
                    self._limit[key] = limit.limit
                if limit.remaining is not None:
                    self._remaining[key] = limit.remaining
                if limit.reset_time is not None:
                    self._reset[key] = limit.reset_time
        return limits, bad

    def limits(self) -> Gauges:
        with self._lock:
            return dict(self._limit)

    def remaining(self) -> Gauges:
        with self._lock:
            return dict(self._remaining)

    def reset_times(self) -> Gauges:
        with self._lock:
            return dict(self._reset)


def _reset_after_fork(ref: weakref.ReferenceType[RateLimits]) -> None:
    found = ref()
    if found is not None:
        found._lock = threading.Lock()
        for seen in (found._limit, found._remaining, found._reset, found._models):
            seen.clear()
