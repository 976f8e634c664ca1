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
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

# Fields that never change the model's answer (or are not body fields at all).
EXCLUDED_FIELDS: Final = frozenset(
    {"metadata", "stream", "timeout", "extra_headers", "extra_query", "extra_body", "max_retries"}
)
# The SDK's "not given" sentinels, matched by name so this module needs no SDK import.
_SENTINELS: Final = frozenset({"NotGiven", "Omit"})
_SEQUENCES: Final = (list, tuple)
# Top-level value types that need no check beyond the field name (the common case, kept fast).
_PLAIN: Final = frozenset({str, int, list, dict, bool})


def canonical_json(body: Mapping[str, Any]) -> bytes:
    """The canonical UTF-8 JSON the fingerprint is computed over (exposed for tests and docs)."""
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
    system = fields.get("system")
    if system is not None:
        fields["system"] = _collapse_text(system)
    messages = fields.get("messages")
    if isinstance(messages, _SEQUENCES):
        fields["messages"] = [_canonical_message(m) for m in messages]
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain)
    # One pass over the serialized document: JSON punctuation is ASCII and never composes with a
    # combining mark, so this equals normalizing every string on its own, at C speed.
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text.encode("utf-8", "surrogatepass")


def fingerprint(body: Mapping[str, Any], hmac_key: bytes | None = None) -> str:
    """Hex SHA-256 of `canonical_json(body)`, or HMAC-SHA-256 when a key is given.

    With a key, fingerprints stored in a shared Redis cannot be confirmed by hashing guessed short
    prompts ("yes", "hello") without the key.
    """
    data = canonical_json(body)
    if hmac_key:
        return hmac.new(hmac_key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


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
