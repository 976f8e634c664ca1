"""e2e fixtures: a real redis-server per test module (skipped, with the reason printed, only when the
binary is not installed) and a clean database before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.redis_server import RedisServer, redis_binary


@pytest.fixture(scope="module")
def redis_server_module() -> Iterator[RedisServer]:
    binary = redis_binary()
    if binary is None:
        reason = "redis-server not installed (apt-get install -y redis-server); CI installs it"
        print(reason)
        pytest.skip(reason)
    server = RedisServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_server(redis_server_module: RedisServer) -> RedisServer:
    """The module's server, running (restarted if a test killed it) and empty."""
    server = redis_server_module
    if server.process is None:
        server.start()
    server.resume()
    assert server.command("FLUSHALL") == b"+OK\r\n"
    return server
