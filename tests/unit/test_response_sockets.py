"""Finding the socket under an HTTP response and shutting it down, over real localhost connections
made by the installed httpcore generation (httpcore2 for SDK >= 1.0, httpcore before)."""

from __future__ import annotations

import importlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from anthropic_otel.fake.transport import resolve_lib
from anthropic_otel.state._sockets import response_socket, shut_down

HTTPX = importlib.import_module(resolve_lib())
HTTPCORE = importlib.import_module(resolve_lib().replace("httpx", "httpcore"))


@pytest.fixture
def connection() -> Iterator[tuple[Any, socket.socket]]:
    """(httpcore network stream connected to a localhost listener, the listener's accepted socket)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        stream = HTTPCORE.SyncBackend().connect_tcp("127.0.0.1", port, timeout=5.0)
        peer, _ = listener.accept()
        try:
            yield stream, peer
        finally:
            stream.close()
            peer.close()


def _response(http_version: bytes, network_stream: Any) -> Any:
    extensions = {"http_version": http_version, "network_stream": network_stream}
    return HTTPX.Response(200, extensions=extensions)


def test_socket_of_an_http11_response(connection: tuple[Any, socket.socket]) -> None:
    stream, _peer = connection
    assert response_socket(_response(b"HTTP/1.1", stream)) is stream.get_extra_info("socket")


def test_no_socket_for_http2_or_without_a_network_stream(connection: tuple[Any, socket.socket]) -> None:
    stream, _peer = connection
    # An HTTP/2 connection is shared with other requests: it is never shut down for one stream.
    assert response_socket(_response(b"HTTP/2", stream)) is None
    assert response_socket(HTTPX.Response(200)) is None  # in-process transports
    assert response_socket(object()) is None


def test_shut_down_ends_a_read_in_another_thread(connection: tuple[Any, socket.socket]) -> None:
    stream, peer = connection
    peer.sendall(b"first")
    assert stream.read(100, timeout=5.0) == b"first"
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(stream.read(100, timeout=30.0)), daemon=True)
    reader.start()
    sock = response_socket(_response(b"HTTP/1.1", stream))
    assert sock is not None and shut_down(sock)
    reader.join(2.0)
    assert not reader.is_alive() and got == [b""]  # end of file, not the 30 s read timeout
    assert peer.recv(100) == b""  # the server sees the connection end too


def test_shut_down_of_a_closed_socket_is_a_no_op(connection: tuple[Any, socket.socket]) -> None:
    stream, _peer = connection
    sock = stream.get_extra_info("socket")
    stream.close()
    assert shut_down(sock) is False
