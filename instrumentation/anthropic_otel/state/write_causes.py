"""Why a call wrote to the prompt cache: the first part of its cached prefix this process had not seen.

The API caches a prefix of the prompt in a fixed order, tools, then system, then messages, up to
the last block marked `cache_control` (the end of the prompt when the request's top-level
`cache_control` asks for automatic placement, or when no marker can be found in the body). That
prefix is cut into its three segments, and each segment gets a cumulative digest: the system
segment's digest covers the tools before it, the messages segment's covers tools and system, so a
digest names a whole prefix, as the API's own cache key does (`cache_control` markers themselves are
left out, as the cache ignores them). A call that wrote to the cache is attributed to the first
segment whose prefix is not seen: `new_tools`, `new_system` (the A/B-test trap) or `new_messages`;
with every segment seen, the API wrote a prefix that existed before: `rewritten` (its TTL lapsed or
it was evicted). All of the call's written tokens (5m and 1h) go to that one cause.

What "seen" means: a prefix is seen once a call of this process wrote it, or read past it. A read
is proof the prefix existed, but only calls that wrote do any work here (digests cost a JSON
encoding of the prompt; reads are the hot path of a well-cached application and stay free). So a
call that both read and wrote counts as seen the segments that end at or before its first
breakpoint (the API reads whole prefixes ending at a breakpoint, or, with one breakpoint, the
earlier turn's prefix found by its lookback), except its last segment, which its write reached
into. Calls that only read note nothing; the price: a prefix this process only ever read (another
replica wrote it, or this process restarted) that lapses is counted once as new, not rewritten,
and is seen from then on. Seen prefixes are forgotten after the window, counted from the last
write that carried them; the instrumentor makes it the variants window plus the longest TTL
(`LONGEST_TTL_S`), because a 1-hour entry cannot lapse sooner than an hour after it was written
(one kept alive by reads alone for longer than that is, again, counted as new when rewritten).

Digests only, never text; memory is bounded: at most `MAX_PREFIXES_PER_MODEL` digests per model
(least recently written go first) and `MAX_MODELS` models (least recently written model goes first).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Callable

from .. import semconv
from ..extract.content import is_sentinel
from .system_variants import system_digest

MAX_PREFIXES_PER_MODEL = 2048
MAX_MODELS = 64
# The longest cache TTL the API offers ("1h"), in seconds.
LONGEST_TTL_S = 3600.0

_SEQUENCES = (list, tuple)


def _is_breakpoint(block: Any) -> bool:
    if not isinstance(block, Mapping):
        return False
    marker = block.get("cache_control")
    return marker is not None and not is_sentinel(marker)


def _unmarked(block: Any) -> Any:
    """The block as the cache keys it: without its `cache_control` marker."""
    if isinstance(block, Mapping) and "cache_control" in block:
        return {k: v for k, v in block.items() if k != "cache_control"}
    return block


def _blocks(body: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(cause, what the digest covers, the raw block) for each block of the prompt, in cache order."""
    found: list[tuple[str, Any, Any]] = []
    tools = body.get("tools")
    if isinstance(tools, _SEQUENCES):
        found.extend((semconv.WRITE_CAUSE_NEW_TOOLS, _unmarked(t), t) for t in tools)
    system = body.get("system")
    if isinstance(system, _SEQUENCES):
        found.extend((semconv.WRITE_CAUSE_NEW_SYSTEM, _unmarked(b), b) for b in system)
    elif system is not None and not is_sentinel(system):
        found.append((semconv.WRITE_CAUSE_NEW_SYSTEM, system, system))
    messages = body.get("messages")
    if isinstance(messages, _SEQUENCES):
        for i, message in enumerate(messages):
            if isinstance(message, Mapping):
                role, content = message.get("role"), message.get("content")
            else:
                role, content = None, message
            # The message's place and role are part of the prompt: the same text as another turn differs.
            if isinstance(content, _SEQUENCES):
                found.extend((semconv.WRITE_CAUSE_NEW_MESSAGES, [i, role, _unmarked(b)], b) for b in content)
            else:
                found.append((semconv.WRITE_CAUSE_NEW_MESSAGES, [i, role, content], content))
    return found


def cached_segments(body: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """The segments of the cached prefix in cache order, as (cause if new, cumulative digest, whether
    a cache read of this call proves it existed). Empty segments are left out."""
    blocks = _blocks(body)
    marks = [i for i, (_, _, raw) in enumerate(blocks) if _is_breakpoint(raw)]
    automatic = body.get("cache_control")
    last = marks[-1] if marks else len(blocks) - 1
    if automatic is not None and not is_sentinel(automatic):
        last = len(blocks) - 1  # the API puts the breakpoint on the last block itself
    # No marker found (yet the API wrote): the whole prompt is the best bound there is.
    first = marks[0] if marks else last
    segments: list[tuple[str, str, bool]] = []
    previous = ""
    start = 0
    end = last + 1
    while start < end:
        cause = blocks[start][0]
        stop = start
        while stop < end and blocks[stop][0] == cause:
            stop += 1
        previous = system_digest([previous, cause, [covered for _, covered, _ in blocks[start:stop]]])
        # The write reaches into the last segment: a read never proves that one.
        segments.append((cause, previous, stop - 1 <= first and stop < end))
        start = stop
    return segments


class WriteCauses:
    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        # model -> prefix digest -> when a write last carried it, oldest first; models likewise.
        self._seen: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()
        if hasattr(os, "register_at_fork"):  # a forked child starts empty, with a lock of its own
            ref = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _reset_after_fork(ref))

    def cache_written(self, model: str, body: Mapping[str, Any], read: bool) -> str:
        """A call of `model` with this request `body` wrote to the cache (and read from it too when
        `read`): why. Its cached prefix is seen from now on."""
        segments = cached_segments(body)
        now = self._clock()
        horizon = now - self.window_s
        with self._lock:
            seen = self._seen.get(model)
            if seen is None:
                seen = self._seen[model] = OrderedDict()
                if len(self._seen) > MAX_MODELS:
                    self._seen.popitem(last=False)
            else:
                self._seen.move_to_end(model)
            while seen and next(iter(seen.values())) < horizon:
                seen.popitem(last=False)
            cause = semconv.WRITE_CAUSE_REWRITTEN
            for segment_cause, digest, proven in segments:
                if digest not in seen and not (read and proven):
                    cause = segment_cause
                    break
            for _, digest, _ in segments:
                seen[digest] = now
                seen.move_to_end(digest)
            while len(seen) > MAX_PREFIXES_PER_MODEL:
                seen.popitem(last=False)
        return cause


def _reset_after_fork(ref: weakref.ReferenceType[WriteCauses]) -> None:
    causes = ref()
    if causes is not None:
        causes._lock = threading.Lock()
        causes._seen.clear()
