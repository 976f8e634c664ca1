"""Duplicate-request detection: request fingerprints, the memory and Redis stores, the detector the
hooks call, and the explicit `idempotent()` wrapper that replays a completed duplicate's response."""

from __future__ import annotations

from .detector import DuplicateDetector, Ticket
from .fingerprint import canonical_json, fingerprint
from .idempotent import MemoryResponseStore, RedisResponseStore, ResponseStore, idempotent
from .memory import MemoryStore

__all__ = [
    "DuplicateDetector",
    "MemoryResponseStore",
    "MemoryStore",
    "RedisResponseStore",
    "ResponseStore",
    "Ticket",
    "canonical_json",
    "fingerprint",
    "idempotent",
]
