"""The A/B-test traffic both the system-variants gauge and the write causes are derived on.

200 calls, one every 100 s of the fake's clock, system prompts of 400 characters (100 tokens) with a
5-minute `cache_control`, the variant (4, round-robin) either in the system prompt or in the user
message after one stable system prompt.
"""

from __future__ import annotations

from typing import Any

from anthropic_otel.fake import FakeAnthropic

from tests.clock import Clock

from . import sdk

CALLS = 200
VARIANTS = 4
CALL_EVERY_S = 100


def cached_system(text: str) -> list[dict[str, Any]]:
    """A 100-token system prompt with a 5-minute cache breakpoint."""
    return [{"type": "text", "text": text.ljust(400, "."), "cache_control": {"type": "ephemeral"}}]


def send_ab_test(is_async: bool, variant_in_system: bool) -> None:
    clock = Clock()
    c = sdk.client(FakeAnthropic(clock=clock), is_async)
    for i in range(CALLS):
        variant = f"Variant {i % VARIANTS}: classify the ticket."
        if variant_in_system:
            sdk.create(c, system=cached_system(variant), messages=[{"role": "user", "content": "ticket"}])
        else:
            sdk.create(
                c,
                system=cached_system("Classify the ticket."),
                messages=[{"role": "user", "content": variant}],
            )
        clock.now += CALL_EVERY_S
