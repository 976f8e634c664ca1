"""An app that forks while a stream is open and another thread holds the stream table's lock.

Prints one JSON line per process: what each one recorded. The child must start empty (no counts
of the parent's, no stream of the parent's to end) and must not block on a lock held at fork time.
"""

import json
import os
import sys
import threading
from itertools import islice

from anthropic_otel import AnthropicInstrumentor
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.state import watchdog
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

reader = InMemoryMetricReader()
AnthropicInstrumentor().instrument(
    meter_provider=MeterProvider(metric_readers=[reader]), tracer_provider=TracerProvider()
)
client = FakeAnthropic().client()
MESSAGES = [{"role": "user", "content": "hello"}]


def call() -> None:
    client.messages.create(model="claude-haiku-4-5", max_tokens=16, messages=MESSAGES)


def figures(who: str) -> str:
    totals: dict[str, float] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = point.value if hasattr(point, "value") else point.count
                    totals[metric.name] = totals.get(metric.name, 0) + value
    return json.dumps({"who": who, **{k: totals.get(k, 0) for k in sorted(totals)}})


call()
call()
stream = client.messages.create(model="claude-haiku-4-5", max_tokens=16, messages=MESSAGES, stream=True)
for _event in islice(stream, 3):
    pass

held, release = threading.Event(), threading.Event()


def hold_the_lock() -> None:
    with watchdog._lock:
        held.set()
        release.wait()


holder = threading.Thread(target=hold_the_lock)
holder.start()
held.wait()
pid = os.fork()
if pid == 0:
    call()
    child_stream = client.messages.create(
        model="claude-haiku-4-5", max_tokens=16, messages=MESSAGES, stream=True
    )
    for _event in child_stream:
        pass
    watchdog.end_all_open()  # what the exit hook does: the parent's stream is not the child's
    print(figures("child"), flush=True)
    os._exit(0)
release.set()
holder.join()
_, status = os.waitpid(pid, 0)
for _event in stream:
    pass
print(figures("parent"), flush=True)
sys.exit(os.waitstatus_to_exitcode(status))
