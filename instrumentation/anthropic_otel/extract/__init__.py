"""Pure parsers of what the API sends: usage, error types, attempt outcomes, stream end reasons.

Functions here take JSON, headers or exceptions and return values; they import nothing from the
SDK, hold no state and record nothing.
"""

from __future__ import annotations

from .usage import StreamUsage, Usage, usage_from_message

__all__ = ["StreamUsage", "Usage", "usage_from_message"]
