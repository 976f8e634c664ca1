"""The request fingerprint: a SHA-256 (or keyed HMAC-SHA-256) over a canonical JSON of the request body.

Two calls get the same fingerprint exactly when the API would see the same request. That is why this
is an *exclusion* list, not the usual allow list of model, system, messages and max_tokens: two calls
that differ only in `temperature`, `tools`, `thinking` or any field added to the API next year can
give different answers, so they are not duplicates. Only what cannot change the result is left out:
`metadata` (its `user_id` differs per call), `stream` (the same answer, delivered differently) and
transport options that may sit next to body fields in SDK keyword arguments (`timeout`,
`extra_headers`, `extra_query`, `max_retries`); `extra_body` is merged in, because the SDK sends it.
Canonical means key order, JSON escaping, Unicode normalization (NFC), `1` vs `1.0` for numbers,
omitted vs `None` top-level fields, and a `system` prompt or message `content` given as a string vs
as one plain text block (no `cache_control`) all give the same fingerprint. The functions here are
pure: no I/O, no SDK import, and the input is never mutated or consumed.

The work per call is bounded, because it runs on the calling thread and JSON-encoding a body costs
3 to 25 ms per MB, depending on its shape. A prompt (system and messages) weighing more than
`EXACT_LIMIT` (characters plus a fixed weight per list or dict item, found without reading past the
limit) is fingerprinted from a bounded sample instead: every top-level field, the number of items of
every list, the first and last items of a long list (the newest messages among them) and a few
evenly spaced ones between, and for a long string its length and a hash of its head, its tail and
evenly spaced slices. Such a fingerprint starts with `capped:`. Two requests that differ only where
the sample does not look (an edit that keeps the length, in the middle of a long document or in an
unsampled message of a long conversation with as many messages) share it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable, Final

# Fields that never change the model's answer (or are not body fields at all).
EXCLUDED_FIELDS: Final = frozenset(
    {"metadata", "stream", "timeout", "extra_headers", "extra_query", "extra_body", "max_retries"}
)
# The SDK's "not given" sentinels, matched by name so this module needs no SDK import.
_SENTINELS: Final = frozenset({"NotGiven", "Omit"})
_SEQUENCES: Final = (list, tuple)
# Top-level value types that need no check beyond the field name (the common case, kept fast).
_PLAIN: Final = frozenset({str, int, list, dict, bool})
_SCALARS: Final = frozenset({int, float, bool, type(None)})

# A prompt weighing more than this is sampled: about 256 KB of text, or 4,096 items, or a mix.
EXACT_LIMIT: Final = 256 * 1024
CAPPED_PREFIX: Final = "capped:"
# What one list or dict item weighs, in characters: JSON-encoding an item (a dict, a number, the
# quotes and commas around it) costs about as much as encoding a hundred characters of a string.
_ITEM_WEIGHT: Final = 64
# A capped document holds at most this weight of each part: messages, system, the other fields.
_SAMPLE_BUDGET: Final = 64 * 1024
# Lists longer than _KEEP_ITEMS are sampled: the last _TAIL items, the first _HEAD, _STRIDE between.
_KEEP_ITEMS: Final = 32
_HEAD: Final = 8
_TAIL: Final = 16
_STRIDE: Final = 8
# Strings longer than _KEEP_CHARS are replaced by their length and a hash of a _SAMPLE_CHARS sample.
_KEEP_CHARS: Final = 4096
_SLICES: Final = 64
_SLICE_CHARS: Final = 64
_SAMPLE_CHARS: Final = _KEEP_CHARS + _SLICES * _SLICE_CHARS


def canonical_json(body: Mapping[str, Any]) -> bytes:
    """The canonical UTF-8 JSON the exact fingerprint is computed over (exposed for tests and docs)."""
    return _exact(_fields(body))


def capped_json(body: Mapping[str, Any]) -> bytes:
    """The bounded sample a capped fingerprint is computed over (exposed for tests and docs)."""
    return _capped(_fields(body))


def fingerprint(
    body: Mapping[str, Any], hmac_key: bytes | None = None, *, limit: int | None = EXACT_LIMIT
) -> str:
    """Hex SHA-256 of `canonical_json(body)`, or HMAC-SHA-256 when a key is given.

    With a key, fingerprints stored in a shared Redis cannot be confirmed by hashing guessed short
    prompts ("yes", "hello") without the key. A prompt weighing more than `limit` gives `capped:`
    followed by the digest of `capped_json(body)`; `limit=None` always hashes the whole body.
    """
    fields = _fields(body)
    if limit is None or _within(fields, limit):
        data, prefix = _exact(fields), ""
    else:
        data, prefix = _capped(fields), CAPPED_PREFIX
    if hmac_key:
        return prefix + hmac.new(hmac_key, data, hashlib.sha256).hexdigest()
    return prefix + hashlib.sha256(data).hexdigest()


def _fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that can change the answer, `extra_body` merged in, absent values left out."""
    fields: dict[str, Any] = {}
    extra = body.get("extra_body")
    for source in (body, extra if isinstance(extra, Mapping) else {}):
        for key, value in source.items():
            kind = type(value)
            if kind not in _PLAIN:
                if value is None or kind.__name__ in _SENTINELS:
                    continue
                # The API reads 1 and 1.0 alike; JSON writes them differently.
                if kind is float and value.is_integer():
                    value = int(value)
            if key not in EXCLUDED_FIELDS:
                fields[key] = value
    return fields


