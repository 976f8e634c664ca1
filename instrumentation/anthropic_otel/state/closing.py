"""How the idle watchdog (another thread) closes a stream's HTTP response so the caller's read ends.

Holds the response weakly: the response carries the stream state, and a strong reference back would
keep a dropped response (and the SDK's span, which ends when it is collected) alive in a cycle. A
sync read blocked on a real connection only returns when its socket is shut down; the reader's
thread then closes the connection itself (see `_sockets`). Without a socket, close the response.
An async response is closed by a task scheduled on its own event loop.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Callable

from . import _sockets

# Keeps scheduled aclose() tasks referenced until they finish.
_PENDING_CLOSES: set[asyncio.Task[Any]] = set()


def closer(response: Any, loop: asyncio.AbstractEventLoop | None = None) -> Callable[[], None]:
    ref = weakref.ref(response)

    def close() -> None:
        target = ref()
        # A body read to its end has handed its connection back to the pool, maybe to another call.
        if target is None or getattr(target, "is_closed", False):
            return
        sock = _sockets.response_socket(target)
        if sock is None or not _sockets.shut_down(sock):
            target.close()

    if loop is None:
        return close

    def close_in_loop() -> None:
        def schedule() -> None:
            target = ref()
            if target is not None:
                _PENDING_CLOSES.add(task := loop.create_task(target.aclose()))
                task.add_done_callback(_PENDING_CLOSES.discard)

        loop.call_soon_threadsafe(schedule)

    return close_in_loop
