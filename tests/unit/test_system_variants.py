"""The A/B-trap tracker: distinct cache-writing system prompts per model within a window, bounded."""

from __future__ import annotations

from typing import Any

import pytest
from anthropic_otel.state import system_variants
from anthropic_otel.state.system_variants import SystemVariants, system_digest

from tests.clock import Clock


def _blocks(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]


def test_equal_prompts_share_a_digest_and_different_ones_do_not() -> None:
    assert system_digest(_blocks("A" * 400)) == system_digest(_blocks("A" * 400))
    assert system_digest(_blocks("A" * 400)) != system_digest(_blocks("B" * 400))
    assert system_digest("plain text") != system_digest(_blocks("plain text"))
    assert len(system_digest("x")) == 24  # the text itself is never kept


def test_variants_are_counted_per_model_and_forgotten_after_the_window() -> None:
    clock = Clock(1000.0)
    variants = SystemVariants(window_s=3600.0, clock=clock)
    for i in range(4):
        variants.cache_written("sonnet", _blocks(f"variant {i}"))
        clock.now += 60
    variants.cache_written("sonnet", _blocks("variant 0"))  # seen again at 1240: counted once
    variants.cache_written("haiku", "one prompt")
    assert variants.counts() == {"sonnet": 4, "haiku": 1}
    clock.now = 1060 + 3600 + 1  # variants 1 (seen at 1060) and older are out of the window; 0 was renewed
    assert variants.counts() == {"sonnet": 3, "haiku": 1}
    clock.now = 1240 + 3600 + 1
    assert variants.counts() == {}


def test_memory_is_bounded_per_model_and_in_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_variants, "MAX_VARIANTS_PER_MODEL", 5)
    monkeypatch.setattr(system_variants, "MAX_MODELS", 3)
    variants = SystemVariants(window_s=3600.0, clock=Clock())
    for i in range(50):
        variants.cache_written("sonnet", f"prompt {i}")
    for model in ("a", "b", "c", "d"):
        variants.cache_written(model, "p")
    assert variants.counts() == {"sonnet": 5, "a": 1, "b": 1}
