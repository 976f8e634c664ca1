"""A fake clock for code that takes a `clock` callable: tests move time by setting `now`, no sleeps."""

from __future__ import annotations


class Clock:
    """Returns `now` when called; starts at `start` seconds."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
