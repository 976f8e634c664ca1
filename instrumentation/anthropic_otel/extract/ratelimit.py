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
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Final, NamedTuple

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


# Every header name a limit comes in (lower case) -> (kind, field): one lookup per header instead of
# parsing each name. Other `anthropic-*` headers (organization id, ...) miss and are passed over.
_NAMES: Final = {
    f"{prefix}{kind.replace('_', '-')}-{field}": (kind_prefix + kind, field)
    for prefix, kind_prefix in _FAMILIES.items()
    for kind in _BASE_KINDS
    for field in _FIELDS
}
_RAW_NAMES: Final = {name.encode("latin-1"): known for name, known in _NAMES.items()}


def rate_limits(headers: Mapping[str, str]) -> tuple[list[RateLimit], int]:
    """Every limit the headers announce, in a stable order, and how many values did not parse.

    Runs on every attempt's response: each header name is matched by one dict lookup, as the bytes
    httpx keeps (counts parse from bytes as they are; only a reset is decoded)."""
    found: dict[str, dict[str, str | bytes]] = {}
    for known, value in _limit_headers(headers):
        kind, field = known
        fields = found.get(kind)
        if fields is None:
            fields = found[kind] = {}
        fields[field] = value
    bad = 0
    limits = []
    for kind in sorted(found):
        fields = found[kind]
        limit, bad_limit = _count(fields.get("limit"))
        remaining, bad_remaining = _count(fields.get("remaining"))
        reset, bad_reset = _reset_time(fields.get("reset"))
        bad += bad_limit + bad_remaining + bad_reset
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


def _limit_headers(headers: Mapping[str, str]) -> Iterator[tuple[tuple[str, str], str | bytes]]:
    """((kind, field), value) of each rate-limit header, one per header line, names in any case."""
    raw = getattr(headers, "raw", None)
    if isinstance(raw, list):  # httpx's Headers: (name, value) bytes as received
        for name, value in raw:
            known = _RAW_NAMES.get(name)
            if known is None and name[:10].lower() == b"anthropic-":
                known = _RAW_NAMES.get(name.lower())
            if known is not None:
                yield known, value
        return
    for name, value in headers.items():
        known = _NAMES.get(name.lower())
        if known is not None:
            yield known, value


def _count(raw: str | bytes | None) -> tuple[int | None, int]:
    if raw is None:
        return None, 0
    try:
        value = int(raw.strip())
    except ValueError:
        return None, 1
    return (value, 0) if 0 <= value <= _MAX_VALUE else (None, 1)


def _reset_time(raw: str | bytes | None) -> tuple[float | None, int]:
    if raw is None:
        return None, 0
    return _parsed_reset_time(raw)


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
