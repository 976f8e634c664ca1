"""Framework-free core of the fake Anthropic Messages API: `FakeAnthropic.handle` turns one HTTP request
(method, path, headers, body) into a `FakeResponse` whose body is a sequence of byte chunks and fault
markers, with deterministic token counting, a truthful prompt cache (breakpoints, 5m/1h TTLs, an
injectable clock), scriptable faults (per-request header indexed by the SDK's retry count, a FIFO queue,
seeded random rates) and thread-safe bookkeeping of everything it sent; transports in `transport.py`
and `asgi.py` deliver those chunks over an in-process HTTP client or a real socket."""

from __future__ import annotations

import collections
import hashlib
import json
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Union

from .diagnosis import Diagnoser, fingerprint
from .ratelimit_budget import Budget, HeaderList, RateLimits, static_headers


class Fault(str, Enum):
    """What the fake does to one request. The header `x-fake-faults` accepts these values (and the
    status aliases in `FAULT_ALIASES`)."""

    OK = "ok"
    OVERLOADED = "overloaded"  # 529 overloaded_error
    RATE_LIMITED = "rate_limited"  # 429 rate_limit_error + retry-after
    SERVER_ERROR = "server_error"  # 500 api_error
    BAD_REQUEST = "bad_request"  # 400 invalid_request_error
    MALFORMED_JSON = "malformed_json"  # 200 with a truncated JSON body / a non-JSON SSE data line
    SLOW_FIRST_BYTE = "slow_first_byte"  # pause before the first body chunk
    DROP_MID_STREAM = "drop_mid_stream"  # connection drops after some deltas (RemoteProtocolError)
    CLOSE_BEFORE_STOP = "close_before_stop"  # stream ends cleanly without message_delta/message_stop
    ERROR_EVENT = "error_event"  # 200 stream carrying `event: error` (overloaded_error)
    HANG = "hang"  # stream goes silent until the client closes it or the fake is closed
    TIMEOUT = "timeout"  # body read, then no response at all: the transport raises ReadTimeout
    CONNECTION_RESET = "connection_reset"  # body read, then the connection drops before a status line

    @classmethod
    def parse(cls, text: str) -> Fault:
        """Parse one fault name (`"overloaded"`, any case) or status alias (`"529"`); ValueError if unknown."""
        key = text.strip().lower()
        if key in FAULT_ALIASES:
            return FAULT_ALIASES[key]
        return cls(key)


FAULT_ALIASES: dict[str, Fault] = {
    "": Fault.OK,
    "200": Fault.OK,
    "400": Fault.BAD_REQUEST,
    "429": Fault.RATE_LIMITED,
    "500": Fault.SERVER_ERROR,
    "529": Fault.OVERLOADED,
}

# Faults answered with an error status before the prompt is processed (so no cache effects).
_STATUS_FAULTS: dict[Fault, tuple[int, str, str]] = {
    Fault.OVERLOADED: (529, "overloaded_error", "Overloaded"),
    # Worded as the API words it: the limit it hit, per minute.
    Fault.RATE_LIMITED: (
        429,
        "rate_limit_error",
        "This request would exceed your organization's rate limit of 4,000 requests per minute (fake).",
    ),
    Fault.SERVER_ERROR: (500, "api_error", "Internal server error"),
    Fault.BAD_REQUEST: (400, "invalid_request_error", "fake fault: bad_request"),
}

