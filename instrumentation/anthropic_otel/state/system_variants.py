"""The A/B-test trap: how many distinct system prompts wrote to the prompt cache, per model, lately.

Every variant of a `system` prompt is a cache prefix of its own, written at 1.25x (2x for 1 h) the
input price and read only by calls of the same variant: several variants of one prompt in the same
hour usually mean the cache writes more than it saves. A call that wrote to the cache is noted here
by a digest of its `system` (never the text); the gauge `anthropic.cache.system_variants` reads the
number of distinct digests per model seen within the window. Memory is bounded: at most
`MAX_VARIANTS_PER_MODEL` digests per model (the oldest go first) and `MAX_MODELS` models.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import weakref
from collections import OrderedDict
from typing import Any, Callable

from ..extract.content import to_json

MAX_VARIANTS_PER_MODEL = 1000
MAX_MODELS = 256


def system_digest(system: Any) -> str:
    """A short digest of a `system` prompt (a string or a list of blocks), the same for equal prompts."""
    text = system if isinstance(system, str) else to_json(system)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


class SystemVariants:
    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        # model -> digest -> when last seen, oldest first.
        self._seen: dict[str, OrderedDict[str, float]] = {}
        if hasattr(os, "register_at_fork"):  # a forked child starts empty, with a lock of its own
            ref = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _reset_after_fork(ref))

    def cache_written(self, model: str, system: Any) -> None:
        """A call of `model` with this `system` wrote to the prompt cache."""
        digest = system_digest(system)
        now = self._clock()
        with self._lock:
            seen = self._seen.get(model)
            if seen is None:
                if len(self._seen) >= MAX_MODELS:
                    return
                seen = self._seen[model] = OrderedDict()
            seen[digest] = now
            seen.move_to_end(digest)
            if len(seen) > MAX_VARIANTS_PER_MODEL:
                seen.popitem(last=False)

    def counts(self) -> dict[str, int]:
        """Distinct cache-writing system prompts per model within the window (expired ones forgotten)."""
        horizon = self._clock() - self.window_s
        with self._lock:
            for model in list(self._seen):
                seen = self._seen[model]
                while seen and next(iter(seen.values())) < horizon:
                    seen.popitem(last=False)
                if not seen:
                    del self._seen[model]
            return {model: len(seen) for model, seen in self._seen.items()}


def _reset_after_fork(ref: weakref.ReferenceType[SystemVariants]) -> None:
    variants = ref()
    if variants is not None:
        variants._lock = threading.Lock()
        variants._seen.clear()
