"""Content capture's pure helpers: SDK sentinels dropped, values capped to an exact length."""

from __future__ import annotations

import anthropic
import pytest
from anthropic_otel.extract.content import capped, is_sentinel, to_json, without_sentinels

MARKER = "...[truncated]"


def _sentinels() -> list[object]:
    # NOT_GIVEN exists on every supported SDK; `omit` only on newer ones (it replaced NOT_GIVEN in bodies).
    found: list[object] = [anthropic.NOT_GIVEN]
    omit = getattr(anthropic, "omit", None)
    if omit is not None:
        found.append(omit)
    return found


@pytest.mark.parametrize("sentinel", _sentinels(), ids=lambda s: type(s).__name__)
def test_the_sdks_sentinels_are_recognised_and_dropped(sentinel: object) -> None:
    assert is_sentinel(sentinel)
    body = {"system": sentinel, "messages": [{"role": "user", "content": "hi", "cache": sentinel}, sentinel]}
    assert without_sentinels(body) == {"messages": [{"role": "user", "content": "hi"}]}
    assert to_json(body["messages"]) == '[{"role": "user", "content": "hi"}]'


def test_a_class_of_the_same_name_outside_the_sdk_is_a_real_value() -> None:
    class Omit:
        pass

    assert not is_sentinel(Omit())
    assert not is_sentinel(None) and not is_sentinel("NotGiven")


def test_value_at_the_limit_is_kept_whole() -> None:
    assert capped("a" * 64, 64) == ("a" * 64, False)


def test_value_over_the_limit_is_cut_to_exactly_the_limit_with_the_marker() -> None:
    text, cut = capped("a" * 65, 64)
    assert cut
    assert len(text) == 64
    assert text == "a" * 50 + MARKER
