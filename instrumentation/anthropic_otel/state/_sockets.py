"""Find the socket under an HTTP response, for both httpx generations, and shut it down so a
blocking read in another thread returns.

Closing a sync response from the idle watchdog's thread does not wake the caller's thread blocked
in `recv()` on that connection, and closing the file descriptor under a running `recv()` is unsafe
(the number can be reused at once). `shutdown(SHUT_RDWR)` is the one call that makes the blocked
read return (end of file), after which the HTTP library raises its own error for a broken read in
the caller's thread and closes the connection there. The socket is found through the documented
`network_stream` response extension that httpcore and httpcore2 set on HTTP/1.1 responses, which
httpx and httpx2 copy onto their own response (the SDK's span-ending body wrapper on 2.x replaces
`response.stream`, not the extensions).
"""

from __future__ import annotations

import socket
from typing import Any

# An HTTP/2 connection carries other requests' streams: shutting its socket down would break them.
_DEDICATED_CONNECTIONS = frozenset({b"HTTP/1.1", b"HTTP/1.0"})


def response_socket(response: Any) -> socket.socket | None:
    """The socket of the HTTP/1.x connection `response` is read from, or None if there is none to find
    (an in-process transport, HTTP/2, a transport that does not expose its network stream)."""
    extensions = getattr(response, "extensions", None)
    if not isinstance(extensions, dict):
        return None
    if extensions.get("http_version") not in _DEDICATED_CONNECTIONS:
        return None
    get_extra_info = getattr(extensions.get("network_stream"), "get_extra_info", None)
    if get_extra_info is None:
        return None
    sock = get_extra_info("socket")
    return sock if isinstance(sock, socket.socket) else None


def shut_down(sock: socket.socket) -> bool:
    """Shut both directions of `sock` down; False if it is already closed or not connected.

    The plain socket's method, also for a TLS socket: `SSLSocket.shutdown` would drop its TLS state
    under the reader's feet; the reader's TLS read sees end of file either way."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:  # closed, or the peer already went away: nothing left to interrupt
        return False
    return True
