"""The field's 4-step fallback chain, its fault scripts and what each branch must record.

Sonnet (max_retries 3) -> Sonnet 4.6 (2) -> Haiku 4.5 (1) -> a canned answer. One per-model
`x-fake-faults` header drives every branch: a model the script does not name answers at once.
A step with `max_retries` n that is overloaded throughout makes n + 1 attempts, all 529.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic

FIRST, SECOND, THIRD = "claude-sonnet-5", "claude-sonnet-4-6", "claude-haiku-4-5"
CHAIN = ((FIRST, 3), (SECOND, 2), (THIRD, 1))
CANNED_TEXT = "We are busy right now; please try again in a minute."
MESSAGES = [{"role": "user", "content": "Summarise the incident report."}]

# Overloaded throughout: 4, 3 and 2 attempts (max_retries + 1).
_DOWN = {FIRST: "529,529,529,529", SECOND: "529,529,529", THIRD: "529,529"}


def script(failing: int) -> str:
    """The fault header when the first `failing` steps are overloaded throughout."""
    return ";".join(f"{model}={_DOWN[model]}" for model, _ in CHAIN[:failing]) or "ok"


# Branch -> how many steps fail, the attempts {(model, status): n} and the hops the zero-code
# detection sees {(from, to, reason): n}: each step that fails is followed by the next step.
BRANCHES: dict[str, int] = {"step1": 0, "step2": 1, "step3": 2, "canned": 3}
ATTEMPTS: dict[str, dict[tuple[str, int], int]] = {
    "step1": {(FIRST, 200): 1},
    "step2": {(FIRST, 529): 4, (SECOND, 200): 1},
    "step3": {(FIRST, 529): 4, (SECOND, 529): 3, (THIRD, 200): 1},
    "canned": {(FIRST, 529): 4, (SECOND, 529): 3, (THIRD, 529): 2},
}
HOPS: dict[str, dict[tuple[str, str, str], int]] = {
    "step1": {},
    "step2": {(FIRST, SECOND, "overloaded"): 1},
    "step3": {(FIRST, SECOND, "overloaded"): 1, (SECOND, THIRD, "overloaded"): 1},
    # The hand-written chain's canned answer makes no call: nothing to detect for the last hop.
    "canned": {(FIRST, SECOND, "overloaded"): 1, (SECOND, THIRD, "overloaded"): 1},
}
ANSWERED_BY = {"step1": FIRST, "step2": SECOND, "step3": THIRD, "canned": None}


def _overloaded(err: anthropic.APIStatusError) -> bool:
    return err.status_code == 529


def hand_written(client: Any, faults: str, messages: Any = None) -> str:
    """The chain as an application writes it, with no help from us (sync client)."""
    for model, retries in CHAIN:
        try:
            message = client.with_options(max_retries=retries).messages.create(
                model=model,
                max_tokens=64,
                messages=messages or MESSAGES,
                extra_headers={"x-fake-faults": faults},
            )
            return str(message.model)
        except anthropic.APIStatusError as err:
            if not _overloaded(err):
                raise
    return CANNED_TEXT


async def ahand_written(client: Any, faults: str, messages: Any = None) -> str:
    """The same chain with the async client, in one task."""
    for model, retries in CHAIN:
        try:
            message = await client.with_options(max_retries=retries).messages.create(
                model=model,
                max_tokens=64,
                messages=messages or MESSAGES,
                extra_headers={"x-fake-faults": faults},
            )
            return str(message.model)
        except anthropic.APIStatusError as err:
            if not _overloaded(err):
                raise
    return CANNED_TEXT


def run_hand_written(client: Any, faults: str) -> str:
    if isinstance(client, anthropic.AsyncAnthropic):
        return str(asyncio.run(ahand_written(client, faults)))
    return hand_written(client, faults)


def hops(telemetry: Any) -> dict[tuple[str, str, str], int]:
    """Every hop series with a count, as {(from, to, reason): n}."""
    found = {}
    for point in telemetry.points("anthropic.fallback.hops"):
        a = point.attributes
        if point.value:
            key = (
                a["anthropic.fallback.from_model"],
                a["anthropic.fallback.to_model"],
                a["anthropic.fallback.reason"],
            )
            found[key] = int(point.value)
    return found


def attempts(telemetry: Any) -> dict[tuple[str, int], int]:
    """Every attempt series with a count, as {(model, status): n}."""
    found: dict[tuple[str, int], int] = {}
    for point in telemetry.points("anthropic.attempts"):
        a = point.attributes
        if point.value:
            key = (a["gen_ai.request.model"], a.get("http.response.status_code"))
            found[key] = found.get(key, 0) + int(point.value)
    return found


# The explicit helper counts the same hops, and the last one to the canned answer too.
HELPER_HOPS: dict[str, dict[tuple[str, str, str], int]] = {
    **HOPS,
    "canned": {**HOPS["canned"], (THIRD, "canned", "overloaded"): 1},
}
