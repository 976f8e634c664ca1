"""The in-process dedup store: a bounded LRU of fingerprints with per-entry expiry.

Each entry is `(state, expires_at, owner)`, where `owner` is the ticket number that wrote an in-flight
mark, so a failing call clears only its own mark. All operations are O(1) under one short lock (no
awaits, no I/O), which makes the store safe from threads and from asyncio tasks alike. The size never
exceeds `cap`: the least recently used fingerprint is evicted first, and expired entries at the old
end are dropped as they are met.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Final

from .. import semconv

DEFAULT_CAP: Final = 100_000
IN_FLIGHT: Final = semconv.DUPLICATE_IN_FLIGHT
COMPLETED: Final = semconv.DUPLICATE_COMPLETED

_Entry = tuple[str, float, int]
# How many expired entries one call may sweep from the old end: keeps every call O(1).
_SWEEP: Final = 2


class MemoryStore:
    def __init__(self, cap: int = DEFAULT_CAP, clock: Callable[[], float] = time.monotonic) -> None:
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self.cap = cap
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, fp: str, owner: int, in_flight_ttl_s: float) -> str | None:
        """The state already recorded for `fp` (None if absent or expired); marks it in flight if absent.

        A present entry is left as it is: a duplicate of a completed call must not shorten or
        reset the window, and a second in-flight copy does not take over the first one's mark.
        """
        now = self._clock()
        entries = self._entries
        with self._lock:
            found = entries.get(fp)
            if found is not None and found[1] > now:
                entries.move_to_end(fp)
                return found[0]
            entries[fp] = (IN_FLIGHT, now + in_flight_ttl_s, owner)
            entries.move_to_end(fp)
            self._trim(now)
            return None

    def complete(self, fp: str, window_s: float) -> None:
        """Mark `fp` completed for `window_s` seconds from now."""
        now = self._clock()
        entries = self._entries
        with self._lock:
            entries[fp] = (COMPLETED, now + window_s, 0)
            entries.move_to_end(fp)
            self._trim(now)

    def clear(self, fp: str, owner: int) -> None:
        """Remove `fp`'s in-flight mark if it is still the one `owner` wrote."""
        with self._lock:
            found = self._entries.get(fp)
            if found is not None and found[0] == IN_FLIGHT and found[2] == owner:
                del self._entries[fp]

    def get(self, fp: str) -> str | None:
        """The live state of `fp`, without touching recency (for tests and diagnostics)."""
        with self._lock:
            found = self._entries.get(fp)
        if found is None or found[1] <= self._clock():
            return None
        return found[0]

    def _trim(self, now: float) -> None:
        entries = self._entries
        while len(entries) > self.cap:
            entries.popitem(last=False)
        for _ in range(_SWEEP):
            if not entries:
                break
            oldest = next(iter(entries.values()))
            if oldest[1] > now:
                break
            entries.popitem(last=False)

    def reset_lock(self) -> None:
        """After fork: the lock may have been held by a thread that does not exist in the child."""
        self._lock = threading.Lock()
