"""An app with no telemetry code at all: run under `opentelemetry-instrument` by the tests."""

from anthropic_otel.fake import FakeAnthropic

SYSTEM = [{"type": "text", "text": "Z" * 400, "cache_control": {"type": "ephemeral"}}]

client = FakeAnthropic().client()
for _ in range(2):
    client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=32,
        system=SYSTEM,
        messages=[{"role": "user", "content": "hello"}],
    )
print("app done")
