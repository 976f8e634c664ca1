"""An app that exits with a stream still open (read in part, never closed): run under
`opentelemetry-instrument` by the tests, which check the stream was recorded before the exit."""

from itertools import islice

from anthropic_otel.fake import FakeAnthropic

client = FakeAnthropic().client()
stream = client.messages.create(
    model="claude-haiku-4-5",
    max_tokens=32,
    messages=[{"role": "user", "content": "hello"}],
    stream=True,
)
for _event in islice(stream, 3):
    pass  # message_start, content_block_start, one text delta: then the app is done
print("app done")
