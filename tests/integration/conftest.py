"""The axes most integration tests run along, as parametrized fixtures: a test that names `is_async`
or `sdk_tracing` among its arguments runs once per value, with the same test ids everywhere.

`sdk_tracing` runs both values on every SDK: where the SDK has no tracing of its own (< 1.14),
`sdk.client` ignores it and the two runs check our own span twice. A test that needs the SDK's
tracing skips itself with `sdk.SDK_TRACES`. `watchdog_held` keeps the stream watchdog from running.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from anthropic_otel.state import watchdog


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def is_async(request: pytest.FixtureRequest) -> bool:
    """Drive the sync client, then the async one."""
    return bool(request.param)


@pytest.fixture(params=[True, False], ids=["sdk-tracing", "no-sdk-tracing"])
def sdk_tracing(request: pytest.FixtureRequest) -> bool:
    """With the SDK's own tracing on (we enrich its span), then off (we make our own)."""
    return bool(request.param)


@pytest.fixture
def watchdog_held(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No watchdog thread: what the collection itself did stays visible until the test drains it."""
    watchdog.stop()
    monkeypatch.setattr(watchdog._WATCHDOG, "ensure_running", lambda _timeout_s: None)
    yield
