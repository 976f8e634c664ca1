"""A fault-injecting fake of the Anthropic Messages API for tests, benchmarks and demos: `FakeAnthropic`
(the framework-free engine, with in-process `httpx`/`httpx2` transports and ready-made SDK clients) and
`Fault` (what to inject); `anthropic_otel.fake.server.serve` runs it over real HTTP."""

from .engine import FakeAnthropic, Fault, RequestRecord, reply_text, text_tokens

__all__ = ["FakeAnthropic", "Fault", "RequestRecord", "reply_text", "text_tokens"]
