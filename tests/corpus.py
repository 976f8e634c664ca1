"""Loader for the recorded Anthropic API corpus (third-party data, read in place, never copied here).

The path comes from `ANTHROPIC_OTEL_CORPUS`, else `<repo>/../shared/corpus/recordings.jsonl`; when the
file is absent the calling test is skipped with the reason printed."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PATH = REPO.parent / "shared" / "corpus" / "recordings.jsonl"


def corpus_path() -> Path:
    return Path(os.environ.get("ANTHROPIC_OTEL_CORPUS", str(DEFAULT_PATH)))


@functools.cache
def _load(path: str) -> tuple[dict[str, Any], ...]:
    with open(path, encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh if line.strip())


def load_corpus() -> list[dict[str, Any]]:
    """All records (one dict per line); skips the calling test if the corpus file is missing."""
    path = corpus_path()
    if not path.is_file():
        reason = f"corpus not found at {path} (set ANTHROPIC_OTEL_CORPUS)"
        print(reason)
        pytest.skip(reason)
    return list(_load(str(path)))


def records(kind: str | None = None) -> list[dict[str, Any]]:
    """Records of one kind (`message`, `stream`, `error`, `count_tokens`), or all."""
    return [r for r in load_corpus() if kind is None or r["kind"] == kind]


def record(record_id: str) -> dict[str, Any]:
    """The record with this `id` (KeyError if absent)."""
    for r in load_corpus():
        if r["id"] == record_id:
            return r
    raise KeyError(record_id)


def sse_events(body: str) -> list[tuple[str | None, str]]:
    """Split an SSE body into (event name, data) pairs at blank lines."""
    out: list[tuple[str | None, str]] = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        out.append((event, "\n".join(data)))
    return out
