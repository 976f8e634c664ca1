"""The fake API served over real HTTP on localhost: what a socket does that the in-process transport hides."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.fake.server import make_server

from tests.polling import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fake_over_http(fake: FakeAnthropic) -> Iterator[str]:
    """`fake` served in a thread on a fresh 127.0.0.1 port; yields its base URL. Leaving stops the
    server (its shutdown closes the fake first) and checks that its thread ended."""
    port = free_port()
    server = make_server(fake, port=port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: bool(server.started), 5.0)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5.0)
    assert not thread.is_alive()
