"""`FallbackChain`: try models in order, each with its own SDK retries, and optionally end on a canned answer.

    chain = FallbackChain(
        [Step("claude-sonnet-5", max_retries=3), Step("claude-sonnet-4-6", max_retries=2),
         Step("claude-haiku-4-5", max_retries=1)],
        canned="We are busy right now; please try again in a minute.",
    )
    message = chain.create(client, max_tokens=1024, messages=[...])          # sync client
    message = await chain.acreate(async_client, max_tokens=1024, messages=[...])  # async client

Each step calls `client.with_options(max_retries=..., timeout=...).messages.create(model=step.model,
**kwargs)`: the SDK's own retries and timeout, nothing reimplemented. A step that fails for a reason
in `move_on` (default: overload only; add `rate_limited`, `server_error`, `timeout` to move on for
429, 5xx, timeouts and connection errors) hands over to the next step; any other error (400,
authentication, ...) is raised at once, unchanged. When every step failed, the canned answer is
returned if there is one, else the last step's error is raised. The canned answer is a real
`anthropic.types.Message` whose `model` is `"canned"` (`FallbackChain.is_canned(message)`), with
zero usage and stop reason `end_turn`. Non-streamed calls only: `stream=True` raises ValueError.

While instrumented, each hop is counted once in `anthropic.fallback.hops` (reason from the error,
`to_model="canned"` for the canned answer) and named on the target call's span; the zero-code
detection is off while the chain runs, so it never counts them again. Uninstrumented, the chain
records nothing and behaves the same.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import _runtime, semconv
from ._guard import guard
from .extract.errors import error_type as classify
from .state import hops

CANNED_MODEL = semconv.FALLBACK_TO_CANNED
_CANNED_ID = "msg_canned"
# What makes the chain move on by default: an overloaded model. The others are opt-in.
DEFAULT_MOVE_ON = (semconv.FALLBACK_OVERLOADED,)


@dataclass(frozen=True)
class Step:
    """One model of a chain: its SDK retries (`max_retries`) and timeout in seconds (None: the client's)."""

    model: str
    max_retries: int | None = None
    timeout: float | None = None


class FallbackChain:
    """Models tried in order (see the module documentation)."""

    def __init__(
        self,
        steps: Sequence[Step | str],
        *,
        canned: str | None = None,
        move_on: Iterable[str] = DEFAULT_MOVE_ON,
    ) -> None:
        self.steps = tuple(s if isinstance(s, Step) else Step(s) for s in steps)
        if not self.steps:
            raise ValueError("a FallbackChain needs at least one step")
        self.canned = canned
        self.move_on = frozenset(move_on)
        unknown = self.move_on - set(semconv.FALLBACK_REASONS)
        if unknown:
            raise ValueError(
                f"unknown move_on reasons {sorted(unknown)}; expected {semconv.FALLBACK_REASONS}"
            )

    @staticmethod
    def is_canned(message: Any) -> bool:
        """Whether `message` is a chain's canned answer rather than a model's."""
        return getattr(message, "model", None) == CANNED_MODEL and getattr(message, "id", None) == _CANNED_ID

    def create(self, client: Any, **kwargs: Any) -> Any:
        """`client.messages.create(**kwargs)` down the chain, with a sync client."""
        _check(kwargs)
        token = hops.EXPLICIT.set(True)
        try:
            previous: tuple[str, str] | None = None
            error: BaseException | None = None
            for step in self.steps:
                if previous is not None:
                    _hop(previous, step.model)
                try:
                    return _messages(client, step).create(model=step.model, **kwargs)
                except Exception as err:
                    previous, error = self._moving_on(step, err), err
            return self._end(previous, error)
        finally:
            _leave(token)

    async def acreate(self, client: Any, **kwargs: Any) -> Any:
        """`await client.messages.create(**kwargs)` down the chain, with an async client."""
        _check(kwargs)
        token = hops.EXPLICIT.set(True)
        try:
            previous: tuple[str, str] | None = None
            error: BaseException | None = None
            for step in self.steps:
                if previous is not None:
                    _hop(previous, step.model)
                try:
                    return await _messages(client, step).create(model=step.model, **kwargs)
                except Exception as err:
                    previous, error = self._moving_on(step, err), err
            return self._end(previous, error)
        finally:
            _leave(token)

    def _moving_on(self, step: Step, err: Exception) -> tuple[str, str]:
        """(failed model, reason) when the chain moves on after `err`; else `err` is raised as it is."""
        reason = hops.reason_of(err, classify(err))
        if reason is None or reason not in self.move_on:
            raise err
        return step.model, reason

    def _end(self, previous: tuple[str, str] | None, error: BaseException | None) -> Any:
        """Every step failed: the canned answer, or the last error."""
        if self.canned is None or previous is None:
            assert error is not None  # every step ran and failed
            raise error
        _hop(previous, CANNED_MODEL)
        return canned_message(self.canned)


def canned_message(text: str) -> Any:
    """A `Message` carrying `text`, marked canned: `model == "canned"`, zero usage."""
    from anthropic.types import Message

    build: Any = Message  # validated from plain dicts: the nested types differ between SDK versions
    return build(
        id=_CANNED_ID,
        type="message",
        role="assistant",
        model=CANNED_MODEL,
        content=[{"type": "text", "text": text}],
        stop_reason="end_turn",
        stop_sequence=None,
        usage={"input_tokens": 0, "output_tokens": 0},
    )


def _messages(client: Any, step: Step) -> Any:
    options: dict[str, Any] = {}
    if step.max_retries is not None:
        options["max_retries"] = step.max_retries
    if step.timeout is not None:
        options["timeout"] = step.timeout
    return (client.with_options(**options) if options else client).messages


def _check(kwargs: dict[str, Any]) -> None:
    if "model" in kwargs:
        raise TypeError("FallbackChain.create() takes no model: each step names its own")
    if kwargs.get("stream"):
        raise ValueError("FallbackChain supports non-streamed calls only (stream=True given)")


def _hop(previous: tuple[str, str], to_model: str) -> None:
    """Count a hop (instrumented only) and have its target call's span name it."""
    runtime = _runtime.current
    if runtime is None:
        return
    with guard("fallback.hop"):
        hops.announce(runtime, previous[0], to_model, previous[1])


def _leave(token: contextvars.Token[bool]) -> None:
    """Detection back as it was, and no announcement left for a call outside the chain."""
    hops.PENDING.set(None)
    try:
        hops.EXPLICIT.reset(token)
    except (ValueError, RuntimeError):  # the context changed under us: detection on again all the same
        hops.EXPLICIT.set(False)
