"""semconv.py holds names the package uses, once each."""

from __future__ import annotations

import re
from pathlib import Path

from anthropic_otel import semconv

PACKAGE = Path(__file__).resolve().parents[2] / "instrumentation" / "anthropic_otel"


def test_every_name_in_semconv_is_used() -> None:
    # A name only defined (spelled once in the whole package) is dead: nothing emits or reads it.
    sources = [path.read_text() for path in PACKAGE.rglob("*.py")]
    dead = [
        name
        for name in vars(semconv)
        if name.isupper() and sum(len(re.findall(rf"\b{name}\b", text)) for text in sources) < 2
    ]
    assert dead == []