HEADER_FAULTS = "x-fake-faults"
HEADER_OUTPUT_TOKENS = "x-fake-output-tokens"
HEADER_AFTER_DELTAS = "x-fake-after-deltas"
HEADER_FIRST_BYTE_DELAY = "x-fake-first-byte-delay"
HEADER_RETRY_COUNT = "x-stainless-retry-count"
# Comma-separated models that refuse (200, stop_reason `refusal`); with a `fallbacks` body field the
# fake serves the first entry that does not refuse, with one `fallback` block per hop (server side).
HEADER_REFUSE = "x-fake-refuse"
# The billing labels the response's `usage` reports (default: `standard`, no `speed`, `not_available`);
# an empty value leaves the field out, as older API versions do.
HEADER_SERVICE_TIER = "x-fake-service-tier"
HEADER_SPEED = "x-fake-speed"
HEADER_INFERENCE_GEO = "x-fake-inference-geo"
_BILLING_DEFAULTS: tuple[tuple[str, str, str | None], ...] = (
    ("service_tier", HEADER_SERVICE_TIER, "standard"),
    ("speed", HEADER_SPEED, None),
    ("inference_geo", HEADER_INFERENCE_GEO, "not_available"),
)

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
TTL_SECONDS: dict[str, float] = {"5m": 300.0, "1h": 3600.0}
MAX_CACHE_BREAKPOINTS = 4  # the real API rejects a 5th cache_control block with a 400

JSON_CT = "application/json"
SSE_CT = "text/event-stream; charset=utf-8"

# The reply is this cycle of tokens, one token per SSE text delta.
_REPLY_CYCLE = ("This", " is", " a", " fake", " reply", ".")


@dataclass(frozen=True)
class Pause:
    """Body marker: wait `seconds` before the next chunk (a transport raises ReadTimeout instead if the
    client's read timeout is shorter)."""

    seconds: float


@dataclass(frozen=True)
class Hang:
    """Body marker: send nothing more until the client closes the response, the client's read timeout
    expires (ReadTimeout) or `FakeAnthropic.close()` is called (then the body just ends)."""


@dataclass(frozen=True)
class Drop:
    """Body marker: the connection drops here; in-process transports raise the HTTP library's
    `RemoteProtocolError`, the ASGI app aborts the socket without the terminating chunk."""


class Abort(str, Enum):
    """No status line is ever sent: what the client sees instead."""

    READ_TIMEOUT = "read_timeout"  # in-process: raise ReadTimeout at once; ASGI: stay silent
    CONNECTION_RESET = "connection_reset"  # in-process: raise RemoteProtocolError; ASGI: abort socket


HANG = Hang()
DROP = Drop()
Chunk = Union[bytes, Pause, Hang, Drop]


@dataclass
class RequestRecord:
    """What the fake did with one request (`usage` is what the full response carries, even if a fault
    cut the body short; None when the prompt was never processed)."""

    seq: int
    method: str
    path: str
    status: int | None  # None: Abort, no status line sent
    fault: Fault
    model: str | None
    stream: bool
    retry_count: int | None  # the x-stainless-retry-count header, None if absent
    request_id: str
    usage: dict[str, Any] | None = None


@dataclass
class FakeResponse:
    """One response: status, header pairs and body chunks; `abort` set means no response at all."""

    status: int
    headers: list[tuple[str, str]]
    chunks: Iterator[Chunk]
    abort: Abort | None = None
    record: RequestRecord | None = None


@dataclass
class _CacheEntry:
    expires: float
    ttl: float


@dataclass
class _Block:
    """One prompt block in cache order (tools -> system -> messages)."""

    tokens: int
    canonical: str  # canonical JSON of (section, role, block without cache_control)
    ttl: str | None = None  # "5m"/"1h" if this block carries a cache_control breakpoint
    section: str = ""  # tools, system or messages


@dataclass
class _Usage:
    input_tokens: int
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0

    @property
    def cache_creation(self) -> int:
        return self.cache_write_5m + self.cache_write_1h


class _BadRequest(Exception):
    pass


