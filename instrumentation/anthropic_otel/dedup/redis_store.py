"""The shared dedup store in Redis, spoken to only from the detector's background worker.

A key is `anthropic_otel:dedup:v1:<fingerprint>`; its value is the state alone: `completed`, or
`in_flight <owner>` where owner is an opaque random token of the process and ticket that wrote the
mark (so a failing call clears only its own mark). Nothing else: no prompt content, no model, no
token counts (a duplicate's billed tokens are its own, known to the process that sent it). Marking in
flight is one atomic Lua script (read the old state, set ours if absent), and a batch of operations
goes out as one pipeline: one round trip per batch, not per call. `redis` is an optional dependency,
imported when a store is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

KEY_PREFIX: Final = "anthropic_otel:dedup:v1:"

BEGIN: Final = 1
COMPLETE: Final = 2
CLEAR: Final = 3

IN_FLIGHT_VALUE: Final = "in_flight "  # followed by the owner token
COMPLETED_VALUE: Final = "completed"

# (kind, fingerprint, owner token, ttl in seconds)
Op = tuple[int, str, str, float]

# Returns the existing value, or false after writing ours: one atomic step, so two processes
# starting the same request at once cannot both see it absent.
_BEGIN_LUA: Final = """
local old = redis.call('GET', KEYS[1])
if old then return old end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""
_CLEAR_LUA: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisStore:
    def __init__(self, url: str, timeout_s: float = 0.5) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries inside redis-py: an outage is handled by falling back to memory, and a
        # retrying client would only hold the worker up while the queue fills.
        self._client: Any = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            **_driver_info(redis),
        )

    def run(self, ops: Sequence[Op]) -> list[str | None]:
        """Apply `ops` in one pipeline; for each BEGIN the state found before it (None if absent)."""
        pipe = self._client.pipeline(transaction=False)
        for kind, fp, owner, ttl_s in ops:
            key = KEY_PREFIX + fp
            ttl_ms = max(1, int(ttl_s * 1000))
            if kind == BEGIN:
                pipe.eval(_BEGIN_LUA, 1, key, IN_FLIGHT_VALUE + owner, ttl_ms)
            elif kind == COMPLETE:
                pipe.set(key, COMPLETED_VALUE, px=ttl_ms)
            else:
                pipe.eval(_CLEAR_LUA, 1, key, IN_FLIGHT_VALUE + owner)
        results = pipe.execute()
        states: list[str | None] = []
        for (kind, *_), result in zip(ops, results):
            if kind != BEGIN:
                states.append(None)
            elif result is None:
                states.append(None)
            else:
                text = result.decode() if isinstance(result, bytes) else str(result)
                states.append(text.partition(" ")[0])
        return states

    def close(self) -> None:
        self._client.close()


def _driver_info(redis: Any) -> dict[str, Any]:
    """The client library's name and version, given up front.

    Otherwise redis-py looks its own version up in the installed package metadata on every new
    connection: a scan of sys.path that, on a worker thread competing for the GIL with a busy app,
    delayed the first Redis answer by seconds in the benchmark.
    """
    try:
        from redis.driver_info import DriverInfo
    except ImportError:  # redis-py < 7: the older keyword arguments
        return {"lib_name": "redis-py", "lib_version": redis.__version__}
    return {"driver_info": DriverInfo(name="redis-py", lib_version=redis.__version__)}
