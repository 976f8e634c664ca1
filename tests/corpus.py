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


def _absent_reason(path: Path) -> str | None:
    return None if path.is_file() else f"corpus not found at {path} (set ANTHROPIC_OTEL_CORPUS)"


def load_corpus() -> list[dict[str, Any]]:
    """All records (one dict per line); skips the calling test if the corpus file is missing."""
    path = corpus_path()
    reason = _absent_reason(path)
    if reason is not None:
        print(reason)
        pytest.skip(reason)
    return list(_load(str(path)))


def params(kind: str) -> list[Any]:
    """`pytest.param`s for `parametrize`, one per record of `kind` with the record's id as test id.

    Called at collection, where skipping is not possible: without the corpus (or without a record
    of `kind`) it returns one param marked skip, with the reason printed."""
    path = corpus_path()
    reason = _absent_reason(path)
    found = [] if reason is not None else [r for r in _load(str(path)) if r["kind"] == kind]
    if not found:
        reason = reason or f"no {kind} records in the corpus"
        print(reason)
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason))]
    return [pytest.param(r, id=r["id"]) for r in found]


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
