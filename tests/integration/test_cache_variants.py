"""The A/B-test trap on real SDK calls over the fake API: `anthropic.cache.system_variants`.

Hand derivation: one call every 100 s of the fake's clock, 200 calls, system prompts of 400
characters (100 tokens) with a 5-minute `cache_control`. Round-robin over 4 variants, each variant
comes back every 400 s, after its 300 s TTL: every call writes its 100 tokens again (20,000 written,
0 read, hit ratio 0). The same traffic with one stable system prompt and the variant in the user
message: the first call writes 100, the 199 others read within the TTL (19,900 read, hit ratio
19,900 / 20,000 = 0.995). The gauge counts 4 cache-writing system prompts, then 1.
"""

from __future__ import annotations

from typing import Any

from anthropic_otel.fake import FakeAnthropic

from . import sdk
from .ab_test import send_ab_test


def _traffic(telemetry: Any, is_async: bool, variant_in_system: bool) -> tuple[float, float, float]:
    send_ab_test(is_async, variant_in_system)
    tokens = "anthropic.tokens"
    read = telemetry.value(tokens, anthropic__token__type="cache_read")
    written = telemetry.value(tokens, anthropic__token__type="cache_write_5m")
    gauge = telemetry.value("anthropic.cache.system_variants", gen_ai__request__model=sdk.MODEL)
    return gauge, written, read


def test_four_system_variants_round_robin_write_every_call(telemetry: Any, is_async: bool) -> None:
    gauge, written, read = _traffic(telemetry, is_async, variant_in_system=True)
    assert (gauge, written, read) == (4, 20_000, 0)
    assert [dict(p.attributes) for p in telemetry.points("anthropic.cache.system_variants")] == [
        {"gen_ai.request.model": sdk.MODEL}
    ]


def test_one_stable_system_with_the_variant_in_the_message_reads(telemetry: Any, is_async: bool) -> None:
    gauge, written, read = _traffic(telemetry, is_async, variant_in_system=False)
    assert (gauge, written, read) == (1, 100, 19_900)
    assert read / (read + written) == 0.995


def test_calls_that_write_nothing_are_no_variant(telemetry: Any) -> None:
    c = sdk.client(FakeAnthropic(), False)
    sdk.create(c, system="no cache_control here", messages=[{"role": "user", "content": "hi"}])
    sdk.create(c, messages=[{"role": "user", "content": "no system"}])
    assert telemetry.points("anthropic.cache.system_variants") == []
