"""Rate-limit headroom from a response's headers: what each limit is, what is left, when it resets.

The API sends, on successes and errors alike, `anthropic-ratelimit-{kind}-{limit,remaining,reset}`
for `requests`, `tokens`, `input-tokens` and `output-tokens`, and the same families under
`anthropic-priority-` (Priority Tier) and `anthropic-fast-` (fast mode). Pure and duck-typed: any
mapping of lower-case header names works. A value that does not parse is skipped and counted, never
raised. A reset at or before the Unix epoch (`1970-01-01T00:00:00Z`, which the API sends for a limit
that is not counting down) is not a reset time and is left out, uncounted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, Final, NamedTuple

# Header prefix -> the prefix of the kinds it reports (`priority_input_tokens`, ...).
_FAMILIES: Final = {
    "anthropic-ratelimit-": "",
    "anthropic-priority-": "priority_",
    "anthropic-fast-": "fast_",
}
_FIELDS: Final = ("limit", "remaining", "reset")
# The limits the API names, in the order a 429 is explained by (the most specific first).
_BASE_KINDS: Final = ("input_tokens", "output_tokens", "tokens", "requests")
# A count past this is no rate limit a real account has: a corrupt header, skipped and counted.
_MAX_VALUE: Final = 10**15
# The phrase of a 429's message naming the limit it hit ("rate limit of 450,000 input tokens per minute").
_MESSAGE_KIND: Final = re.compile(r"\b(input tokens|output tokens|tokens|requests) per minute\b")


class RateLimit(NamedTuple):
    """One limit as the response announced it; a field the headers did not give (or gave garbled) is None."""

    kind: str
    limit: int | None
    remaining: int | None
    reset_time: float | None  # Unix seconds


# Every header name a limit comes in (lower case) -> (kind, index of the field in `_FIELDS`): one lookup
# per header instead of parsing each name. Other `anthropic-*` headers (organization id, ...) miss.
_NAMES: Final = {
    f"{prefix}{kind.replace('_', '-')}-{field}": (kind_prefix + kind, index)
    for prefix, kind_prefix in _FAMILIES.items()
    for kind in _BASE_KINDS
    for index, field in enumerate(_FIELDS)
}
_RAW_NAMES: Final = {name.encode("latin-1"): known for name, known in _NAMES.items()}


class LimitLines(NamedTuple):
    """A response's rate-limit header lines, compact: which (kind, field index) each line is, and
    their values joined by NUL (a header value cannot hold one). One new string, so keeping it until
    it is parsed keeps none of the response's own objects alive."""

    known: tuple[tuple[str, int], ...]
    values: bytes | str


def limit_lines(headers: Mapping[str, str]) -> LimitLines | None:
    """The rate-limit lines of `headers`, or None when there are none. The calling thread's part: one
    dict lookup per header name, as the bytes httpx keeps; nothing is parsed."""
    known: list[tuple[str, int]] = []
    values: list[Any] = []
    raw = getattr(headers, "raw", None)
    if isinstance(raw, list):  # httpx's Headers: (name, value) bytes as received
        get = _RAW_NAMES.get
        for name, value in raw:
            found = get(name)
            if found is None:
                if name[:10].lower() != b"anthropic-":
                    continue
                found = get(name.lower())  # a server that capitalises its header names
                if found is None:
                    continue
            known.append(found)
            values.append(value)
        if not known:
            return None
        return LimitLines(tuple(known), b"\0".join(values))
    for name, value in headers.items():
        found = _NAMES.get(name.lower())
        if found is not None:
            known.append(found)
            values.append(value)
    if not known:
        return None
    return LimitLines(tuple(known), "\0".join(values))


def rate_limits(headers: Mapping[str, str]) -> tuple[list[RateLimit], int]:
    """Every limit the headers announce, in a stable order, and how many values did not parse."""
    lines = limit_lines(headers)
    return parse_lines(lines) if lines is not None else ([], 0)


def parse_lines(lines: LimitLines) -> tuple[list[RateLimit], int]:
    """The limits of `lines`, in a stable order, and how many values did not parse (counts parse
    from bytes as they are; a reset is parsed once per distinct string)."""
    found: dict[str, list[str | bytes | None]] = {}
    joined = lines.values
    values: list[Any] = joined.split(b"\0") if isinstance(joined, bytes) else joined.split("\0")
    for (kind, index), value in zip(lines.known, values):
        fields = found.get(kind)
        if fields is None:
            fields = found[kind] = [None, None, None]
        fields[index] = value
    bad = 0
    limits = []
    for kind in sorted(found) if len(found) > 1 else found:
        raw_limit, raw_remaining, raw_reset = found[kind]
        limit = remaining = reset = None
        if raw_limit is not None:
            limit = _count(raw_limit)
            bad += limit is None
        if raw_remaining is not None:
            remaining = _count(raw_remaining)
            bad += remaining is None
        if raw_reset is not None:
            reset, bad_reset = _parsed_reset_time(raw_reset)
            bad += bad_reset
        if limit is not None or remaining is not None or reset is not None:
            limits.append(RateLimit(kind, limit, remaining, reset))
    return limits, bad


def exhausted_kind(limits: Iterable[RateLimit], message: object = None) -> str | None:
    """Which limit a 429 hit: the one whose remaining is 0 (the most specific first), else the limit
    the error message names; None when neither says."""
    empty = {limit.kind for limit in limits if limit.remaining == 0}
    for family in _FAMILIES.values():
        for kind in _BASE_KINDS:
            if family + kind in empty:
                return family + kind
    if isinstance(message, str):
        named = _MESSAGE_KIND.search(message)
        if named is not None:
            return named.group(1).replace(" ", "_")
    return None


def _count(raw: str | bytes) -> int | None:
    try:
        value = int(raw)  # int() strips surrounding whitespace itself, from str and bytes alike
    except ValueError:
        return None
    return value if 0 <= value <= _MAX_VALUE else None


# A reset instant is announced by every response until it passes: the same few strings over and over.
@lru_cache(maxsize=64)
def _parsed_reset_time(raw: str | bytes) -> tuple[float | None, int]:
    text = (raw.decode("latin-1") if isinstance(raw, bytes) else raw).strip()
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None, 1
    if when.tzinfo is None:
        return None, 1  # a time without a zone is no instant
    seconds = when.timestamp()
    return (seconds, 0) if seconds > 0 else (None, 0)
