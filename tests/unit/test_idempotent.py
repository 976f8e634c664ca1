"""`idempotent()`: the explicit replay wrapper over a real client on the fake API (sync and async)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from anthropic.types import Message
from anthropic_otel import semconv
from anthropic_otel.dedup import MemoryResponseStore, fingerprint, idempotent
from anthropic_otel.dedup.fingerprint import CAPPED_PREFIX
from anthropic_otel.fake import FakeAnthropic

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Hi"}]


def test_idempotent_replays_a_completed_duplicate_without_calling_the_api() -> None:
    fake = FakeAnthropic()
    raw = fake.client()
    store = MemoryResponseStore()
    client = idempotent(raw, store)
    kwargs: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 32, "messages": MESSAGES}
    first = client.messages.create(**kwargs)
    replayed = client.messages.create(**kwargs, metadata={"user_id": "again"}, timeout=5)
    different = client.messages.create(**{**kwargs, "stop_sequences": ["END"]})
    assert len(fake.records("/v1/messages")) == 2
    assert isinstance(replayed, Message)
    assert replayed == first and replayed is not first
    assert different.id != first.id
    assert len(store) == 2
    assert client.base_url is raw.base_url  # everything else passes through
    raw.close()


def test_idempotent_never_replays_streams_and_survives_a_broken_store() -> None:
    class Broken:
        def get(self, fp: str) -> str | None:
            raise RuntimeError("store down")

        def put(self, fp: str, payload: str, ttl_s: float) -> None:
            raise RuntimeError("store down")

    fake = FakeAnthropic()
    raw = fake.client()
    client = idempotent(raw, Broken())
    kwargs: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 32, "messages": MESSAGES}
    a = client.messages.create(**kwargs)
    b = client.messages.create(**kwargs)
    with client.messages.create(**kwargs, stream=True) as stream:
        events = [event.type for event in stream]
    assert a.id != b.id
    assert events[-1] == "message_stop"
    assert len(fake.records("/v1/messages")) == 3
    raw.close()


def test_idempotent_async_client_and_generator_messages() -> None:
    fake = FakeAnthropic()
    raw = fake.async_client()
    client = idempotent(raw)

    async def main() -> tuple[Any, Any]:
        one = await client.messages.create(
            model="claude-sonnet-4-6", max_tokens=32, messages=(m for m in MESSAGES)
        )
        two = await client.messages.create(
            model="claude-sonnet-4-6", max_tokens=32, messages=(m for m in MESSAGES)
        )
        await raw.close()
        return one, two

    one, two = asyncio.run(main())
    assert one == two
    assert len(fake.records("/v1/messages")) == 1


def test_idempotent_replays_only_on_the_exact_fingerprint_of_a_huge_body() -> None:
    """Two long conversations the capped fingerprint cannot tell apart: each gets its own answer."""
    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i:05d}"} for i in range(5001)]
    edited = [dict(m) for m in turns]
    edited[2000]["content"] = "TURN 02000"  # unsampled, same length
    first = {"model": "claude-sonnet-4-6", "max_tokens": 32, "messages": turns}
    second = {**first, "messages": edited}
    assert fingerprint(first) == fingerprint(second) and fingerprint(first).startswith(CAPPED_PREFIX)
    fake = FakeAnthropic()
    raw = fake.client()
    store = MemoryResponseStore()
    client = idempotent(raw, store)
    a = client.messages.create(**first)
    b = client.messages.create(**second)
    again = client.messages.create(**first)
    assert len(fake.records("/v1/messages")) == 2
    assert b.id != a.id and again == a
    assert len(store) == 2
    raw.close()


def test_idempotent_keys_responses_with_the_hmac_key_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    class Keys(MemoryResponseStore):
        def __init__(self) -> None:
            super().__init__()
            self.keys: list[str] = []

        def put(self, fp: str, payload: str, ttl_s: float) -> None:
            self.keys.append(fp)
            super().put(fp, payload, ttl_s)

    kwargs: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 32, "messages": MESSAGES}
    raw = FakeAnthropic().client()
    from_env, explicit, unset = Keys(), Keys(), Keys()
    monkeypatch.setenv(semconv.ENV_DEDUP_HMAC_KEY, " k3y ")
    idempotent(raw, from_env).messages.create(**kwargs)
    idempotent(raw, explicit, hmac_key=b"other").messages.create(**kwargs)
    monkeypatch.setenv(semconv.ENV_DEDUP_HMAC_KEY, "  ")
    idempotent(raw, unset).messages.create(**kwargs)
    assert from_env.keys == [fingerprint(kwargs, b"k3y", limit=None)]
    assert explicit.keys == [fingerprint(kwargs, b"other", limit=None)]
    assert unset.keys == [fingerprint(kwargs, None, limit=None)]
    assert len({*from_env.keys, *explicit.keys, *unset.keys}) == 3
    raw.close()
