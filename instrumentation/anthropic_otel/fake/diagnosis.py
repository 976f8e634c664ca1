"""The fake API's cache diagnosis (beta `cache-diagnosis-2026-04-07`), computed from the requests it saw.

A request carrying a `diagnostics` object has a fingerprint of its prompt stored under its response's
`id` (digests and token counts only, the newest `MAX_FINGERPRINTS` kept). When a later request names
that id as `diagnostics.previous_message_id`, the two prompts are compared in cache order and the
first divergence is reported as the API does: `model_changed`, `tools_changed`, `system_changed`,
`messages_changed` (an earlier message differs, rather than messages only being appended),
`unavailable` (the prompt matches but `tool_choice` or `thinking` differ), or
`previous_message_not_found`; no divergence gives `null`. `cache_missed_input_tokens` is the previous
request's cached prefix (up to its last breakpoint) from the first differing block on.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

MAX_FINGERPRINTS = 10_000


class PromptBlock(Protocol):
    section: str
    canonical: str
    tokens: int
    ttl: str | None


@dataclass(frozen=True)
class _Fingerprint:
    model: str
    sections: tuple[tuple[str, str], ...]  # (section, block digest) in cache order
    tokens: tuple[int, ...]
    last_breakpoint: int  # index of the last cache_control block, -1 for none
    other: str  # digest of the other prompt-affecting parameters


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def fingerprint(model: str, blocks: Sequence[PromptBlock], req: Mapping[str, Any]) -> _Fingerprint:
    marks = [i for i, b in enumerate(blocks) if b.ttl is not None]
    other = repr((req.get("tool_choice"), req.get("thinking")))
    return _Fingerprint(
        model,
        tuple((b.section, _digest(b.canonical)) for b in blocks),
        tuple(b.tokens for b in blocks),
        marks[-1] if marks else -1,
        _digest(other),
    )


def _section(fp: _Fingerprint, name: str) -> list[str]:
    return [digest for section, digest in fp.sections if section == name]


def compare(previous: _Fingerprint, current: _Fingerprint) -> dict[str, Any] | None:
    """The `cache_miss_reason` for `current` against `previous`, or None when nothing diverged."""

    def missed(start: int) -> int:
        return sum(previous.tokens[start : previous.last_breakpoint + 1])

    if previous.model != current.model:
        return {"type": "model_changed", "cache_missed_input_tokens": missed(0)}
    first = next(
        (i for i, (a, b) in enumerate(zip(previous.sections, current.sections)) if a != b),
        min(len(previous.sections), len(current.sections)),
    )
    for name, kind in (("tools", "tools_changed"), ("system", "system_changed")):
        if _section(previous, name) != _section(current, name):
            return {"type": kind, "cache_missed_input_tokens": missed(first)}
    before, now = _section(previous, "messages"), _section(current, "messages")
    if now[: len(before)] != before:
        return {"type": "messages_changed", "cache_missed_input_tokens": missed(first)}
    if previous.other != current.other:
        return {"type": "unavailable"}
    return None


class Diagnoser:
    """Fingerprints by response id, bounded; the caller serialises access (the fake's lock)."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, _Fingerprint] = OrderedDict()

    def diagnose(
        self, msg_id: str, current: _Fingerprint, diagnostics: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The response's `diagnostics` value for a request that asked for it; stores its fingerprint."""
        previous_id = diagnostics.get("previous_message_id")
        self._seen[msg_id] = current
        if len(self._seen) > MAX_FINGERPRINTS:
            self._seen.popitem(last=False)
        if previous_id is None:
            return None
        previous = self._seen.get(previous_id) if isinstance(previous_id, str) else None
        reason = {"type": "previous_message_not_found"} if previous is None else compare(previous, current)
        return None if reason is None else {"cache_miss_reason": reason}
