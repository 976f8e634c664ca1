"""The fake API with scripted response contents: a usage block's counts, or a server's error type.

`FakeAnthropic` answers with truthful token counts and the API's own error types; these tests need
responses no well-behaved server sends (a count of 2**63, a 500-character error type). The fake
builds its response as usual and the scripted fields are then written into its body, JSON or SSE,
so everything else (headers, retries, streaming, bookkeeping) is the fake's own.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from typing import Any

from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.fake.engine import MESSAGES_PATH, FakeResponse


class ScriptedFake(FakeAnthropic):
    """`usage_overrides`: one dict of usage fields per coming 200 response (consumed in order);
    `error_type`: written as `error.type` into every error body and `event: error` while set."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.usage_overrides: deque[dict[str, Any]] = deque()
        self.error_type: str | None = None

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> FakeResponse:
        response = super().handle(method, path, headers, body)
        if path != MESSAGES_PATH or response.abort is not None:
            return response
        if response.status == 200 and self.usage_overrides:
            fields = self.usage_overrides.popleft()
            response.chunks = iter([_rewrite(c, lambda d: _patch_usage(d, fields)) for c in response.chunks])
        elif self.error_type is not None:
            kind = self.error_type
            response.chunks = iter([_rewrite(c, lambda d: _patch_error(d, kind)) for c in response.chunks])
        return response


def _rewrite(chunk: Any, patch: Any) -> Any:
    """`chunk` with `patch` applied to its JSON: a whole JSON body, or the `data:` of one SSE event."""
    if not isinstance(chunk, bytes):
        return chunk
    if chunk.startswith(b"event:"):
        lines = chunk.split(b"\n")
        for i, line in enumerate(lines):
            if line.startswith(b"data: "):
                data = json.loads(line[6:])
                if patch(data):
                    lines[i] = b"data: " + json.dumps(data).encode()
        return b"\n".join(lines)
    data = json.loads(chunk)
    return json.dumps(data).encode() if patch(data) else chunk


def _patch_usage(data: dict[str, Any], fields: dict[str, Any]) -> bool:
    # A Message body, message_start (usage inside `message`) or message_delta (usage at the top).
    usage = data.get("usage") or (data.get("message") or {}).get("usage")
    if not isinstance(usage, dict):
        return False
    usage.update({k: v for k, v in fields.items() if k in usage or data.get("type") != "message_delta"})
    return True


def _patch_error(data: dict[str, Any], kind: str) -> bool:
    error = data.get("error")
    if data.get("type") != "error" or not isinstance(error, dict):
        return False
    error["type"] = kind
    return True
