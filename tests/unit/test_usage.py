"""Billed token counts from messages and streams: hand-written rules, then every corpus record."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace
from typing import Any

import pytest
from anthropic_otel import semconv
from anthropic_otel.extract import StreamUsage, Usage, usage_from_message
from anthropic_otel.extract.usage import MALFORMED_USAGE, MAX_TOKENS_PER_FIELD, usage_from_sse_text

from tests import corpus

# Compaction: billed tokens are the sum over usage.iterations, while the corpus `expect` holds the
# top-level usage (last pass only). Sums computed by hand from the bodies:
#   ruby-llm-sonnet46-compaction-1: iterations (in 99195, out 81) + (in 162, out 11), no cache
#     -> input 99357, output 92.
#   pydantic-ai-sonnet46-compaction-cache-read-stream-1 (iterations in the message_delta):
#     (in 100, out 83, cache_read 55096) + (in 181, out 8) -> input 281, output 91, cache_read 55096.
COMPACTION = {
    # The passes share the top-level usage's tier and region, kept as recorded (the cassette's filter
    # replaced the region with its placeholder).
    "ruby-llm-sonnet46-compaction-1": Usage(
        input=99357,
        output=92,
        cache_write_5m=0,
        cache_write_1h=0,
        cache_read=0,
        service_tier="standard",
        inference_geo="<GOOGLE_CLOUD_LOCATION>",
    ),
    "pydantic-ai-sonnet46-compaction-cache-read-stream-1": Usage(
        input=281,
        output=91,
        cache_write_5m=0,
        cache_write_1h=0,
        cache_read=55096,
        service_tier="standard",
        inference_geo="global",
    ),
}


def _check_against_expect(rec: dict[str, Any], got: Usage | None) -> None:
    assert got is not None
    if rec["id"] in COMPACTION:
        assert got == COMPACTION[rec["id"]]
        # The divergence is deliberate: expect still shows the last pass only.
        assert rec["expect"]["input_tokens"] < got.input
        return
    assert '"iterations"' not in rec["body"], "new compaction record: add its hand-computed sum above"
    exp = rec["expect"]
    assert got.input == exp["input_tokens"]
    assert got.output == exp["output_tokens"]
    assert got.cache_write_5m + got.cache_write_1h == exp["cache_creation_input_tokens"]
    assert got.cache_read == exp["cache_read_input_tokens"]
    if exp["cache_write_5m"] is not None:
        assert got.cache_write_5m == exp["cache_write_5m"]
    if exp["cache_write_1h"] is not None:
        assert got.cache_write_1h == exp["cache_write_1h"]
    if exp["cache_write_5m"] is None and exp["cache_write_1h"] is None:
        # No split object in the response: every write is a 5-minute write.
        assert got.cache_write_1h == 0


@pytest.mark.parametrize("rec", corpus.params("message"))
def test_corpus_message(rec: dict[str, Any]) -> None:
    _check_against_expect(rec, usage_from_message(json.loads(rec["body"])))


@pytest.mark.parametrize("rec", corpus.params("stream"))
def test_corpus_stream(rec: dict[str, Any]) -> None:
    _check_against_expect(rec, usage_from_sse_text(rec["body"]))


@pytest.mark.parametrize("rec", corpus.params("stream"))
def test_corpus_stream_model_and_stop_reason(rec: dict[str, Any]) -> None:
    stream = StreamUsage()
    for _, data in corpus.sse_events(rec["body"]):
        if data:
            stream.feed(json.loads(data))
    assert stream.model == rec["expect"]["model"]
    assert stream.stop_reason == rec["expect"]["stop_reason"]


def test_corpus_has_enough_records() -> None:
    records = corpus.load_corpus()
    assert sum(r["kind"] == "message" for r in records) >= 10
    assert sum(r["kind"] == "stream" for r in records) >= 10
    # Both compaction records are still there, so their hand-computed sums are exercised.
    assert set(COMPACTION) <= {r["id"] for r in records}


# --- SDK objects (attribute access) -----------------------------------------------------------


def test_sdk_message_object() -> None:
    types = pytest.importorskip("anthropic.types")
    body = json.loads(corpus.record("openllmetry-sonnet35-cache-write-1")["body"])
    msg = types.Message.model_validate(body)
    assert usage_from_message(msg) == Usage(4, 187, 1163, 0, 0)


def test_sdk_beta_message_with_iterations() -> None:
    beta = pytest.importorskip("anthropic.types.beta")
    models = pytest.importorskip("anthropic._models")
    # The SDK builds response objects leniently (construct_type), so older SDKs without the
    # compaction block type still hand the app an object with the recorded usage.
    body = json.loads(corpus.record("ruby-llm-sonnet46-compaction-1")["body"])
    msg = models.construct_type(type_=beta.BetaMessage, value=body)
    assert usage_from_message(msg) == COMPACTION["ruby-llm-sonnet46-compaction-1"]


def test_sdk_stream_events() -> None:
    beta = pytest.importorskip("anthropic.types.beta")
    rec = corpus.record("pydantic-ai-sonnet46-compaction-cache-read-stream-1")
    stream = StreamUsage()
    for _, data in corpus.sse_events(rec["body"]):
        if not data:
            continue
        event = json.loads(data)
        if event["type"] == "message_start":
            stream.feed(beta.BetaRawMessageStartEvent.model_validate(event))
        elif event["type"] == "message_delta":
            stream.feed(beta.BetaRawMessageDeltaEvent.model_validate(event))
        else:
            stream.feed(SimpleNamespace(type=event["type"]))
    assert stream.usage == COMPACTION[rec["id"]]
    assert stream.model == "claude-sonnet-4-6"
    assert stream.stop_reason == "end_turn"


# --- Usage ------------------------------------------------------------------------------------


def test_usage_properties() -> None:
    u = Usage(input=10, output=7, cache_write_5m=100, cache_write_1h=200, cache_read=900)
    assert u.cache_write == 300
    assert u.total_input == 1210
    assert u.billed_total == 1217
    assert u.hit_ratio == 0.75  # 900 / (900 + 300)
    assert u.by_type() == (
        ("input", 10),
        ("output", 7),
        ("cache_write_5m", 100),
        ("cache_write_1h", 200),
        ("cache_read", 900),
    )
    assert tuple(t for t, _ in u.by_type()) == semconv.TOKEN_TYPES


def test_hit_ratio_none_without_cache_and_zero_on_pure_write() -> None:
    assert Usage(5, 5, 0, 0, 0).hit_ratio is None
    assert Usage(5, 5, 10, 0, 0).hit_ratio == 0.0
    assert Usage(5, 5, 0, 0, 10).hit_ratio == 1.0


def test_usage_is_frozen_and_slotted() -> None:
    u = Usage(1, 2, 3, 4, 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        u.input = 9  # type: ignore[misc]
    assert not hasattr(u, "__dict__")


# --- usage_from_message rules -----------------------------------------------------------------


def test_plain_usage_without_cache_fields() -> None:
    assert usage_from_message({"usage": {"input_tokens": 17, "output_tokens": 220}}) == Usage(
        17, 220, 0, 0, 0
    )


def test_cache_creation_split_present() -> None:
    msg = {
        "usage": {
            "input_tokens": 3,
            "output_tokens": 4,
            "cache_creation_input_tokens": 300,
            "cache_read_input_tokens": 50,
            "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
        }
    }
    assert usage_from_message(msg) == Usage(3, 4, 100, 200, 50)


def test_cache_creation_split_absent_means_all_5m() -> None:
    msg = {"usage": {"input_tokens": 4, "output_tokens": 187, "cache_creation_input_tokens": 1163}}
    assert usage_from_message(msg) == Usage(4, 187, 1163, 0, 0)


def test_cache_creation_null_split_means_all_5m() -> None:
    msg = {
        "usage": {
            "input_tokens": 1,
            "output_tokens": 1,
            "cache_creation_input_tokens": 9,
            "cache_creation": None,
        }
    }
    assert usage_from_message(msg) == Usage(1, 1, 9, 0, 0)


@pytest.mark.parametrize(
    ("total", "split_5m", "split_1h", "want_5m", "want_1h"),
    [
        (500, 100, 200, 300, 200),  # split short by 200: remainder goes to 5m
        (250, 100, 200, 50, 200),  # split over by 50: 5m absorbs it
        (150, 0, 200, 0, 150),  # 1h alone exceeds the total: capped at the total
        (0, 10, 10, 0, 0),  # the billed total says nothing was written
    ],
)
def test_inconsistent_split_trusts_total(
    total: int, split_5m: int, split_1h: int, want_5m: int, want_1h: int
) -> None:
    msg = {
        "usage": {
            "input_tokens": 1,
            "output_tokens": 1,
            "cache_creation_input_tokens": total,
            "cache_creation": {"ephemeral_5m_input_tokens": split_5m, "ephemeral_1h_input_tokens": split_1h},
        }
    }
    got = usage_from_message(msg)
    assert got is not None
    assert (got.cache_write_5m, got.cache_write_1h) == (want_5m, want_1h)


def test_split_used_when_total_missing_or_malformed() -> None:
    split = {"ephemeral_5m_input_tokens": 7, "ephemeral_1h_input_tokens": 11}
    missing = {"usage": {"input_tokens": 1, "output_tokens": 2, "cache_creation": split}}
    junk = {
        "usage": {
            "input_tokens": 1,
            "output_tokens": 2,
            "cache_creation_input_tokens": "18",
            "cache_creation": split,
        }
    }
    assert usage_from_message(missing) == Usage(1, 2, 7, 11, 0)
    assert usage_from_message(junk) == Usage(1, 2, 7, 11, 0)


def test_iterations_are_summed() -> None:
    msg = {
        "usage": {
            # top level = last pass only
            "input_tokens": 40,
            "output_tokens": 5,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "iterations": [
                {
                    "type": "compaction",
                    "input_tokens": 1000,
                    "output_tokens": 60,
                    "cache_creation_input_tokens": 300,
                    "cache_read_input_tokens": 2000,
                    "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
                },
                {"type": "message", "input_tokens": 40, "output_tokens": 5, "cache_creation_input_tokens": 8},
            ],
        }
    }
    # input 1000+40, output 60+5, 5m 100+8 (no split in pass 2: all 5m), 1h 200, read 2000
    assert usage_from_message(msg) == Usage(1040, 65, 108, 200, 2000)


def test_empty_or_malformed_iterations_fall_back_to_top_level() -> None:
    base = {"input_tokens": 12, "output_tokens": 3}
    assert usage_from_message({"usage": {**base, "iterations": []}}) == Usage(12, 3, 0, 0, 0)
    assert usage_from_message({"usage": {**base, "iterations": None}}) == Usage(12, 3, 0, 0, 0)
    assert usage_from_message({"usage": {**base, "iterations": "oops"}}) == Usage(12, 3, 0, 0, 0)
    # A junk element counts as zero; the good one still counts.
    junk_element = {"usage": {**base, "iterations": [None, 5, {"input_tokens": 9, "output_tokens": 1}]}}
    assert usage_from_message(junk_element) == Usage(9, 1, 0, 0, 0)


@pytest.mark.parametrize("bad", ["12", -5, 3.0, True, None, [1], {"n": 1}])
def test_malformed_values_count_as_zero(bad: object) -> None:
    msg = {
        "usage": {
            "input_tokens": bad,
            "output_tokens": 8,
            "cache_creation_input_tokens": bad,
            "cache_read_input_tokens": bad,
        }
    }
    assert usage_from_message(msg) == Usage(0, 8, 0, 0, 0)


@pytest.mark.parametrize("message", [{}, {"usage": None}, None, 42, "text", SimpleNamespace()])
def test_no_usage_block_gives_none(message: object) -> None:
    assert usage_from_message(message) is None


def test_attribute_objects_and_raising_properties() -> None:
    msg = SimpleNamespace(
        usage=SimpleNamespace(
            input_tokens=5,
            output_tokens=6,
            cache_creation_input_tokens=30,
            cache_read_input_tokens=None,
            cache_creation=SimpleNamespace(ephemeral_5m_input_tokens=10, ephemeral_1h_input_tokens=20),
        )
    )
    assert usage_from_message(msg) == Usage(5, 6, 10, 20, 0)

    class Exploding:
        @property
        def usage(self) -> object:
            raise RuntimeError("boom")

    assert usage_from_message(Exploding()) is None


# --- StreamUsage --------------------------------------------------------------------------------


def _start(usage: dict[str, Any], model: str = "claude-sonnet-4-6") -> dict[str, Any]:
    return {"type": "message_start", "message": {"model": model, "usage": usage}}


def _delta(usage: dict[str, Any] | None, stop_reason: str | None = "end_turn") -> dict[str, Any]:
    event: dict[str, Any] = {"type": "message_delta", "delta": {"stop_reason": stop_reason}}
    if usage is not None:
        event["usage"] = usage
    return event


def test_stream_without_message_start_is_none() -> None:
    s = StreamUsage()
    assert s.usage is None
    s.feed(_delta({"output_tokens": 5}))
    s.feed({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "hi"}})
    assert s.usage is None


def test_stream_message_start_only() -> None:
    s = StreamUsage()
    s.feed(
        _start({"input_tokens": 17, "output_tokens": 1, "cache_read_input_tokens": 3}, model="claude-3-haiku")
    )
    assert s.usage == Usage(17, 1, 0, 0, 3)
    assert s.model == "claude-3-haiku"
    assert s.stop_reason is None


def test_stream_old_api_delta_has_output_only() -> None:
    s = StreamUsage()
    s.feed(
        _start(
            {
                "input_tokens": 4,
                "output_tokens": 1,
                "cache_creation_input_tokens": 1165,
                "cache_read_input_tokens": 0,
            }
        )
    )
    s.feed({"type": "ping"})
    s.feed(_delta({"output_tokens": 201}))
    s.feed({"type": "message_stop"})
    assert s.usage == Usage(4, 201, 1165, 0, 0)
    assert s.stop_reason == "end_turn"


def test_stream_delta_overrides_field_by_field_and_last_wins() -> None:
    s = StreamUsage()
    s.feed(
        _start(
            {
                "input_tokens": 100,
                "output_tokens": 7,
                "cache_creation_input_tokens": 30,
                "cache_read_input_tokens": 500,
                "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 20},
            }
        )
    )
    # First delta: input changed, cache_read omitted (kept from message_start), cache write null (kept).
    s.feed(
        _delta(
            {"input_tokens": 150, "output_tokens": 40, "cache_creation_input_tokens": None}, stop_reason=None
        )
    )
    assert s.usage == Usage(150, 40, 10, 20, 500)
    # Second delta: cumulative counts replace, never add up (150 + 181 would be wrong).
    s.feed(
        _delta(
            {"input_tokens": 181, "output_tokens": 90, "cache_read_input_tokens": 0}, stop_reason="max_tokens"
        )
    )
    assert s.usage == Usage(181, 90, 10, 20, 0)
    assert s.stop_reason == "max_tokens"


def test_stream_delta_changes_cache_total_without_split() -> None:
    s = StreamUsage()
    s.feed(
        _start(
            {
                "input_tokens": 1,
                "output_tokens": 1,
                "cache_creation_input_tokens": 300,
                "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
            }
        )
    )
    s.feed(_delta({"output_tokens": 2, "cache_creation_input_tokens": 350}))
    # Total wins; the 1h part of the split stands and the extra 50 land in 5m.
    assert s.usage == Usage(1, 2, 150, 200, 0)


def test_stream_iterations_in_delta_are_summed_not_accumulated() -> None:
    iterations = [
        {"type": "compaction", "input_tokens": 100, "output_tokens": 83, "cache_read_input_tokens": 55096},
        {"type": "message", "input_tokens": 181, "output_tokens": 8, "cache_read_input_tokens": 0},
    ]
    s = StreamUsage()
    s.feed(_start({"input_tokens": 100, "output_tokens": 7, "cache_read_input_tokens": 55096}))
    s.feed(
        _delta(
            {"input_tokens": 181, "output_tokens": 8, "cache_read_input_tokens": 0, "iterations": iterations}
        )
    )
    assert s.usage == Usage(281, 91, 0, 0, 55096)
    # The same complete list repeated in a later delta replaces the earlier one.
    s.feed(_delta({"output_tokens": 8, "iterations": iterations}))
    assert s.usage == Usage(281, 91, 0, 0, 55096)


def test_stream_ignores_other_events_even_with_usage_keys() -> None:
    s = StreamUsage()
    s.feed(_start({"input_tokens": 5, "output_tokens": 1}))
    s.feed({"type": "content_block_delta", "usage": {"input_tokens": 999, "output_tokens": 999}})
    s.feed(SimpleNamespace(type="content_block_stop", usage=SimpleNamespace(output_tokens=999)))
    s.feed({"no_type": True})
    s.feed(object())
    assert s.usage == Usage(5, 1, 0, 0, 0)


def test_stream_malformed_events_never_raise() -> None:
    s = StreamUsage()
    s.feed({"type": "message_start", "message": None})
    assert s.usage == Usage(0, 0, 0, 0, 0)
    s.feed({"type": "message_delta", "delta": None, "usage": {"output_tokens": -3}})
    s.feed({"type": "message_delta", "delta": {"stop_reason": 5}, "usage": "junk"})
    assert s.usage == Usage(0, 0, 0, 0, 0)
    assert s.stop_reason is None


def test_sse_text_crlf_and_multiline_data() -> None:
    text = (
        "event: message_start\r\n"
        'data: {"type":"message_start","message":{"model":"m",\r\n'
        'data: "usage":{"input_tokens":9,"output_tokens":1}}}\r\n\r\n'
        'event: ping\r\ndata: {"type": "ping"}\r\n\r\n'
        "event: message_delta\r\n"
        'data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},\r\n'
        'data: "usage":{"output_tokens":12}}\r\n\r\n'
        "data: not json\r\n\r\n"
    )
    assert usage_from_sse_text(text) == Usage(9, 12, 0, 0, 0)
    assert usage_from_sse_text("") is None


# --- counts no real response has ------------------------------------------------------------
# MAX_TOKENS_PER_FIELD is 100 million: the bound itself is a count, one more is malformed.
_MAX = 100_000_000


def test_the_bound_is_documented_and_exact() -> None:
    assert MAX_TOKENS_PER_FIELD == _MAX
    at_bound = {"usage": {"input_tokens": _MAX, "output_tokens": _MAX, "cache_read_input_tokens": _MAX}}
    assert usage_from_message(at_bound) == Usage(_MAX, _MAX, 0, 0, _MAX)
    assert usage_from_message(at_bound).malformed is False  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "usage",
    [
        {"input_tokens": 2**63, "output_tokens": 8},
        {"input_tokens": 3, "output_tokens": _MAX + 1},
        {"input_tokens": 3, "output_tokens": 8, "cache_read_input_tokens": 2**64},
        {"input_tokens": 3, "output_tokens": 8, "cache_creation_input_tokens": _MAX + 1},
        # The total is consistent-looking, one part of the split is not.
        {
            "input_tokens": 3,
            "output_tokens": 8,
            "cache_creation_input_tokens": 100,
            "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 2**63},
        },
        # One pass of a compaction response.
        {"input_tokens": 3, "output_tokens": 8, "iterations": [{"input_tokens": 2**63, "output_tokens": 1}]},
        # Each pass within the bound, their sum above it.
        {
            "input_tokens": 3,
            "output_tokens": 8,
            "iterations": [
                {"input_tokens": _MAX, "output_tokens": 1},
                {"input_tokens": 1, "output_tokens": 1},
            ],
        },
    ],
    ids=["input", "output", "cache_read", "cache_write", "split", "iteration", "iterations_sum"],
)
def test_a_count_above_the_bound_makes_the_whole_usage_malformed(usage: dict[str, Any]) -> None:
    got = usage_from_message({"usage": usage})
    assert got is MALFORMED_USAGE
    assert got.malformed is True
    assert (got.billed_total, got.hit_ratio) == (0, None)  # nothing to add, whoever reads it


def test_malformed_usage_is_not_an_empty_usage() -> None:
    assert MALFORMED_USAGE != Usage(0, 0, 0, 0, 0)
    assert Usage(0, 0, 0, 0, 0).malformed is False


def test_malformed_sdk_object() -> None:
    msg = SimpleNamespace(usage=SimpleNamespace(input_tokens=2**63, output_tokens=6))
    assert usage_from_message(msg) is MALFORMED_USAGE


def test_stream_with_an_absurd_count_is_malformed_until_a_later_event_replaces_it() -> None:
    s = StreamUsage()
    s.feed(
        {
            "type": "message_start",
            "message": {"model": "m", "usage": {"input_tokens": 2**63, "output_tokens": 1}},
        }
    )
    assert s.usage is MALFORMED_USAGE
    s.feed({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}})
    assert s.usage is MALFORMED_USAGE  # the input count still is the absurd one
    s.feed({"type": "message_delta", "delta": {}, "usage": {"input_tokens": 17, "output_tokens": 9}})
    assert s.usage == Usage(17, 9, 0, 0, 0)
    assert (s.model, s.stop_reason) == ("m", "end_turn")


def test_sse_text_with_an_absurd_count() -> None:
    text = (
        'event: message_start\ndata: {"type":"message_start","message":{"usage":'
        '{"input_tokens":9223372036854775808,"output_tokens":1}}}\n\n'
        'event: message_delta\ndata: {"type":"message_delta","delta":{},"usage":{"output_tokens":4}}\n\n'
    )
    assert usage_from_sse_text(text) is MALFORMED_USAGE