def _exact(fields: dict[str, Any]) -> bytes:
    system = fields.get("system")
    if system is not None:
        fields["system"] = _collapse_text(system)
    messages = fields.get("messages")
    if isinstance(messages, _SEQUENCES):
        fields["messages"] = [_canonical_message(m) for m in messages]
    return _encode(fields)


def _encode(document: dict[str, Any]) -> bytes:
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain)
    # One pass over the serialized document: JSON punctuation is ASCII and never composes with a
    # combining mark, so this equals normalizing every string on its own, at C speed.
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text.encode("utf-8", "surrogatepass")


def _within(fields: dict[str, Any], limit: int) -> bool:
    """Whether the prompt (system and messages) weighs at most `limit`.

    The other fields (tools, numbers) are not weighed: an application defines them once, and they
    do not grow with a conversation; weighing tool schemas on every call would cost more than it saves.
    """
    budget = limit
    system = fields.get("system")
    if system is not None:
        budget = budget - len(system) if type(system) is str else _weigh(system, budget)
    messages = fields.get("messages")
    if messages is not None and budget >= 0:
        budget = _weigh(messages, budget)
    return budget >= 0


def _weigh(value: Any, budget: int) -> int:
    """`budget` less the weight of `value`: string lengths plus `_ITEM_WEIGHT` per list or dict item.

    Returns as soon as the result is negative, so it reads at most `budget / _ITEM_WEIGHT` items,
    however large `value` is. A dict inside a list (a message, a content block) is read in the
    list's loop rather than by a call of its own: this runs on every call.
    """
    kind = type(value)
    if kind is str:
        return budget - len(value)
    if budget < 0:
        return budget
    items: Any
    if kind is list or kind is tuple:
        items = value
    elif kind is dict or isinstance(value, Mapping):
        items = value.values()
    elif isinstance(value, str):  # a str subclass, such as a template library's markup string
        return budget - len(value)
    else:
        # An SDK model passed back in (its fields are in its __dict__), or a value json.dumps rejects.
        attrs = getattr(value, "__dict__", None)
        if not isinstance(attrs, dict):
            return budget - _ITEM_WEIGHT
        items = attrs.values()
    budget -= _ITEM_WEIGHT * len(items)
    for item in items:
        kind = type(item)
        if kind is str:
            budget -= len(item)
        elif kind is dict:
            budget -= _ITEM_WEIGHT * len(item)
            if budget < 0:
                return budget
            for field in item.values():
                kind = type(field)
                if kind is str:
                    budget -= len(field)
                elif kind not in _SCALARS:
                    budget = _weigh(field, budget)
        elif kind not in _SCALARS:
            budget = _weigh(item, budget)
        if budget < 0:
            return budget
    return budget


def _capped(fields: dict[str, Any]) -> bytes:
    """Each part is sampled within a budget of its own, so a long conversation cannot crowd the
    system prompt or the tools out of the sample."""
    document: dict[str, Any] = {}
    others = _Sampler()
    for key in sorted(fields):
        value = fields[key]
        if key == "system":
            document[key] = _Sampler().sample(_collapse_text(value))
        elif key == "messages" and isinstance(value, _SEQUENCES):
            document[key] = _Sampler().sequence(value, _canonical_message)
        else:
            document[key] = others.sample(value)
    return _encode(document)


