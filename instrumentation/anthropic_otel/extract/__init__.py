"""Pure functions that turn API responses into what we record: billed token counts by kind."""

from __future__ import annotations

from .usage import StreamUsage, Usage, usage_from_message

__all__ = ["StreamUsage", "Usage", "usage_from_message"]
