"""Run the fake Anthropic API over real HTTP with uvicorn: `serve()` blocks (for the CLI and
`python -m anthropic_otel.fake`), `make_server()` returns an unstarted `uvicorn.Server` that a test can
run in a background thread and stop by setting `should_exit`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .asgi import create_app
from .engine import FakeAnthropic, Fault


def make_server(
    fake: FakeAnthropic | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    seed: int | None = None,
    fault_rates: Mapping[str | Fault, float] | None = None,
    log_level: str = "warning",
    access_log: bool = False,
    **fake_kwargs: Any,
) -> Any:
    """An unstarted `uvicorn.Server` serving `fake` (or a new `FakeAnthropic(seed=..., fault_rates=...)`).

    Graceful shutdown waits at most 2 s, and shutting down closes the fake so hung streams are released."""
    import uvicorn

    if fake is None:
        fake = FakeAnthropic(seed=seed, fault_rates=fault_rates, **fake_kwargs)
    config = uvicorn.Config(
        create_app(fake),
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        timeout_graceful_shutdown=2,
        access_log=access_log,
    )
    server = uvicorn.Server(config)
    # Hung responses would otherwise hold graceful shutdown open until its timeout.
    original_shutdown = server.shutdown

    async def shutdown(sockets: Any = None) -> None:
        fake.close()
        await original_shutdown(sockets)

    server.shutdown = shutdown  # type: ignore[method-assign]
    server.fake = fake  # type: ignore[attr-defined]
    return server


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    seed: int | None = None,
    fault_rates: Mapping[str | Fault, float] | None = None,
    *,
    fake: FakeAnthropic | None = None,
    log_level: str = "info",
    access_log: bool = True,
    **fake_kwargs: Any,
) -> None:
    """Serve the fake API on http://host:port until interrupted (Ctrl-C), one log line per request
    unless `access_log` is off."""
    make_server(
        fake,
        host=host,
        port=port,
        seed=seed,
        fault_rates=fault_rates,
        log_level=log_level,
        access_log=access_log,
        **fake_kwargs,
    ).run()
