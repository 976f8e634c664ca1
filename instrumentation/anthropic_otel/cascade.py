"""`Cascade`: ask a cheap model first and escalate to the next model when the application's check says so.

`Cascade(["claude-haiku-4-5", "claude-sonnet-4-6"], escalate=lambda m: ..., name="triage")` sends a
request to each model in turn until `escalate(message)` returns false (or the last model answered)
and returns the kept `Message`. With the instrumentation on it records, by cascade name: requests by
the model whose answer was kept (`anthropic.cascade.requests`), escalations from one model to the next
(`anthropic.cascade.escalations`), each stage's actual cost from its usage and the price table
(`anthropic.cascade.cost.usd`, by the stage's model) and the baseline (`anthropic.cascade.baseline_cost.usd`,
by the last model): what the same traffic would have cost on the last (most capable) model alone,
taken per request as the usage of the stage whose answer was kept priced at the last model (its
actual cost when the last stage answered). Baseline minus the summed stage costs is the saving (negative
when escalations cost more than the cheap answers saved). The baseline assumes the last model would
have used the kept stage's tokens: a fair measure for classification-like work, an estimate otherwise.
A stage whose model has no price records no cost, and a request kept from it no baseline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Final

from . import _runtime, semconv
from ._guard import guard
from .extract.usage import usage_from_message

__all__ = ["MAX_CASCADE_NAMES", "Cascade"]

# Distinct cascade names recorded; a cascade named past the cap records under `semconv.CASCADE_NAME_OTHER`.
# Names are settings of the code, a handful per application: a name built per request would otherwise
# grow every cascade series without bound.
MAX_CASCADE_NAMES: Final = 100
# Longest name kept; a longer one is cut (a name is a label on a dashboard, not a description).
MAX_NAME_CHARS: Final = 128

_names: set[str] = set()
_names_lock = threading.Lock()


def _bounded_name(name: str) -> str:
    name = name[:MAX_NAME_CHARS]
    with _names_lock:
        if name in _names:
            return name
        if len(_names) < MAX_CASCADE_NAMES:
            _names.add(name)
            return name
    return semconv.CASCADE_NAME_OTHER


class Cascade:
    """Models from the cheapest to the most capable, and the check that sends a request onwards.

    `escalate` receives each stage's `Message` (all stages but the last) and returns true to ask the
    next model. An exception it raises, or one the API raises, reaches the caller unchanged; stages
    already answered stay recorded in the stage cost. Works the same with the instrumentation off
    (then nothing is recorded).
    """

    __slots__ = ("models", "escalate", "name")

    def __init__(
        self, models: Sequence[str], escalate: Callable[[Any], object], name: str = "cascade"
    ) -> None:
        models = tuple(models)
        if not models or not all(isinstance(m, str) and m for m in models):
            raise ValueError("Cascade needs at least one model, each a non-empty model ID")
        if not callable(escalate):
            raise TypeError("escalate must be callable: it receives a Message and returns true to escalate")
        if not isinstance(name, str) or not name:
            raise ValueError("Cascade name must be a non-empty string")
        self.models: tuple[str, ...] = models
        self.escalate = escalate
        self.name = _bounded_name(name)

    def create(self, client: Any, **kwargs: Any) -> Any:
        """`client.messages.create(model=..., **kwargs)` on each stage until one is kept; returns its Message."""
        _check(kwargs)
        last = len(self.models) - 1
        for stage, model in enumerate(self.models):
            message = client.messages.create(model=model, **kwargs)
            if self._kept(stage, model, message, last):
                return message
        raise AssertionError("unreachable: the last stage is always kept")  # pragma: no cover

    async def acreate(self, client: Any, **kwargs: Any) -> Any:
        """`create` for an async client."""
        _check(kwargs)
        last = len(self.models) - 1
        for stage, model in enumerate(self.models):
            message = await client.messages.create(model=model, **kwargs)
            if self._kept(stage, model, message, last):
                return message
        raise AssertionError("unreachable: the last stage is always kept")  # pragma: no cover

    def _kept(self, stage: int, model: str, message: Any, last: int) -> bool:
        """Record the stage's cost, ask `escalate` (the app's code: its exceptions propagate) and record
        the outcome; True when this stage's answer is the one returned."""
        with guard("cascade.stage"):
            self._stage_answered(model, message)
        if stage < last and self.escalate(message):
            with guard("cascade.escalated"):
                self._escalated(model, self.models[stage + 1])
            return False
        with guard("cascade.kept"):
            self._answer_kept(model, message)
        return True

    def _stage_answered(self, model: str, message: Any) -> None:
        runtime = _runtime.current
        if runtime is None:
            return
        usage = usage_from_message(message)
        if usage is None or usage.malformed:
            return
        cost = runtime.prices.cost(usage, model)
        if cost is not None:
            runtime.recorder.cascade_stage(self.name, model, cost.total)

    def _escalated(self, from_model: str, to_model: str) -> None:
        runtime = _runtime.current
        if runtime is not None:
            runtime.recorder.cascade_escalated(self.name, from_model, to_model)

    def _answer_kept(self, model: str, message: Any) -> None:
        runtime = _runtime.current
        if runtime is None:
            return
        last_model = self.models[-1]
        baseline: float | None = None
        usage = usage_from_message(message)
        # Only beside a stage cost: a baseline with no cost to compare would count as saved.
        if usage is not None and not usage.malformed and runtime.prices.price(model) is not None:
            cost = runtime.prices.cost(usage, last_model)
            baseline = None if cost is None else cost.total
        runtime.recorder.cascade_kept(self.name, model, last_model, baseline)


def _check(kwargs: dict[str, Any]) -> None:
    """The stage picks the model, and `escalate` needs a whole Message: both are the caller's mistake."""
    if "model" in kwargs:
        raise TypeError("Cascade.create() takes no model: the cascade's stages give it")
    if kwargs.get("stream"):
        raise TypeError("Cascade.create() does not stream: escalate needs each stage's whole Message")
