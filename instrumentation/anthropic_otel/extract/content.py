"""What content capture writes: prompt and output as JSON text, without SDK sentinels, each value capped.

Used only when content capture is on. The SDK passes its "not given" sentinels (`NotGiven` on
older versions, `Omit` on newer ones) in the request body for omitted parameters; they are
recognised by class name, not imported, because the classes and their modules differ across SDK
versions. A captured value longer than the limit is cut so that, marker included, it is exactly
the limit long: it ends with `semconv.CONTENT_TRUNCATED_MARKER` (it is then no longer valid JSON,
which is the point: nobody mistakes it for the whole prompt).
"""

from __future__ import annotations

import json
from typing import Any

from .. import semconv

_SENTINEL_NAMES = frozenset({"NotGiven", "Omit"})
# A limit must leave room for some content before the marker.
MIN_MAX_CHARS = 64


def is_sentinel(value: Any) -> bool:
    """The SDK's marker for an omitted parameter (any SDK version), never a real value."""
    cls = type(value)
    return cls.__name__ in _SENTINEL_NAMES and cls.__module__.partition(".")[0] == "anthropic"


def without_sentinels(value: Any) -> Any:
    """`value` with every sentinel dropped from the dicts and lists inside it."""
    if isinstance(value, dict):
        return {k: without_sentinels(v) for k, v in value.items() if not is_sentinel(v)}
    if isinstance(value, (list, tuple)):
        return [without_sentinels(v) for v in value if not is_sentinel(v)]
    return value


def to_json(value: Any) -> str:
    """JSON text of a request part (SDK objects and other non-JSON values as their `str`)."""
    return json.dumps(without_sentinels(value), default=str)


def capped(text: str, max_chars: int) -> tuple[str, bool]:
    """`text` cut to `max_chars` characters ending with the marker, and whether it was cut."""
    if len(text) <= max_chars:
        return text, False
    marker = semconv.CONTENT_TRUNCATED_MARKER
    return text[: max_chars - len(marker)] + marker, True