class _Sampler:
    """Copies a value with its long lists and strings sampled, reading at most `_SAMPLE_BUDGET` of it.

    Once the budget is spent, what is left is described by its size alone: the work stays bounded
    whatever the value. Dict keys are visited in sorted order, so the sample ignores key order.
    Markers start with NUL, which no prompt text sent to the API is expected to start with.
    """

    __slots__ = ("budget",)

    def __init__(self) -> None:
        self.budget = _SAMPLE_BUDGET

    def sample(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return self.text(value)
        if kind in _SCALARS:
            return value
        if kind is list or kind is tuple:
            return self.sequence(value)
        if kind is dict or isinstance(value, Mapping):
            weight = _ITEM_WEIGHT * len(value)
            if self.budget < weight:
                return f"\x00{len(value)} keys"
            self.budget -= weight
            return {key: self.sample(value[key]) for key in sorted(value)}
        if isinstance(value, str):
            return self.text(value)
        dumped = _plain_model(value)
        if dumped is not None:
            return self.sample(dumped)
        if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
            return self.sequence(value)
        return value  # json.dumps rejects it through _plain, as it does for an exact fingerprint

    def sequence(self, items: Sequence[Any], each: Callable[[Any], Any] | None = None) -> Any:
        count = len(items)
        kept = min(count, _KEEP_ITEMS)
        if self.budget < _ITEM_WEIGHT * kept:
            return f"\x00{count} items"
        self.budget -= _ITEM_WEIGHT * kept
        if count <= _KEEP_ITEMS:
            return [self.sample(item if each is None else each(item)) for item in items]
        # The newest items first: if the budget runs out, it runs out in the older part of the list.
        picks = [*range(count - 1, count - 1 - _TAIL, -1), *range(_HEAD)]
        between = count - _HEAD - _TAIL
        picks += [_HEAD + between * (k + 1) // (_STRIDE + 1) for k in range(_STRIDE)]
        sampled: dict[int, Any] = {}
        for index in picks:
            item = items[index]
            sampled[index] = self.sample(item if each is None else each(item))
        return [f"\x00{count} items", *([index, sampled[index]] for index in sorted(sampled))]

    def text(self, value: str) -> str:
        length = len(value)
        if length <= _KEEP_CHARS:
            if self.budget < length:
                return f"\x00{length} chars"
            self.budget -= length
            return value
        if self.budget < _SAMPLE_CHARS:
            return f"\x00{length} chars"
        self.budget -= _SAMPLE_CHARS
        half = _KEEP_CHARS // 2
        step = max(0, (length - _KEEP_CHARS - _SLICE_CHARS) // (_SLICES - 1))
        parts = [value[:half], value[length - half :]]
        parts += [value[half + k * step : half + k * step + _SLICE_CHARS] for k in range(_SLICES)]
        digest = hashlib.sha256("".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
        return f"\x00{length} chars {digest}"


def _canonical_message(message: Any) -> Any:
    if not isinstance(message, Mapping):
        return message
    content = message.get("content")
    if content is None or isinstance(content, str):
        return message
    collapsed = _collapse_text(content)
    if collapsed is content:
        return message
    out = dict(message)
    out["content"] = collapsed
    return out


def _collapse_text(value: Any) -> Any:
    """`[{"type": "text", "text": s}]` is read by the API exactly as `s`; anything else is kept."""
    if not isinstance(value, _SEQUENCES) or len(value) != 1:
        return value
    block = value[0]
    if not isinstance(block, Mapping):
        block = _plain_model(block)
        if block is None:
            return value
    if block.get("type") != "text" or not isinstance(block.get("text"), str):
        return value
    # `citations: None` and friends (as SDK response objects carry them) mean "absent".
    if any(v is not None for k, v in block.items() if k not in ("type", "text")):
        return value
    return block["text"]


def _plain_model(value: Any) -> dict[str, Any] | None:
    """A pydantic model (an SDK response block passed back in) as the SDK would send it."""
    dump = getattr(value, "model_dump", None)
    if dump is None:
        return None
    exclude = getattr(value, "__api_exclude__", None)
    result: dict[str, Any] = dump(
        mode="json", exclude_unset=True, by_alias=True, exclude=exclude, exclude_none=True
    )
    return result


def _plain(value: Any) -> Any:
    """json.dumps fallback for values that are not plain JSON types; never consumes an iterator."""
    dumped = _plain_model(value)
    if dumped is not None:
        return dumped
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)):
        return list(value)
    if isinstance(value, Iterator):
        raise TypeError(
            "a one-shot iterator in the request body cannot be fingerprinted without consuming it"
        )
    raise TypeError(f"cannot fingerprint a value of type {type(value).__name__}")