def text_tokens(text: str) -> int:
    """Token count of one text: ceil(len(text) / 4), at least 1."""
    return max(1, (len(text) + 3) // 4)


def reply_text(n_tokens: int) -> str:
    """The fake's deterministic reply of `n_tokens` tokens: "This is a fake reply. This is a fake ..."."""
    return "".join(_reply_token(i) for i in range(n_tokens))


def _reply_token(i: int) -> str:
    tok = _REPLY_CYCLE[i % len(_REPLY_CYCLE)]
    # Repeats of the sentence need a separating space, the very first word does not.
    return " " + tok if i and tok == "This" else tok


def _canon(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _dumps(obj: object) -> bytes:
    # Compact separators: the real API sends JSON without spaces (see the corpus).
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _sse(event: str, data: Mapping[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + _dumps(data) + b"\n\n"


_PING = b'event: ping\ndata: {"type": "ping"}\n\n'  # the API's own spelling, with a space


class FakeAnthropic:
    """A fault-injecting fake of the Anthropic Messages API (`POST /v1/messages`, streaming or not, and
    `POST /v1/messages/count_tokens`). Thread-safe; see the module docstring and `Fault`."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        fault_rates: Mapping[str | Fault, float] | None = None,
        output_tokens: int = 12,
        after_deltas: int = 3,
        first_byte_delay: float = 0.5,
        retry_after_ms: int | None = 1,
        retry_after_s: int = 1,
        clock: Callable[[], float] = time.time,
        keep_log: bool = True,
        ratelimits: RateLimits | None = None,
    ) -> None:
        """`retry_after_ms` is sent on 429/500/529 so SDK retries sleep 1 ms in tests; the real API does
        not send `retry-after-ms` (None omits it, and the SDK then honours `retry-after` or backs off).
        `keep_log=False` keeps only the counters (long benchmark runs). `clock` is Unix seconds (rate-limit
        resets are instants on it). `ratelimits=None` judges every response alone against the default
        limits; given limits, each model has a budget per minute of `clock` and an answer past it is a 429."""
        self.seed = seed
        self.fault_rates: dict[Fault, float] = {
            k if isinstance(k, Fault) else Fault.parse(k): v for k, v in (fault_rates or {}).items()
        }
        if sum(self.fault_rates.values()) > 1.0 + 1e-9:
            raise ValueError("fault rates add up to more than 1")
        self.output_tokens = output_tokens
        self.after_deltas = after_deltas
        self.first_byte_delay = first_byte_delay
        self.retry_after_ms = retry_after_ms
        self.retry_after_s = retry_after_s
        self.clock = clock
        self.keep_log = keep_log
        self.budget = None if ratelimits is None else Budget(ratelimits, clock)
        self._lock = threading.Lock()
        self._close_callbacks: dict[int, Callable[[], None]] = {}
        self._callback_ids = 0
        self.reset()

    # -- public bookkeeping -------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the log, counters, queued faults and cache; reseed the RNG; reopen after `close()`."""
        with self._lock:
            self.log: list[RequestRecord] = []
            self.sent_statuses: collections.Counter[int] = collections.Counter()
            self.fault_counts: collections.Counter[Fault] = collections.Counter()
            self._queue: collections.deque[Fault] = collections.deque()
            self._cache: dict[str, _CacheEntry] = {}
            self._diagnoser = Diagnoser()
            self._rng = random.Random(self.seed)
            self._seq = 0
            self._closed = False
        if self.budget is not None:
            self.budget.reset()

    def enqueue(self, *faults: Fault | str) -> None:
        """Queue faults, consumed one per request (any endpoint) that has no `x-fake-faults` header."""
        parsed = [f if isinstance(f, Fault) else Fault.parse(f) for f in faults]
        with self._lock:
            self._queue.extend(parsed)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def waiting(self) -> int:
        """How many response bodies are currently paused or hung (tests poll this before releasing)."""
        with self._lock:
            return len(self._close_callbacks)

    def close(self) -> None:
        """Release every hung stream (their bodies end) and make future hangs return at once."""
        with self._lock:
            self._closed = True
            callbacks = list(self._close_callbacks.values())
        for cb in callbacks:
            cb()

    def add_close_callback(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` on `close()` (at once if already closed); returns the function that removes it.
        Transports use this to wake a hung body."""
        with self._lock:
            if not self._closed:
                self._callback_ids += 1
                key = self._callback_ids
                self._close_callbacks[key] = callback

                def remove() -> None:
                    with self._lock:
                        self._close_callbacks.pop(key, None)

                return remove
        callback()
        return _noop

    def records(self, path: str | None = None) -> list[RequestRecord]:
        """A snapshot of the log, optionally for one path."""
        with self._lock:
            return [r for r in self.log if path is None or r.path == path]

    # -- transports (lazy: the engine itself needs no HTTP library) --------------------------------

    def transport(self, lib: str = "auto") -> Any:
        """An in-process `httpx.BaseTransport` / `httpx2.BaseTransport` serving this fake."""
        from .transport import make_transport

        return make_transport(self, lib)

    def async_transport(self, lib: str = "auto") -> Any:
        """An in-process `httpx.AsyncBaseTransport` / `httpx2.AsyncBaseTransport` serving this fake."""
        from .transport import make_async_transport

        return make_async_transport(self, lib)

    def client(self, anthropic_cls: type[Any] | None = None, **kwargs: Any) -> Any:
        """A real `anthropic.Anthropic` (or `anthropic_cls`) wired to this fake; kwargs pass through."""
        from .transport import make_client

        return make_client(self, anthropic_cls, is_async=False, **kwargs)

    def async_client(self, anthropic_cls: type[Any] | None = None, **kwargs: Any) -> Any:
        """A real `anthropic.AsyncAnthropic` (or `anthropic_cls`) wired to this fake."""
        from .transport import make_client

        return make_client(self, anthropic_cls, is_async=True, **kwargs)

    # -- the request handler ------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> FakeResponse:
        """Answer one request. Header names must be lowercase (or `headers` case-insensitive)."""
        with self._lock:
            self._seq += 1
            seq = self._seq
        request_id = f"req_01FAKE{seq:018d}"
        retry_count = _int_or_none(headers.get(HEADER_RETRY_COUNT))
        record = RequestRecord(seq, method, path, None, Fault.OK, None, False, retry_count, request_id)

        if method.upper() != "POST" or path not in (MESSAGES_PATH, COUNT_TOKENS_PATH):
            return self._finish(record, self._error(404, "not_found_error", "Not found", request_id))
        try:
            req = json.loads(body) if body else None
        except ValueError:
            req = None
        try:
            script = _script_for_model(headers.get(HEADER_FAULTS), req)
            fault = self._pick_fault(script, retry_count or 0)
        except ValueError as exc:
            return self._finish(record, self._error(400, "invalid_request_error", str(exc), request_id))
        record.fault = fault
        if isinstance(req, dict):
            record.model = req.get("model") if isinstance(req.get("model"), str) else None
            record.stream = path == MESSAGES_PATH and req.get("stream") is True

        # Overload, rate limits and resets happen before the prompt is looked at: no cache effects.
        if fault in _STATUS_FAULTS:
            return self._finish(record, self._error(*_STATUS_FAULTS[fault], request_id))
        if fault is Fault.TIMEOUT:
            return self._finish(record, FakeResponse(0, [], iter(()), Abort.READ_TIMEOUT))
        if fault is Fault.CONNECTION_RESET:
            return self._finish(record, FakeResponse(0, [], iter(()), Abort.CONNECTION_RESET))
        if fault is Fault.ERROR_EVENT and not record.stream:
            # A non-streaming response cannot carry an event; the same overload surfaces as a 529.
            return self._finish(record, self._error(*_STATUS_FAULTS[Fault.OVERLOADED], request_id))

        try:
            if not isinstance(req, dict):
                raise _BadRequest("Request body must be a JSON object")
            model, blocks = _parse_prompt(req, need_max_tokens=path == MESSAGES_PATH)
        except _BadRequest as exc:
            return self._finish(record, self._error(400, "invalid_request_error", str(exc), request_id))

        if path == COUNT_TOKENS_PATH:
            total = sum(b.tokens for b in blocks)
            record.usage = {"input_tokens": total}
            body_bytes = _dumps({"input_tokens": total})
            counted = (
                static_headers(RateLimits(), total, 0) if self.budget is None else self.budget.peek(model)
            )
            resp = FakeResponse(200, self._ok_headers(JSON_CT, request_id, counted), iter(()))
            resp.chunks = iter(self._shape_json(body_bytes, fault, headers))
            return self._finish(record, resp)

        n_out, stop_reason = self._output_tokens(headers, req["max_tokens"])
        # Billed before the cache is touched: a request refused for its rate limit writes nothing.
        limits = self._bill(model, sum(b.tokens for b in blocks), n_out, request_id)
        if isinstance(limits, FakeResponse):
            return self._finish(record, limits)
        msg_id = f"msg_01FAKE{seq:018d}"
        diagnostics = req.get("diagnostics")
        # Only a request that carries `diagnostics` gets the field back (null when nothing diverged).
        extra: dict[str, Any] = {}
        with self._lock:
            usage = self._account_cache(model, blocks)
            if isinstance(diagnostics, dict):
                current = fingerprint(model, blocks, req)
                extra["diagnostics"] = self._diagnoser.diagnose(msg_id, current, diagnostics)
        record.usage = _usage_dict(usage, n_out, headers)
        if record.stream:
            if model in _refusing(headers):
                stop_reason = "refusal"  # streamed refusals: no server-side walk of `fallbacks`
            chunks = self._stream_chunks(msg_id, model, usage, n_out, stop_reason, fault, headers, extra)
            resp = FakeResponse(200, self._ok_headers(SSE_CT, request_id, limits), iter(chunks))
        else:
            message = {**_message(msg_id, model, reply_text(n_out), stop_reason, record.usage), **extra}
            refusing = _refusing(headers)
            if refusing:
                _refuse_or_fall_back(message, req.get("fallbacks"), refusing)
            body_bytes = _dumps(message)
            resp = FakeResponse(
                200,
                self._ok_headers(JSON_CT, request_id, limits),
                iter(self._shape_json(body_bytes, fault, headers)),
            )
        return self._finish(record, resp)

    # -- internals ----------------------------------------------------------------------------------

    def _finish(self, record: RequestRecord, resp: FakeResponse) -> FakeResponse:
        record.status = None if resp.abort else resp.status
        resp.record = record
        with self._lock:
            if self.keep_log:
                self.log.append(record)
            self.fault_counts[record.fault] += 1
            if record.status is not None:
                self.sent_statuses[record.status] += 1
        return resp

    def _pick_fault(self, script: str | None, attempt: int) -> Fault:
        # Precedence: the per-request header script, then the FIFO queue, then the seeded rates.
        if script is not None:
            steps = [Fault.parse(s) for s in script.split(",")]
            return steps[attempt] if attempt < len(steps) else Fault.OK
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            if not self.fault_rates:
                return Fault.OK
            draw = self._rng.random()
        acc = 0.0
        for fault, rate in self.fault_rates.items():
            acc += rate
            if draw < acc:
                return fault
        return Fault.OK

    def _error(self, status: int, etype: str, message: str, request_id: str) -> FakeResponse:
        error = {"type": etype, "message": message}
        body = _dumps({"type": "error", "error": error, "request_id": request_id})
        headers = [("content-type", JSON_CT), ("request-id", request_id)]
        retryable = status in (408, 409, 429) or status >= 500
        headers.append(("x-should-retry", "true" if retryable else "false"))
        if status == 429:
            headers.append(("retry-after", str(self.retry_after_s)))
        if retryable and self.retry_after_ms is not None:
            headers.append(("retry-after-ms", str(self.retry_after_ms)))
        return FakeResponse(status, headers, iter((body,)))

    def _ok_headers(self, content_type: str, request_id: str, limits: HeaderList) -> list[tuple[str, str]]:
        return [("content-type", content_type), *limits, ("request-id", request_id)]

    def _bill(
        self, model: str, in_tokens: int, out_tokens: int, request_id: str
    ) -> HeaderList | FakeResponse:
        """The rate-limit headers of an answer, or the 429 of a request past the model's budget."""
        if self.budget is None:
            return static_headers(RateLimits(), in_tokens, out_tokens)
        verdict = self.budget.charge(model, in_tokens, out_tokens)
        if verdict.exceeded is None:
            return verdict.headers
        resp = self._error(429, "rate_limit_error", verdict.message, request_id)
        # The budget's own wait replaces the fixed one; its headers say which limit is spent.
        resp.headers = [
            ("retry-after", str(verdict.retry_after_s)) if name == "retry-after" else (name, value)
            for name, value in resp.headers
        ]
        resp.headers[1:1] = verdict.headers
        return resp

    def _output_tokens(self, headers: Mapping[str, str], max_tokens: int) -> tuple[int, str]:
        wanted = _int_or_none(headers.get(HEADER_OUTPUT_TOKENS))
        n = max(1, self.output_tokens if wanted is None else wanted)
        return (max_tokens, "max_tokens") if n > max_tokens else (n, "end_turn")

    def _after(self, headers: Mapping[str, str]) -> int:
        n = _int_or_none(headers.get(HEADER_AFTER_DELTAS))
        return max(0, self.after_deltas if n is None else n)

    def _delay(self, headers: Mapping[str, str]) -> float:
        raw = headers.get(HEADER_FIRST_BYTE_DELAY)
        try:
            return float(raw) if raw is not None else self.first_byte_delay
        except ValueError:
            return self.first_byte_delay

    def _shape_json(self, body: bytes, fault: Fault, headers: Mapping[str, str]) -> list[Chunk]:
        half = body[: len(body) // 2]
        if fault in (Fault.MALFORMED_JSON, Fault.CLOSE_BEFORE_STOP):
            return [half]
        if fault is Fault.DROP_MID_STREAM:
            return [half, DROP]
        if fault is Fault.HANG:
            return [HANG]
        if fault is Fault.SLOW_FIRST_BYTE:
            return [Pause(self._delay(headers)), body]
        return [body]

    def _stream_chunks(
        self,
        msg_id: str,
        model: str,
        usage: _Usage,
        n_out: int,
        stop_reason: str,
        fault: Fault,
        headers: Mapping[str, str],
        extra: Mapping[str, Any] | None = None,
    ) -> list[Chunk]:
        full = _usage_dict(usage, 1, headers)  # message_start reports output_tokens 1, like the real API
        start_msg: dict[str, Any] = {
            "model": model,
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "stop_details": None,
            "usage": full,
            **(extra or {}),
        }
        events: list[Chunk] = [
            _sse("message_start", {"type": "message_start", "message": start_msg}),
            _sse(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            _PING,
        ]
        head = len(events)
        events.extend(
            _sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": _reply_token(i)},
                },
            )
            for i in range(n_out)
        )
        # Newer API versions repeat the cumulative input/cache counts in message_delta.usage.
        delta_usage = {
            "input_tokens": usage.input_tokens,
            "cache_creation_input_tokens": usage.cache_creation,
            "cache_read_input_tokens": usage.cache_read,
            "output_tokens": n_out,
        }
        events += [
            _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
            _sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": stop_reason,
                        "stop_sequence": None,
                        "stop_details": _REFUSAL_DETAILS if stop_reason == "refusal" else None,
                    },
                    "usage": delta_usage,
                },
            ),
            _sse("message_stop", {"type": "message_stop"}),
        ]
        cut = head + min(self._after(headers), n_out)
        if fault is Fault.DROP_MID_STREAM:
            return events[:cut] + [DROP]
        if fault is Fault.CLOSE_BEFORE_STOP:
            return events[:cut]
        if fault is Fault.ERROR_EVENT:
            err = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
            return events[:cut] + [_sse("error", err)]
        if fault is Fault.HANG:
            return events[:cut] + [HANG]
        if fault is Fault.MALFORMED_JSON:
            bad = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"del\n\n'
            return events[:cut] + [bad] + events[cut:]
        if fault is Fault.SLOW_FIRST_BYTE:
            return [Pause(self._delay(headers))] + events
        return events

    def _account_cache(self, model: str, blocks: list[_Block]) -> _Usage:
        """Split the prompt into cache reads, cache writes and plain input (caller holds the lock).

        Each breakpoint's prefix is keyed by a hash chain over model + canonical blocks; the longest live
        prefix is read (and every breakpoint up to it refreshed), every later breakpoint is written, its
        segment billed at its own TTL; tokens after the last breakpoint are plain input."""
        now = self.clock()
        h = hashlib.sha256(model.encode())
        # (end index exclusive, key, ttl) per breakpoint
        points: list[tuple[int, str, str]] = []
        for i, b in enumerate(blocks):
            h.update(b"\x00" + b.canonical.encode())
            if b.ttl is not None:
                points.append((i + 1, h.hexdigest(), b.ttl))
        total = sum(b.tokens for b in blocks)
        if not points:
            return _Usage(input_tokens=total)
        hit = -1
        for j, (_, key, _ttl) in enumerate(points):
            entry = self._cache.get(key)
            if entry is not None and entry.expires > now:
                hit = j
        usage = _Usage(input_tokens=0)
        prev_end = 0
        for j, (end, key, ttl) in enumerate(points):
            seg = sum(b.tokens for b in blocks[prev_end:end])
            prev_end = end
            ttl_s = TTL_SECONDS[ttl]
            entry = self._cache.get(key)
            if j <= hit:
                usage.cache_read += seg
                if entry is None or entry.expires <= now:
                    # Inside the read prefix: made live again at no extra charge.
                    entry = self._cache[key] = _CacheEntry(now + ttl_s, ttl_s)
                entry.expires = max(entry.expires, now + entry.ttl)  # refresh on read
            else:
                if ttl == "1h":
                    usage.cache_write_1h += seg
                else:
                    usage.cache_write_5m += seg
                self._cache[key] = _CacheEntry(now + ttl_s, ttl_s)
        usage.input_tokens = total - usage.cache_read - usage.cache_creation
        if len(self._cache) > 10_000:
            # Bound memory in long benchmark runs: drop expired entries.
            self._cache = {k: e for k, e in self._cache.items() if e.expires > now}
        return usage


def _noop() -> None:
    pass


def _script_for_model(script: str | None, req: Any) -> str | None:
    """A fault script per model (`model=529,529;other=ok`, a model not named gets no faults), so one
    header drives a whole fallback chain; a plain script applies to every model."""
    if script is None or "=" not in script:
        return script
    model = req.get("model") if isinstance(req, dict) else None
    for part in script.split(";"):
        name, sep, steps = part.partition("=")
        if not sep:
            raise ValueError(f"bad per-model fault script {part!r}: expected model=faults")
        if name.strip() == model:
            return steps
    return ""


def _int_or_none(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def _usage_dict(u: _Usage, output_tokens: int, headers: Mapping[str, str]) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": u.input_tokens,
        "cache_creation_input_tokens": u.cache_creation,
        "cache_read_input_tokens": u.cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": u.cache_write_5m,
            "ephemeral_1h_input_tokens": u.cache_write_1h,
        },
        "output_tokens": output_tokens,
    }
    for field, header, default in _BILLING_DEFAULTS:
        value = headers.get(header, default)
        if value:
            usage[field] = value
    return usage


def _message(msg_id: str, model: str, text: str, stop_reason: str, usage: dict[str, Any]) -> dict[str, Any]:
    # Field order as the current API sends it (model first).
    return {
        "model": model,
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "stop_details": None,
        "usage": usage,
    }


_REFUSAL_DETAILS: dict[str, Any] = {
    "type": "refusal",
    "category": None,
    "explanation": None,
    "fallback_credit_token": "fct_fake",
}


def _refusing(headers: Mapping[str, str]) -> set[str]:
    raw = headers.get(HEADER_REFUSE)
    return {m.strip() for m in raw.split(",")} if raw else set()


def _refuse_or_fall_back(message: dict[str, Any], fallbacks: Any, refusing: set[str]) -> None:
    """Non-streamed refusals: the requested model, then each `fallbacks` entry in turn, until one
    does not refuse; a `fallback` block marks each hop. All refusing: a refusal by the last tried."""
    chain = [message["model"]]
    if isinstance(fallbacks, list):
        chain += [f["model"] for f in fallbacks if isinstance(f, dict) and isinstance(f.get("model"), str)]
    seams: list[dict[str, Any]] = []
    for here, then in zip(chain, chain[1:]):
        if here not in refusing:
            break
        seams.append(
            {
                "type": "fallback",
                "from": {"model": here},
                "to": {"model": then},
                "trigger": {"type": "refusal", "category": None},
            }
        )
    served = seams[-1]["to"]["model"] if seams else chain[0]
    message["model"] = served
    if served in refusing:
        message["content"] = [*seams]
        message["stop_reason"] = "refusal"
        message["stop_details"] = {
            "type": "refusal",
            "category": None,
            "explanation": None,
            "fallback_credit_token": "fct_fake",
        }
    else:
        message["content"] = [*seams, *message["content"]]


def _block_tokens(block: object) -> int:
    if isinstance(block, str):
        return text_tokens(block)
    if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
        return text_tokens(block["text"])
    # Tool definitions, images, tool_use/tool_result: counted by the length of their canonical JSON.
    return text_tokens(_canon(block))


def _to_block(section: str, role: str | None, block: object) -> _Block:
    ttl: str | None = None
    if isinstance(block, dict) and "cache_control" in block:
        cc = block["cache_control"]
        block = {k: v for k, v in block.items() if k != "cache_control"}
        if cc is not None:
            if not isinstance(cc, dict) or cc.get("type") != "ephemeral":
                raise _BadRequest(f"{section}: cache_control.type: Input should be 'ephemeral'")
            ttl = cc.get("ttl", "5m")
            if ttl not in TTL_SECONDS:
                raise _BadRequest(f"{section}: cache_control.ttl: Input should be '5m' or '1h'")
    return _Block(_block_tokens(block), _canon([section, role, block]), ttl, section)


def _blocks_of(section: str, role: str | None, content: object) -> Iterable[_Block]:
    if isinstance(content, list):
        return [_to_block(section, role, b) for b in content]
    return [_to_block(section, role, content)]


def _parse_prompt(req: Mapping[str, Any], *, need_max_tokens: bool) -> tuple[str, list[_Block]]:
    """Validate the request lightly and flatten its prompt into blocks, in cache order."""
    model = req.get("model")
    if not isinstance(model, str) or not model:
        raise _BadRequest("model: Field required")
    messages = req.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _BadRequest("messages: Field required")
    if need_max_tokens:
        max_tokens = req.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
            raise _BadRequest("max_tokens: Field required")
        if max_tokens < 1:
            raise _BadRequest("max_tokens: Input should be greater than or equal to 1")
    blocks: list[_Block] = []
    for tool in req.get("tools") or []:
        blocks.append(_to_block("tools", None, tool))
    system = req.get("system")
    if system is not None:
        blocks.extend(_blocks_of("system", None, system))
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant") or "content" not in msg:
            raise _BadRequest(f"messages.{i}: Input should be a message with role and content")
        blocks.extend(_blocks_of("messages", msg["role"], msg["content"]))
    marked = [b for b in blocks if b.ttl is not None]
    if len(marked) > MAX_CACHE_BREAKPOINTS:
        raise _BadRequest(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {len(marked)}."
        )
    seen_5m = False
    for b in marked:
        if b.ttl == "1h" and seen_5m:
            raise _BadRequest(
                "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block"
            )
        seen_5m = seen_5m or b.ttl == "5m"
    return model, blocks


__all__ = [
    "DROP",
    "HANG",
    "Abort",
    "Chunk",
    "Drop",
    "FakeAnthropic",
    "FakeResponse",
    "Fault",
    "Hang",
    "Pause",
    "RequestRecord",
    "reply_text",
    "text_tokens",
]
