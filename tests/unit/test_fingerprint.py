"""The request fingerprint: what makes two requests the same, on hand-made and recorded bodies."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from typing import Any

import pytest
from anthropic_otel.dedup.fingerprint import (
    CAPPED_PREFIX,
    EXACT_LIMIT,
    canonical_json,
    capped_json,
    fingerprint,
)

from tests.corpus import records

BASE: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 256,
    "system": "You are terse.",
    "messages": [{"role": "user", "content": "Is 7 prime?"}],
}


def with_(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(BASE)
    body.update(changes)
    return body


def test_known_digest_of_the_canonical_json() -> None:
    assert canonical_json(BASE) == (
        b'{"max_tokens":256,"messages":[{"content":"Is 7 prime?","role":"user"}],'
        b'"model":"claude-sonnet-4-5","system":"You are terse."}'
    )
    assert fingerprint(BASE) == hashlib.sha256(canonical_json(BASE)).hexdigest()
    assert len(fingerprint(BASE)) == 64


def test_hmac_key_changes_the_fingerprint_and_is_hmac_sha256() -> None:
    keyed = fingerprint(BASE, b"secret")
    assert keyed == hmac.new(b"secret", canonical_json(BASE), hashlib.sha256).hexdigest()
    assert keyed != fingerprint(BASE)
    assert keyed != fingerprint(BASE, b"other")
    assert fingerprint(BASE, b"") == fingerprint(BASE)


def test_key_order_does_not_matter() -> None:
    reordered = dict(reversed(list(BASE.items())))
    reordered["messages"] = [{"content": "Is 7 prime?", "role": "user"}]
    assert fingerprint(reordered) == fingerprint(BASE)


def test_unicode_escaping_and_normalization_do_not_matter() -> None:
    composed = with_(messages=[{"role": "user", "content": "caf\u00e9 \u2615"}])
    decomposed = with_(messages=[{"role": "user", "content": "cafe\u0301 \u2615"}])
    escaped = json.loads(json.dumps(composed, ensure_ascii=True))
    assert fingerprint(decomposed) == fingerprint(composed)
    assert fingerprint(escaped) == fingerprint(composed)
    assert "café ☕".encode() in canonical_json(decomposed)


def test_system_string_equals_one_plain_text_block() -> None:
    block = with_(system=[{"type": "text", "text": "You are terse."}])
    assert fingerprint(block) == fingerprint(BASE)
    with_none = with_(system=[{"type": "text", "text": "You are terse.", "cache_control": None}])
    assert fingerprint(with_none) == fingerprint(BASE)


def test_system_block_with_cache_control_or_two_blocks_differs() -> None:
    cached = with_(
        system=[{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}]
    )
    two = with_(system=[{"type": "text", "text": "You are"}, {"type": "text", "text": " terse."}])
    assert len({fingerprint(cached), fingerprint(two), fingerprint(BASE)}) == 3


def test_message_content_string_equals_one_plain_text_block() -> None:
    block = with_(messages=[{"role": "user", "content": [{"type": "text", "text": "Is 7 prime?"}]}])
    assert fingerprint(block) == fingerprint(BASE)


def test_sdk_response_block_passed_back_matches_its_dict_form() -> None:
    from anthropic.types import TextBlock

    sdk_block = TextBlock(type="text", text="Yes.", citations=None)
    as_object = with_(messages=[*BASE["messages"], {"role": "assistant", "content": [sdk_block]}])
    as_text = with_(messages=[*BASE["messages"], {"role": "assistant", "content": "Yes."}])
    assert fingerprint(as_object) == fingerprint(as_text)


@pytest.mark.parametrize(
    "excluded",
    [
        {"metadata": {"user_id": "user-42"}},
        {"stream": True},
        {"timeout": 30},
        {"extra_headers": {"x-trace": "1"}},
        {"extra_query": {"beta": "true"}},
        {"max_retries": 5},
        {"temperature": None},
    ],
)
def test_fields_that_cannot_change_the_result_are_excluded(excluded: dict[str, Any]) -> None:
    assert fingerprint(with_(**excluded)) == fingerprint(BASE)


def test_metadata_user_id_varies_per_call_without_changing_the_fingerprint() -> None:
    a = fingerprint(with_(metadata={"user_id": "a"}))
    b = fingerprint(with_(metadata={"user_id": "b"}))
    assert a == b == fingerprint(BASE)


@pytest.mark.parametrize(
    "changed",
    [
        {"model": "claude-haiku-4-5"},
        {"max_tokens": 257},
        {"system": "You are verbose."},
        {"messages": [{"role": "user", "content": "Is 9 prime?"}]},
        {"temperature": 0.2},
        {"top_p": 0.9},
        {"top_k": 5},
        {"stop_sequences": ["\n"]},
        {"tools": [{"name": "calc", "input_schema": {"type": "object"}}]},
        {"tool_choice": {"type": "any"}},
        {"thinking": {"type": "enabled", "budget_tokens": 1024}},
        {"service_tier": "standard_only"},
        {"some_future_field": 1},
    ],
)
def test_every_other_field_changes_the_fingerprint(changed: dict[str, Any]) -> None:
    assert fingerprint(with_(**changed)) != fingerprint(BASE)


def test_two_calls_differing_only_in_temperature_are_not_duplicates() -> None:
    # The 4-field allow list (model, system, messages, max_tokens) would call these the same.
    assert fingerprint(with_(temperature=0.0)) != fingerprint(with_(temperature=1.0))


def test_integral_float_equals_int_and_extra_body_is_merged() -> None:
    assert fingerprint(with_(temperature=1.0)) == fingerprint(with_(temperature=1))
    assert fingerprint(with_(extra_body={"top_k": 5})) == fingerprint(with_(top_k=5))


def test_sdk_omit_sentinels_count_as_absent() -> None:
    import anthropic

    assert fingerprint(with_(temperature=anthropic.NOT_GIVEN)) == fingerprint(BASE)
    omit = getattr(anthropic, "omit", None)  # newer SDKs only
    if omit is not None:
        assert fingerprint(with_(temperature=anthropic.NOT_GIVEN, tools=omit)) == fingerprint(BASE)


def test_input_is_neither_mutated_nor_consumed() -> None:
    body = with_(system=[{"type": "text", "text": "You are terse."}], metadata={"user_id": "u"})
    before = copy.deepcopy(body)
    fingerprint(body)
    assert body == before
    generator_body = with_(messages=(m for m in BASE["messages"]))
    with pytest.raises(TypeError, match="iterator"):
        fingerprint(generator_body)
    assert list(generator_body["messages"]) == BASE["messages"]


def test_tuples_and_lists_are_the_same_json() -> None:
    assert fingerprint(with_(messages=tuple(BASE["messages"]))) == fingerprint(BASE)


# -- real request bodies from the recorded corpus ---------------------------------------------


def corpus_bodies() -> list[dict[str, Any]]:
    return [r["request"] for r in records() if r.get("request") is not None]


def test_corpus_bodies_fingerprint_stably_and_ignore_stream_and_metadata() -> None:
    bodies = corpus_bodies()
    assert len(bodies) == 51
    for body in bodies:
        fp = fingerprint(body)
        assert fingerprint(json.loads(json.dumps(body, ensure_ascii=True))) == fp
        assert fingerprint(dict(sorted(body.items(), reverse=True))) == fp
        assert fingerprint({**body, "stream": not body.get("stream"), "metadata": {"user_id": "x"}}) == fp
        assert fingerprint({**body, "temperature": 0.123}) != fp
        assert json.loads(canonical_json(body)).keys() == body.keys() - {"stream", "metadata"}


def test_corpus_system_prompts_collapse_only_when_plain() -> None:
    with_system = [b for b in corpus_bodies() if "system" in b]
    assert len(with_system) == 10
    for body in with_system:
        system = body["system"]
        if isinstance(system, str):
            as_block = {**body, "system": [{"type": "text", "text": system}]}
            assert fingerprint(as_block) == fingerprint(body)
        else:
            plain = len(system) == 1 and set(system[0]) <= {"type", "text"}
            collapsed = json.loads(canonical_json(body))["system"]
            assert isinstance(collapsed, str) == plain


def test_corpus_distinct_requests_get_distinct_fingerprints() -> None:
    bodies = corpus_bodies()
    assert len({json.dumps(b, sort_keys=True) for b in bodies}) == 45
    # Three recorded pairs differ only in `stream`: the same request, so the same fingerprint.
    assert len({fingerprint(b) for b in bodies}) == 42
    assert len({canonical_json(b) for b in bodies}) == 42


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # A prompt sent twice to write then read the cache: exactly what a duplicate looks like.
        ("openllmetry-sonnet35-cache-write-1", "openllmetry-sonnet35-cache-read-1"),
        ("ruby-llm-haiku45-cache-write-5m-1", "ruby-llm-haiku45-cache-read-1"),
        # The same request streamed and not streamed.
        ("openllmetry-sonnet37-thinking-1", "openllmetry-sonnet37-thinking-stream-1"),
        ("openinference-sonnet46-tool-use-1", "openinference-sonnet46-tool-use-stream-1"),
    ],
)
def test_corpus_repeated_requests_share_a_fingerprint(first: str, second: str) -> None:
    from tests.corpus import record

    assert fingerprint(record(first)["request"]) == fingerprint(record(second)["request"])
    assert fingerprint(record(first)["request"], b"k") == fingerprint(record(second)["request"], b"k")


# -- bounded work: a prompt over the limit is fingerprinted from a sample (capped) -------------


def test_the_limit_is_on_the_prompt_weight_and_one_character_more_caps() -> None:
    # Weight: system 14 chars + messages list (1 item) + the message's 2 fields, 64 each, + "user".
    overhead = len("You are terse.") + 64 * 1 + 64 * 2 + len("user")
    at_limit = with_(messages=[{"role": "user", "content": "a" * (EXACT_LIMIT - overhead)}])
    over = with_(messages=[{"role": "user", "content": "a" * (EXACT_LIMIT - overhead + 1)}])
    assert fingerprint(at_limit) == hashlib.sha256(canonical_json(at_limit)).hexdigest()
    assert fingerprint(over) == CAPPED_PREFIX + hashlib.sha256(capped_json(over)).hexdigest()
    assert fingerprint(over, limit=None) == hashlib.sha256(canonical_json(over)).hexdigest()
    assert (
        fingerprint(over, b"k")
        == CAPPED_PREFIX + hmac.new(b"k", capped_json(over), hashlib.sha256).hexdigest()
    )


def test_the_capped_document_of_a_long_string() -> None:
    text = "".join(f"{i:07d}" for i in range(50_000))  # 350,000 distinct characters
    body = with_(messages=[{"role": "user", "content": text}])
    sample = text[:2048] + text[-2048:]
    step = (len(text) - 4096 - 64) // 63
    sample += "".join(text[2048 + k * step : 2048 + k * step + 64] for k in range(64))
    digest = hashlib.sha256(sample.encode()).hexdigest()
    assert capped_json(body) == (
        b'{"max_tokens":256,"messages":[{"content":"\\u0000350000 chars %s","role":"user"}],'
        b'"model":"claude-sonnet-4-5","system":"You are terse."}' % digest.encode()
    )


def conversation(turns: int, tag: str = "") -> list[dict[str, Any]]:
    return [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": [{"type": "text", "text": f"{tag}turn {i} " * 20}],
        }
        for i in range(turns)
    ]


def test_the_capped_document_of_a_long_conversation_samples_newest_oldest_and_between() -> None:
    messages = conversation(5000)
    doc = json.loads(capped_json(with_(messages=messages)))
    assert doc["messages"][0] == "\x005000 items"
    indices = [index for index, _ in doc["messages"][1:]]
    # 8 first, 8 evenly spaced among the 4,976 between (8 + 4976 * k // 9), 16 last.
    assert indices == [*range(8), *(8 + 4976 * k // 9 for k in range(1, 9)), *range(4984, 5000)]
    # Each sampled message as in an exact fingerprint: one plain text block reads as a string.
    assert [item for _, item in doc["messages"][1:]] == [
        {"role": messages[i]["role"], "content": messages[i]["content"][0]["text"]} for i in indices
    ]


def test_capped_fingerprints_keep_the_invariants_of_exact_ones() -> None:
    body = with_(messages=conversation(5000))
    fp = fingerprint(body)
    assert fp.startswith(CAPPED_PREFIX)
    assert fingerprint(copy.deepcopy(body)) == fp
    assert fingerprint(json.loads(json.dumps(body, ensure_ascii=True))) == fp
    assert fingerprint(dict(reversed(list(body.items())))) == fp
    reordered = [{"content": m["content"], "role": m["role"]} for m in body["messages"]]
    assert fingerprint(with_(messages=reordered)) == fp
    assert fingerprint({**body, "stream": True, "metadata": {"user_id": "u"}}) == fp
    as_strings = [{"role": m["role"], "content": m["content"][0]["text"]} for m in body["messages"]]
    assert fingerprint(with_(messages=as_strings)) == fp


def edited(messages: list[dict[str, Any]], index: int, text: str) -> list[dict[str, Any]]:
    out = copy.deepcopy(messages)
    out[index]["content"][0]["text"] = text
    return out


def test_capped_fingerprints_of_different_requests_differ() -> None:
    messages = conversation(5000)
    body = with_(messages=messages)
    long_text = "".join(f"{i:07d}" for i in range(50_000))
    document = with_(messages=[{"role": "user", "content": long_text}])
    variants = [
        body,
        with_(messages=[*messages, {"role": "user", "content": "one more"}]),  # the count
        with_(messages=messages[:-1]),
        with_(messages=edited(messages, 4999, "a new question")),  # the newest message
        with_(messages=edited(messages, 0, "a different first turn")),
        with_(messages=edited(messages, 8 + 4976 * 4 // 9, "x")),  # a sampled message between
        {**body, "model": "claude-haiku-4-5"},
        {**body, "max_tokens": 257},
        {**body, "temperature": 0.5},
        {**body, "system": "You are verbose."},
        {**body, "tools": [{"name": "calc", "input_schema": {"type": "object"}}]},
        document,
        with_(messages=[{"role": "user", "content": long_text + "0"}]),  # one character longer
        with_(messages=[{"role": "user", "content": "X" + long_text[1:]}]),  # the head
        with_(messages=[{"role": "user", "content": long_text[:-1] + "X"}]),  # the tail
    ]
    fps = [fingerprint(v) for v in variants]
    assert all(fp.startswith(CAPPED_PREFIX) for fp in fps)
    assert len(set(fps)) == len(variants)


def test_the_trade_off_an_unsampled_edit_that_keeps_the_length_is_not_seen() -> None:
    messages = conversation(5000)
    unsampled = 2000  # neither among the first 8, the last 16, nor the 8 between
    same_length = edited(messages, unsampled, messages[unsampled]["content"][0]["text"].upper())
    assert fingerprint(with_(messages=same_length)) == fingerprint(with_(messages=messages))
    assert fingerprint(with_(messages=same_length), limit=None) != fingerprint(
        with_(messages=messages), limit=None
    )


class Untouchable(dict):  # type: ignore[type-arg]
    """A message that fails the fingerprint if anything reads it."""

    def _boom(self, *args: Any) -> Any:
        raise AssertionError("an unsampled message was read")

    get = values = items = keys = __getitem__ = __iter__ = __len__ = _boom


def test_a_huge_conversation_is_never_read_past_the_limit_and_the_sample() -> None:
    messages: list[Any] = conversation(100_000)
    # The weighing stops within the first 4,096 items (here 4 per message); the sample reads 32.
    picks = {*range(8), *(8 + 99_976 * k // 9 for k in range(1, 9)), *range(99_984, 100_000)}
    for i in range(2000, 100_000):
        if i not in picks:
            messages[i] = Untouchable(messages[i])
    assert fingerprint(with_(messages=messages)).startswith(CAPPED_PREFIX)


@pytest.mark.parametrize("megabytes", [1, 5, 20])
def test_what_is_hashed_is_bounded_whatever_the_body_size(megabytes: int) -> None:
    """The capped sample stays a few kilobytes from 1 to 20 MB (the whole-body hash took 27, 89 and
    367 ms on these sizes); its cost is measured in benchmarks/, never timed here."""
    n = megabytes * 1_000_000
    bodies = [
        with_(messages=[{"role": "user", "content": "x" * n}]),
        with_(messages=conversation(n // 140)),  # about 140 bytes of JSON per message
        with_(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "A" * n},
                        }
                    ],
                }
            ]
        ),
    ]
    for body in bodies:
        assert fingerprint(body).startswith(CAPPED_PREFIX)
        assert len(capped_json(body)) < 16_384


class Markup(str):
    """A str subclass, as template libraries return them."""


def test_a_str_subclass_is_weighed_and_sampled_as_a_string() -> None:
    for text in ("Is 7 prime?", "x" * 5_000_000):
        plain = with_(messages=[{"role": "user", "content": text}])
        marked = with_(messages=[{"role": "user", "content": Markup(text)}])
        assert fingerprint(marked) == fingerprint(plain)
    assert fingerprint(marked).startswith(CAPPED_PREFIX)
