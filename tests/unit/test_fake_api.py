"""Engine-level tests of the fake Anthropic API: response shapes against the recorded corpus, token
counting, prompt caching (breakpoints, TTLs, refresh on read), fault scripting and bookkeeping."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from typing import Any

import pytest
from anthropic_otel.fake import FakeAnthropic, Fault, reply_text
from anthropic_otel.fake.engine import DROP, HANG, Abort, Pause

from tests.clock import Clock
from tests.corpus import record, records, sse_events

S400 = "S" * 400  # 400 chars -> 100 tokens
HI = {"role": "user", "content": "Hi"}  # 2 chars -> 1 token


def post(
    fake: FakeAnthropic,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    path: str = "/v1/messages",
) -> tuple[int, dict[str, str], list[Any]]:
    resp = fake.handle("POST", path, headers or {}, json.dumps(body).encode())
    return resp.status, dict(resp.headers), list(resp.chunks)


def message(fake: FakeAnthropic, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    body.setdefault("model", "claude-test")
    body.setdefault("max_tokens", 100)
    body.setdefault("messages", [HI])
    status, _, chunks = post(fake, body, headers)
    assert status == 200
    return json.loads(b"".join(chunks))  # type: ignore[no-any-return]


def cached_system(text: str, ttl: str | None = None) -> list[dict[str, Any]]:
    cc: dict[str, str] = {"type": "ephemeral"}
    if ttl:
        cc["ttl"] = ttl
    return [{"type": "text", "text": text, "cache_control": cc}]


def usage3(msg: dict[str, Any]) -> tuple[int, int, int]:
    u = msg["usage"]
    return u["input_tokens"], u["cache_creation_input_tokens"], u["cache_read_input_tokens"]


# -- shapes against the corpus -----------------------------------------------------------------------


def test_message_body_and_headers_match_corpus_shape() -> None:
    rec = record("ruby-llm-haiku45-cache-write-5m-1")
    real = json.loads(rec["body"])
    status, headers, chunks = post(FakeAnthropic(), {"model": "m", "max_tokens": 10, "messages": [HI]})
    fake = json.loads(b"".join(chunks))
    assert status == rec["status"] == 200
    assert list(fake) == list(real)  # same keys in the same order
    assert list(fake["usage"]) == list(real["usage"])
    assert list(fake["usage"]["cache_creation"]) == list(real["usage"]["cache_creation"])
    assert list(fake["content"][0]) == list(real["content"][0])
    assert set(headers) == set(rec["headers"])
    assert headers["content-type"] == rec["headers"]["content-type"]


def test_stream_event_sequence_matches_corpus() -> None:
    rec = record("ruby-llm-haiku45-stream-1")  # a one-delta text stream
    real = sse_events(rec["body"])
    status, headers, chunks = post(
        FakeAnthropic(),
        {"model": "m", "max_tokens": 10, "messages": [HI], "stream": True},
        {"x-fake-output-tokens": "1"},
    )
    assert all(isinstance(c, bytes) for c in chunks)
    fake = sse_events(b"".join(chunks).decode())
    assert (
        [e for e, _ in fake]
        == [e for e, _ in real]
        == [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    )
    assert len(chunks) == len(fake)  # one chunk per SSE event
    assert headers["content-type"] == rec["headers"]["content-type"]
    for (_, fdata), (_, rdata) in zip(fake, real):
        f, r = json.loads(fdata), json.loads(rdata)
        assert list(f) == list(r)
        if "message" in f:
            assert list(f["message"]) == list(r["message"])
            assert list(f["message"]["usage"]) == list(r["message"]["usage"])
        if f["type"] == "message_delta":
            assert list(f["delta"]) == list(r["delta"])
            assert list(f["usage"]) == list(r["usage"])
    assert fake[2][1] == real[2][1] == '{"type": "ping"}'


def test_error_bodies_and_headers_match_corpus_shape() -> None:
    real_529 = json.loads(record("vecsum-overloaded-529-1")["body"])
    rec_429 = record("ruby-llm-rate-limit-429-1")
    fake = FakeAnthropic()
    body = {"model": "m", "max_tokens": 10, "messages": [HI]}
    status, headers, chunks = post(fake, body, {"x-fake-faults": "529"})
    got = json.loads(b"".join(chunks))
    assert status == 529
    assert list(got) == list(real_529) and list(got["error"]) == list(real_529["error"])
    assert got["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert got["request_id"] == headers["request-id"]
    status, headers, chunks = post(fake, body, {"x-fake-faults": "429"})
    assert status == 429
    assert json.loads(b"".join(chunks))["error"]["type"] == json.loads(rec_429["body"])["error"]["type"]
    for name in ("content-type", "request-id", "retry-after", "x-should-retry"):
        assert name in headers and name in rec_429["headers"]
    assert headers["x-should-retry"] == "true"
    assert headers["retry-after"] == "1" and headers["retry-after-ms"] == "1"


def test_count_tokens_shape_and_value() -> None:
    real = json.loads(records("count_tokens")[0]["body"])
    status, headers, chunks = post(
        FakeAnthropic(),
        {"model": "m", "system": "You are terse.", "messages": [{"role": "user", "content": "Hello there"}]},
        path="/v1/messages/count_tokens",
    )
    assert status == 200 and headers["content-type"] == "application/json"
    got = json.loads(b"".join(chunks))
    assert list(got) == list(real)
    assert got == {"input_tokens": 4 + 3}  # ceil(14/4) + ceil(11/4)


# -- token counting and the reply --------------------------------------------------------------------


def test_token_counting_and_default_reply() -> None:
    tool = {"name": "get_weather", "description": "x", "input_schema": {"type": "object"}}
    msg = message(
        FakeAnthropic(),
        tools=[tool],
        system="abcde",
        messages=[{"role": "user", "content": [{"type": "text", "text": "Hello there"}]}],
    )
    # tool: its canonical JSON is 73 chars -> 19; system 5 chars -> 2; "Hello there" 11 chars -> 3
    assert msg["usage"]["input_tokens"] == 19 + 2 + 3
    assert msg["usage"]["output_tokens"] == 12
    assert msg["content"] == [{"type": "text", "text": "This is a fake reply. This is a fake reply."}]
    assert msg["stop_reason"] == "end_turn" and msg["model"] == "claude-test"


def test_output_tokens_header_and_max_tokens() -> None:
    fake = FakeAnthropic(output_tokens=4)
    assert message(fake)["content"][0]["text"] == "This is a fake"
    msg = message(fake, {"x-fake-output-tokens": "7"})
    assert msg["content"][0]["text"] == "This is a fake reply. This"
    assert msg["usage"]["output_tokens"] == 7
    capped = message(fake, {"x-fake-output-tokens": "50"}, max_tokens=5)
    assert capped["usage"]["output_tokens"] == 5 and capped["stop_reason"] == "max_tokens"


def test_long_stream_has_one_delta_per_token() -> None:
    status, _, chunks = post(
        FakeAnthropic(),
        {"model": "m", "max_tokens": 1024, "messages": [HI], "stream": True},
        {"x-fake-output-tokens": "500"},
    )
    events = sse_events(b"".join(chunks).decode())
    deltas = [json.loads(d)["delta"]["text"] for e, d in events if e == "content_block_delta"]
    assert len(deltas) == 500 and len(events) == 506
    assert "".join(deltas) == reply_text(500)
    final = json.loads(events[-2][1])
    assert final["usage"]["output_tokens"] == 500 and final["delta"]["stop_reason"] == "end_turn"


# -- prompt caching ----------------------------------------------------------------------------------


def test_cache_write_read_refresh_and_expiry_5m() -> None:
    clock = Clock()
    fake = FakeAnthropic(clock=clock)
    first = message(fake, system=cached_system(S400))
    assert usage3(first) == (1, 100, 0)
    assert first["usage"]["cache_creation"] == {
        "ephemeral_5m_input_tokens": 100,
        "ephemeral_1h_input_tokens": 0,
    }
    clock.now = 200.0
    assert usage3(message(fake, system=cached_system(S400))) == (1, 0, 100)  # expiry refreshed to 500
    clock.now = 450.0  # 450 s after the write: live only because the read at 200 refreshed it
    assert usage3(message(fake, system=cached_system(S400))) == (1, 0, 100)  # expiry now 750
    clock.now = 750.0
    assert usage3(message(fake, system=cached_system(S400))) == (1, 100, 0)


def test_cache_1h_ttl() -> None:
    clock = Clock()
    fake = FakeAnthropic(clock=clock)
    first = message(fake, system=cached_system(S400, "1h"))
    assert first["usage"]["cache_creation"] == {
        "ephemeral_5m_input_tokens": 0,
        "ephemeral_1h_input_tokens": 100,
    }
    clock.now = 3000.0
    assert usage3(message(fake, system=cached_system(S400, "1h"))) == (1, 0, 100)
    clock.now = 3000.0 + 3600.0
    assert usage3(message(fake, system=cached_system(S400, "1h"))) == (1, 100, 0)


def test_cache_key_includes_model_and_prefix_only() -> None:
    fake = FakeAnthropic()
    assert usage3(message(fake, system=cached_system(S400))) == (1, 100, 0)
    # Text after the breakpoint is not part of the key: still a read.
    assert usage3(
        message(fake, system=cached_system(S400), messages=[{"role": "user", "content": "x" * 40}])
    ) == (10, 0, 100)
    assert usage3(message(fake, system=cached_system(S400), model="other-model")) == (1, 100, 0)
    # The cache_control marker itself is not part of the key: a 1h marker on the same text reads it.
    assert usage3(message(fake, system=cached_system(S400, "1h"))) == (1, 0, 100)


def test_cache_longest_breakpoint_wins_and_segments_split_by_ttl() -> None:
    fake = FakeAnthropic()
    b_block = {"type": "text", "text": "B" * 200, "cache_control": {"type": "ephemeral"}}  # 50 tokens
    c_block = {"type": "text", "text": "C" * 80, "cache_control": {"type": "ephemeral"}}  # 20 tokens
    with_b = [{"role": "user", "content": [b_block]}]
    with_c = [{"role": "user", "content": [c_block]}]
    assert usage3(message(fake, system=cached_system(S400), messages=with_b)) == (0, 150, 0)
    assert usage3(message(fake, system=cached_system(S400), messages=with_c)) == (0, 20, 100)
    assert usage3(message(fake, system=cached_system(S400), messages=with_b)) == (0, 0, 150)
    # 1h breakpoint then 5m breakpoint, on a fresh prefix: each segment billed at its own TTL.
    split = message(fake, system=cached_system("T" * 400, "1h"), messages=with_b)
    assert split["usage"]["cache_creation"] == {
        "ephemeral_5m_input_tokens": 50,
        "ephemeral_1h_input_tokens": 100,
    }


def test_ab_test_alternating_three_system_variants() -> None:
    fake = FakeAnthropic()
    variants = [cached_system(ch * 400) for ch in "XYZ"]
    results = [usage3(message(fake, system=variants[i % 3])) for i in range(30)]
    assert results[:3] == [(1, 100, 0)] * 3  # the first call of each variant writes
    assert results[3:] == [(1, 0, 100)] * 27  # every later call reads
    assert sum(r[1] for r in results) == 300 and sum(r[2] for r in results) == 2700


def test_varying_the_cached_prefix_every_call_only_writes() -> None:
    fake = FakeAnthropic()
    results = [usage3(message(fake, system=cached_system(f"{i:04d}" + S400[4:]))) for i in range(10)]
    assert results == [(1, 100, 0)] * 10


def test_cache_control_validation() -> None:
    fake = FakeAnthropic()
    five = [{"type": "text", "text": f"t{i}", "cache_control": {"type": "ephemeral"}} for i in range(5)]
    status, _, chunks = post(fake, {"model": "m", "max_tokens": 5, "system": five, "messages": [HI]})
    assert status == 400 and b"maximum of 4" in b"".join(chunks)
    order = cached_system("a") + [
        {"type": "text", "text": "b", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    ]
    status, _, _ = post(fake, {"model": "m", "max_tokens": 5, "system": order, "messages": [HI]})
    assert status == 400


def test_status_faults_do_not_touch_the_cache() -> None:
    fake = FakeAnthropic()
    status, _, _ = post(
        fake,
        {"model": "m", "max_tokens": 5, "system": cached_system(S400), "messages": [HI]},
        {"x-fake-faults": "529"},
    )
    assert status == 529
    assert usage3(message(fake, system=cached_system(S400), model="m")) == (1, 100, 0)


# -- fault scripting ---------------------------------------------------------------------------------


BODY = {"model": "m", "max_tokens": 100, "messages": [HI]}


def test_fault_script_indexed_by_retry_count() -> None:
    fake = FakeAnthropic()
    script = {"x-fake-faults": "529,rate_limited,ok"}
    statuses = [post(fake, BODY, {**script, "x-stainless-retry-count": str(n)})[0] for n in range(4)]
    assert statuses == [529, 429, 200, 200]  # index 3 is missing: ok
    assert post(fake, BODY, script)[0] == 529  # no retry-count header: attempt 0
    assert [r.retry_count for r in fake.log] == [0, 1, 2, 3, None]
    assert [r.fault for r in fake.log] == [
        Fault.OVERLOADED,
        Fault.RATE_LIMITED,
        Fault.OK,
        Fault.OK,
        Fault.OVERLOADED,
    ]
    assert fake.sent_statuses == Counter({529: 2, 429: 1, 200: 2})


def test_fault_names_and_aliases() -> None:
    fake = FakeAnthropic()
    for spelling, status in [
        ("overloaded", 529),
        ("500", 500),
        ("server_error", 500),
        ("bad_request", 400),
        ("400", 400),
        ("OK", 200),
        ("200", 200),
    ]:
        assert post(fake, BODY, {"x-fake-faults": spelling})[0] == status, spelling
    status, _, chunks = post(fake, BODY, {"x-fake-faults": "nope"})
    assert status == 400 and json.loads(b"".join(chunks))["error"]["type"] == "invalid_request_error"
    assert Fault.parse("529") is Fault.OVERLOADED and Fault("hang") is Fault.HANG


def test_enqueue_is_fifo_and_the_header_wins() -> None:
    fake = FakeAnthropic()
    fake.enqueue(Fault.OVERLOADED, "rate_limited")
    assert post(fake, BODY, {"x-fake-faults": "ok"})[0] == 200  # header present: queue untouched
    assert [post(fake, BODY)[0] for _ in range(3)] == [529, 429, 200]
    assert fake.fault_counts == Counter({Fault.OK: 2, Fault.OVERLOADED: 1, Fault.RATE_LIMITED: 1})


def test_seeded_fault_rates_are_reproducible() -> None:
    rates = {"overloaded": 0.3, "server_error": 0.2}
    runs = []
    for _ in range(2):
        fake = FakeAnthropic(seed=7, fault_rates=rates)
        runs.append(([post(fake, BODY)[0] for _ in range(200)], fake))
    (first, fake1), (second, fake2) = runs
    assert first == second
    rng = random.Random(7)
    draws = [rng.random() for _ in range(200)]
    assert first == [529 if d < 0.3 else 500 if d < 0.5 else 200 for d in draws]
    assert fake1.sent_statuses == Counter(first) == Counter(r.status for r in fake1.log)
    assert sum(fake1.sent_statuses.values()) == len(fake1.log) == 200
    assert fake1.fault_counts[Fault.OVERLOADED] == first.count(529)


def test_fault_rates_must_not_exceed_one() -> None:
    with pytest.raises(ValueError):
        FakeAnthropic(fault_rates={"overloaded": 0.7, "hang": 0.5})


def stream(fake: FakeAnthropic, faults: str, **headers: str) -> list[Any]:
    status, _, chunks = post(fake, {**BODY, "stream": True}, {"x-fake-faults": faults, **headers})
    assert status == 200
    return chunks


def names(chunks: list[Any]) -> list[str]:
    return [c.split(b"\n", 1)[0][7:].decode() if isinstance(c, bytes) else type(c).__name__ for c in chunks]


HEAD = ["message_start", "content_block_start", "ping"]


def test_stream_fault_shapes() -> None:
    fake = FakeAnthropic()
    three = HEAD + ["content_block_delta"] * 3
    assert names(stream(fake, "drop_mid_stream")) == three + ["Drop"]
    assert stream(fake, "drop_mid_stream")[-1] is DROP
    assert names(stream(fake, "close_before_stop")) == three
    error = stream(fake, "error_event")
    assert names(error) == three + ["error"]
    assert json.loads(sse_events(error[-1].decode())[0][1]) == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert stream(fake, "hang")[-1] is HANG and len(stream(fake, "hang")) == 7
    assert names(stream(fake, "hang", **{"x-fake-after-deltas": "5"})) == HEAD + [
        "content_block_delta"
    ] * 5 + ["Hang"]
    malformed = stream(fake, "malformed_json")
    assert len(malformed) == 3 + 12 + 3 + 1  # head, deltas, stop events, plus the bad one
    with pytest.raises(ValueError):
        json.loads(sse_events(malformed[6].decode())[0][1])
    slow = stream(fake, "slow_first_byte", **{"x-fake-first-byte-delay": "0.25"})
    assert slow[0] == Pause(0.25) and len(slow) == 1 + 18
    assert stream(FakeAnthropic(first_byte_delay=2.0), "slow_first_byte")[0] == Pause(2.0)


def test_non_stream_fault_shapes() -> None:
    full = b"".join(post(FakeAnthropic(), BODY)[2])  # first request of a fresh fake: same ids below
    half = full[: len(full) // 2]
    status, _, chunks = post(FakeAnthropic(), BODY, {"x-fake-faults": "malformed_json"})
    assert status == 200 and chunks == [half]
    assert post(FakeAnthropic(), BODY, {"x-fake-faults": "close_before_stop"})[2] == [half]
    assert post(FakeAnthropic(), BODY, {"x-fake-faults": "drop_mid_stream"})[2] == [half, DROP]
    assert post(FakeAnthropic(), BODY, {"x-fake-faults": "hang"})[2] == [HANG]
    assert post(FakeAnthropic(), BODY, {"x-fake-faults": "error_event"})[0] == 529


def test_aborts_send_no_status() -> None:
    fake = FakeAnthropic()
    for name, abort in [("timeout", Abort.READ_TIMEOUT), ("connection_reset", Abort.CONNECTION_RESET)]:
        resp = fake.handle("POST", "/v1/messages", {"x-fake-faults": name}, json.dumps(BODY).encode())
        assert resp.abort is abort
    assert [r.status for r in fake.log] == [None, None]
    assert fake.sent_statuses == Counter()
    assert fake.fault_counts == Counter({Fault.TIMEOUT: 1, Fault.CONNECTION_RESET: 1})


def test_unknown_path_and_invalid_body() -> None:
    fake = FakeAnthropic()
    status, headers, chunks = post(fake, BODY, path="/v1/complete")
    assert status == 404 and headers["x-should-retry"] == "false"
    assert json.loads(b"".join(chunks))["error"]["type"] == "not_found_error"
    status, _, chunks = post(fake, {"model": "m", "messages": [HI]})
    assert status == 400 and json.loads(b"".join(chunks))["error"]["message"] == "max_tokens: Field required"
    assert fake.sent_statuses == Counter({404: 1, 400: 1})


def test_retry_after_ms_configurable() -> None:
    status, headers, _ = post(FakeAnthropic(retry_after_ms=None), BODY, {"x-fake-faults": "529"})
    assert status == 529 and "retry-after-ms" not in headers and headers["x-should-retry"] == "true"


# -- bookkeeping -------------------------------------------------------------------------------------


def test_log_records_usage_model_stream() -> None:
    fake = FakeAnthropic()
    post(fake, {**BODY, "system": cached_system(S400), "stream": True})
    rec = fake.log[0]
    assert (rec.status, rec.fault, rec.model, rec.stream, rec.path) == (
        200,
        Fault.OK,
        "m",
        True,
        "/v1/messages",
    )
    assert rec.usage is not None
    assert (
        rec.usage["input_tokens"],
        rec.usage["cache_creation_input_tokens"],
        rec.usage["output_tokens"],
    ) == (1, 100, 12)


def test_reset_clears_everything() -> None:
    fake = FakeAnthropic()
    fake.enqueue("overloaded")
    post(fake, {**BODY, "system": cached_system(S400)})
    fake.reset()
    assert fake.log == [] and fake.sent_statuses == Counter() and fake.fault_counts == Counter()
    assert usage3(message(fake, system=cached_system(S400), model="m")) == (
        1,
        100,
        0,
    )  # no queued 529, no cache


def test_close_runs_callbacks_once_registered() -> None:
    fake = FakeAnthropic()
    fired: list[str] = []
    fake.add_close_callback(lambda: fired.append("a"))
    remove = fake.add_close_callback(lambda: fired.append("b"))
    remove()
    fake.close()
    assert fired == ["a"] and fake.closed
    fake.add_close_callback(lambda: fired.append("late"))  # already closed: runs at once
    assert fired == ["a", "late"]


def test_thread_safe_bookkeeping() -> None:
    fake = FakeAnthropic()

    def worker() -> None:
        for _ in range(50):
            post(fake, {**BODY, "system": cached_system(S400)})

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake.log) == 400 and sorted(r.seq for r in fake.log) == list(range(1, 401))
    assert fake.sent_statuses == Counter({200: 400})
    writes = [r for r in fake.log if r.usage and r.usage["cache_creation_input_tokens"]]
    assert len(writes) == 1  # exactly one request wrote the shared prefix


def test_cli_arguments() -> None:
    from anthropic_otel.fake.__main__ import build_parser

    args = build_parser().parse_args(
        ["--port", "9999", "--seed", "3", "--fault", "overloaded=0.02", "--fault", "500=0.1"]
    )
    assert (args.port, args.seed, args.host) == (9999, 3, "127.0.0.1")
    assert args.fault == [(Fault.OVERLOADED, 0.02), (Fault.SERVER_ERROR, 0.1)]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--fault", "overloaded"])
