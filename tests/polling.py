"""Waiting for background work in tests: poll a condition against a deadline, never a fixed sleep."""

from __future__ import annotations

import time
from typing import Callable


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Return as soon as `predicate()` holds; fail the test if it still does not after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.001)
