"""The explicit replay wrapper: `idempotent(client)` answers a completed duplicate from a response store.

Detection never changes what the application gets; this wrapper does, so it is opt-in only and the
only place where response bodies are stored. `messages.create` (and `beta.messages.create`) compute
the same fingerprint as the detector over their keyword arguments; a request whose response was
stored within the window gets that response back without calling the API, otherwise the API is
called and a successful response is stored. Streams, raw/streaming-response helpers and every other
method pass straight through. A store failure never fails the call: it is reported and the API is
called as usual. An in-flight duplicate is not waited for: it calls the API.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Callable, Final, Protocol

from .._guard import guard
from ..settings import load_setting
from .fingerprint import fingerprint

DEFAULT_WINDOW_S: Final = 600.0
DEFAULT_RESPONSE_CAP: Final = 1_000
REPLAY_PREFIX: Final = "anthropic_otel:replay:v1:"


class ResponseStore(Protocol):
    def get(self, fp: str) -> str | None: ...

    def put(self, fp: str, payload: str, ttl_s: float) -> None: ...


class MemoryResponseStore:
    """Serialized responses by fingerprint: LRU, at most `cap` entries, each kept for its TTL."""

    def __init__(self, cap: int = DEFAULT_RESPONSE_CAP, clock: Callable[[], float] = time.monotonic) -> None:
        self.cap = cap
        self._clock = clock
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, fp: str) -> str | None:
        with self._lock:
            found = self._entries.get(fp)
            if found is None:
                return None
            if found[1] <= self._clock():
                del self._entries[fp]
                return None
            self._entries.move_to_end(fp)
            return found[0]

    def put(self, fp: str, payload: str, ttl_s: float) -> None:
        with self._lock:
            self._entries[fp] = (payload, self._clock() + ttl_s)
            self._entries.move_to_end(fp)
            while len(self._entries) > self.cap:
                self._entries.popitem(last=False)


class RedisResponseStore:
    """Serialized responses in Redis under `anthropic_otel:replay:v1:<fingerprint>`, expiring by TTL."""

    def __init__(self, url: str, timeout_s: float = 0.5) -> None:
        import redis

        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )

    def get(self, fp: str) -> str | None:
        found = self._client.get(REPLAY_PREFIX + fp)
        return found.decode() if isinstance(found, bytes) else found

    def put(self, fp: str, payload: str, ttl_s: float) -> None:
        self._client.set(REPLAY_PREFIX + fp, payload, px=max(1, int(ttl_s * 1000)))

    def close(self) -> None:
        self._client.close()


def idempotent(
    client: Any,
    store: ResponseStore | str | None = None,
    *,
    window_s: float = DEFAULT_WINDOW_S,
    hmac_key: bytes | None = None,
) -> Any:
    """`client` (sync or async) whose `messages.create` replays completed duplicates from `store`.

    `store`: a `ResponseStore`, a `redis://` URL (shared by every process using it), or None for a
    `MemoryResponseStore` private to this wrapper. `hmac_key` defaults to the `dedup_hmac_key`
    setting (`ANTHROPIC_OTEL_DEDUP_HMAC_KEY`).
    """
    if store is None:
        store = MemoryResponseStore()
    elif isinstance(store, str):
        store = RedisResponseStore(store)
    if hmac_key is None:
        key = load_setting("dedup_hmac_key")
        hmac_key = key.encode() if key else None
    from anthropic._base_client import AsyncAPIClient

    replay = _Replay(store, window_s, hmac_key, isinstance(client, AsyncAPIClient))
    return _Proxy(client, {"messages": (replay, "message"), "beta": (replay, "beta")})


class _Replay:
    def __init__(self, store: ResponseStore, window_s: float, hmac_key: bytes | None, is_async: bool) -> None:
        self.store = store
        self.window_s = window_s
        self.hmac_key = hmac_key
        self.is_async = is_async

    def wrap(self, create: Callable[..., Any], kind: str) -> Callable[..., Any]:
        if self.is_async:

            async def acreate(**kwargs: Any) -> Any:
                fp, kwargs = self._key(kwargs)
                cached = self._lookup(fp, kind)
                if cached is not None:
                    return cached
                response = await create(**kwargs)
                self._save(fp, response)
                return response

            return acreate

        def create_(**kwargs: Any) -> Any:
            fp, kwargs = self._key(kwargs)
            cached = self._lookup(fp, kind)
            if cached is not None:
                return cached
            response = create(**kwargs)
            self._save(fp, response)
            return response

        return create_

    def _key(self, kwargs: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        if kwargs.get("stream"):
            return None, kwargs
        messages = kwargs.get("messages")
        if isinstance(messages, Iterator):
            # The SDK accepts any iterable; hashing a generator would consume it before the SDK reads it.
            kwargs = {**kwargs, "messages": list(messages)}
        fp: str | None = None
        with guard("dedup.replay.fingerprint"):
            # Always the exact fingerprint: a capped one could answer a different request with
            # this response. Hashing a huge body costs milliseconds; the API call it saves, seconds.
            fp = fingerprint(kwargs, self.hmac_key, limit=None)
        return fp, kwargs

    def _lookup(self, fp: str | None, kind: str) -> Any:
        if fp is None:
            return None
        with guard("dedup.replay.get"):
            payload = self.store.get(fp)
            if payload is not None:
                return _message_class(kind).model_validate_json(payload)
        return None

    def _save(self, fp: str | None, response: Any) -> None:
        if fp is None or not hasattr(response, "model_dump_json"):
            return
        with guard("dedup.replay.put"):
            self.store.put(fp, response.model_dump_json(), self.window_s)


def _message_class(kind: str) -> Any:
    if kind == "beta":
        from anthropic.types.beta import BetaMessage

        return BetaMessage
    from anthropic.types import Message

    return Message


class _Proxy:
    """Delegates everything to the wrapped object except the attributes named in `routes`."""

    def __init__(self, target: Any, routes: dict[str, tuple[_Replay, str]]) -> None:
        self._target = target
        self._routes = routes

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        route = self._routes.get(name)
        if route is None:
            return value
        replay, kind = route
        if name == "beta":
            return _Proxy(value, {"messages": (replay, "beta")})
        if name == "messages":
            return _Proxy(value, {"create": (replay, kind)})
        return replay.wrap(value, kind)

    def __repr__(self) -> str:
        return f"idempotent({self._target!r})"
