"""The fake API's rate-limit headers: either static (every response judged alone, as if it were the
first of its minute) or a per-model budget of requests, input tokens and output tokens per minute
window of the fake's clock (tokens = input + output), charged by every answered request, refilled at
the window's end, and a 429 `rate_limit_error` for a request that would exceed a limit, worded as the
API words it, with that limit's remaining 0 and `retry-after` = whole seconds to the reset."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

WINDOW_SECONDS: Final = 60.0
# A model name comes from the request body: past this many, windows that ended are forgotten first.
_MAX_MODELS: Final = 1_000
# The kinds in header order; a 429 names the first one exceeded in `_EXCEED_ORDER`.
_KINDS: Final = ("input_tokens", "output_tokens", "requests", "tokens")
# The most specific limit first, the order `extract.ratelimit.exhausted_kind` reads a 429 in.
_EXCEED_ORDER: Final = ("input_tokens", "output_tokens", "tokens", "requests")

HeaderList = list[tuple[str, str]]


@dataclass(frozen=True)
class RateLimits:
    """Per-minute limits of one model; `tokens` is their sum for input and output. Defaults: the
    limits the fake has always announced."""

    requests: int = 4_000
    input_tokens: int = 2_000_000
    output_tokens: int = 400_000

    def __post_init__(self) -> None:
        if min(self.requests, self.input_tokens, self.output_tokens) < 1:
            raise ValueError("rate limits must be at least 1")

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def of(self, kind: str) -> int:
        """The limit of one kind (`requests`, `input_tokens`, `output_tokens`, `tokens`)."""
        return int(getattr(self, kind))


@dataclass(frozen=True)
class Verdict:
    """What the budget answers one request: the rate-limit headers to send, and for a request that
    would exceed a limit, which one, the API's message and the seconds to the reset."""

    headers: HeaderList
    exceeded: str | None = None
    message: str = ""
    retry_after_s: int = 0


@dataclass
class _Window:
    start: float
    used: dict[str, int]


def _words(kind: str) -> str:
    return kind.replace("_", " ")


def _rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _headers(limits: RateLimits, remaining: dict[str, int], reset: str) -> HeaderList:
    out: HeaderList = []
    for kind in _KINDS:
        name = "anthropic-ratelimit-" + kind.replace("_", "-")
        out += [
            (name + "-limit", str(limits.of(kind))),
            (name + "-remaining", str(remaining[kind])),
            (name + "-reset", reset),
        ]
    return out


def static_headers(limits: RateLimits, input_tokens: int, output_tokens: int) -> HeaderList:
    """Headers of a response judged alone: each limit minus this response's own use, reset one
    minute from now on the wall clock (no budget is kept)."""
    used = {"input_tokens": input_tokens, "output_tokens": output_tokens, "requests": 1}
    used["tokens"] = input_tokens + output_tokens
    remaining = {kind: max(0, limits.of(kind) - used[kind]) for kind in _KINDS}
    return _headers(limits, remaining, _rfc3339(time.time() + WINDOW_SECONDS))


class Budget:
    """Per-model budgets over minute windows of `clock` (Unix seconds: the reset header is an instant
    on it). Thread-safe: checking and charging one request is one step."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    def reset(self) -> None:
        """Forget every model's use (all budgets full again)."""
        with self._lock:
            self._windows = {}

    def charge(self, model: str, input_tokens: int, output_tokens: int) -> Verdict:
        """Charge one request to `model`'s current window, or refuse it (nothing charged) if it would
        exceed a limit; the headers show what is left after this request."""
        want = {"input_tokens": input_tokens, "output_tokens": output_tokens, "requests": 1}
        want["tokens"] = input_tokens + output_tokens
        with self._lock:
            window, now = self._window(model)
            end = window.start + WINDOW_SECONDS
            for kind in _EXCEED_ORDER:
                if window.used[kind] + want[kind] > self.limits.of(kind):
                    remaining = self._remaining(window)
                    remaining[kind] = 0
                    return Verdict(
                        _headers(self.limits, remaining, _rfc3339(end)),
                        kind,
                        "This request would exceed your organization's rate limit of "
                        f"{self.limits.of(kind):,} {_words(kind)} per minute (fake).",
                        max(1, math.ceil(end - now)),
                    )
            for kind in _KINDS:
                window.used[kind] += want[kind]
            return Verdict(_headers(self.limits, self._remaining(window), _rfc3339(end)))

    def peek(self, model: str) -> HeaderList:
        """The headers of `model`'s current window, charging nothing (token counting is free)."""
        with self._lock:
            window, _ = self._window(model)
            return _headers(self.limits, self._remaining(window), _rfc3339(window.start + WINDOW_SECONDS))

    def _remaining(self, window: _Window) -> dict[str, int]:
        return {kind: max(0, self.limits.of(kind) - window.used[kind]) for kind in _KINDS}

    def _window(self, model: str) -> tuple[_Window, float]:
        # Caller holds the lock. A window starts at a whole minute of the clock.
        now = self.clock()
        start = math.floor(now / WINDOW_SECONDS) * WINDOW_SECONDS
        window = self._windows.get(model)
        if window is None or window.start != start:
            if window is None and len(self._windows) >= _MAX_MODELS:
                self._windows = {m: w for m, w in self._windows.items() if w.start == start}
                if len(self._windows) >= _MAX_MODELS:
                    self._windows = {}  # a fake: forgetting use under a flood of model names is fine
            window = self._windows[model] = _Window(start, dict.fromkeys(_KINDS, 0))
        return window, now
