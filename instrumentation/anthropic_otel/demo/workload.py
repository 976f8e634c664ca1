"""The demo's traffic: each of the five production problems, through the real SDK over the fake API.

Deterministic: the fake's tokenizer, prompt cache and scripted faults make every number reproducible,
so the dashboards' end-to-end tests can assert on what this workload produces.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Callable

from ..cascade import Cascade
from ..fake import FakeAnthropic
from ..fake.engine import HEADER_FAULTS, HEADER_INFERENCE_GEO, HEADER_OUTPUT_TOKENS, HEADER_SPEED
from ..fake.ratelimit_budget import RateLimits
from ..fallback import FallbackChain, Step

# The demo's instrumentation options: a short idle threshold, so the hung stream shows as stalled
# within the demo instead of after the production default of 30 s.
INSTRUMENT_OPTIONS: dict[str, Any] = {"stream_idle_timeout_s": 0.1}
# The hung stream's client read timeout: the SDK gives up after this, and the stream ends `timeout`.
HUNG_STREAM_READ_TIMEOUT_S = 0.4
# Faults scripted per attempt (`x-fake-faults`): the SDK retries each until the `ok`.
RETRIED_FAULTS = ("overloaded,ok", "overloaded,overloaded,ok", "connection_reset,ok")
# A support answer is a paragraph; a classification is a label.
ANSWER_TOKENS = 150
LABEL_TOKENS = 2

# The chain teams hand-write for 529s: each model with its own SDK retries, then a canned answer.
FALLBACK_CHAIN: tuple[tuple[str, int], ...] = (
    ("claude-opus-5", 3),
    ("claude-sonnet-5", 2),
    ("claude-haiku-4-5", 1),
)
CANNED_ANSWER = "We are busy right now: your question is saved and we will answer it shortly."
# The 529 storm: for each question, the steps of the chain that fail all their attempts (0 = the
# first model answers after one retry, 3 = every model fails and the canned answer is given).
STORM_FAILED_STEPS = (0, 0, 0, 1, 1, 1, 2, 3)
# The same chain run by anthropic_otel.FallbackChain, which also counts the hop to the canned answer.
HELPER_FAILED_STEPS = (1, 3)
# Ticket routing through a cascade: Haiku first, Sonnet when Haiku's answer is more than a label (it
# hedged). Every third ticket is a hard one.
CASCADE_MODELS = ("claude-haiku-4-5", "claude-sonnet-4-6")
HEDGED_TOKENS = 6
CASCADE_TICKETS = 9
# A traffic ramp against a small per-minute budget of its own: rounds of 1, 2, 4, 8 and 16 calls of 31
# input tokens each, 961 of the 1,000 input tokens per minute: 3.9 % left, and the next round of 32
# would be refused with a 429. The headroom gauges show it coming.
RAMP_MODEL = "claude-haiku-4-5"
RAMP_ROUNDS = (1, 2, 4, 8, 16)
RAMP_LIMITS = RateLimits(requests=1_000, input_tokens=1_000, output_tokens=20_000)
RAMP_SUMMARY_TOKENS = 40
# Calls billed above list price, as their usage says: fast mode (Opus 5 at 2x) and US-only inference (1.1x).
PREMIUM_CALLS: tuple[tuple[str, dict[str, str]], ...] = (
    ("claude-opus-5", {HEADER_SPEED: "fast"}),
    ("claude-sonnet-4-6", {HEADER_INFERENCE_GEO: "us"}),
)

Progress = Callable[[str], None]


def _system(text: str, ttl: str = "5m") -> list[dict[str, Any]]:
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral", "ttl": ttl}}]


SUPPORT_SYSTEM = _system("You are the support assistant of an online shop. " * 40)


def run_workload(fake: FakeAnthropic, progress: Progress | None = None) -> None:
    """The demo traffic, one scenario after another; `progress` is told each scenario's name."""
    client = fake.client(max_retries=2)
    orders = iter(range(1000, 100_000))

    def question() -> list[dict[str, Any]]:
        # A different customer question each call: the shared system prompt is what gets cached.
        return [{"role": "user", "content": f"Where is my order #{next(orders)}?"}]

    answer = {HEADER_OUTPUT_TOKENS: str(ANSWER_TOKENS)}
    for name, scenario in _SCENARIOS:
        if progress is not None:
            progress(name)
        scenario(fake, client, question, answer)


def scenario_names() -> tuple[str, ...]:
    return tuple(name for name, _scenario in _SCENARIOS)


def _support_bot(
    fake: FakeAnthropic, client: Any, question: Callable[[], Any], answer: dict[str, str]
) -> None:
    for _ in range(20):
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=256,
            system=SUPPORT_SYSTEM,
            messages=question(),
            extra_headers=answer,
        )


def _ab_test(fake: FakeAnthropic, client: Any, question: Callable[[], Any], answer: dict[str, str]) -> None:
    # A fresh variant almost every call: each variant is written to the cache, rarely read.
    for i in range(15):
        variant = _system(f"Variant {i % 12}: you are a concise classifier. " * 40)
        client.messages.create(model="claude-haiku-4-5", max_tokens=16, system=variant, messages=question())


def _streams(fake: FakeAnthropic, client: Any, question: Callable[[], Any], answer: dict[str, str]) -> None:
    for _ in range(5):
        with client.messages.stream(
            model="claude-opus-4-6",
            max_tokens=512,
            system=SUPPORT_SYSTEM,
            messages=question(),
            extra_headers=answer,
        ) as stream:
            for _text in stream.text_stream:
                pass


def _retries(fake: FakeAnthropic, client: Any, question: Callable[[], Any], answer: dict[str, str]) -> None:
    for faults in RETRIED_FAULTS:
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=256,
            system=SUPPORT_SYSTEM,
            messages=question(),
            extra_headers={**answer, HEADER_FAULTS: faults},
        )
    # A queue redelivers a job the app already answered: the same request, billed a second time.
    redelivered = question()
    for _ in range(2):
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=256,
            system=SUPPORT_SYSTEM,
            messages=redelivered,
            extra_headers=answer,
        )


def _storm(fake: FakeAnthropic, client: Any, question: Callable[[], Any], answer: dict[str, str]) -> None:
    for failed_steps in STORM_FAILED_STEPS:
        # The fake answers requests without a fault header from this queue, one fault per attempt.
        for _model, retries in FALLBACK_CHAIN[:failed_steps]:
            fake.enqueue(*["overloaded"] * (retries + 1))
        if failed_steps == 0:
            fake.enqueue("overloaded", "ok")  # the first model answers after one silent retry
        ask_with_fallbacks(client, question(), answer)


def _helper_storm(
    fake: FakeAnthropic, client: Any, question: Callable[[], Any], answer: dict[str, str]
) -> None:
    chain = FallbackChain(
        [Step(model, max_retries=retries) for model, retries in FALLBACK_CHAIN], canned=CANNED_ANSWER
    )
    for failed_steps in HELPER_FAILED_STEPS:
        for _model, retries in FALLBACK_CHAIN[:failed_steps]:
            fake.enqueue(*["overloaded"] * (retries + 1))
        chain.create(client, max_tokens=256, messages=question(), extra_headers=answer)


def ask_with_fallbacks(client: Any, messages: Any, headers: dict[str, str] | None = None) -> str:
    """A fallback chain as teams write it by hand: each model in turn, a canned answer at the end.
    No instrumentation code in it: the hops are detected from the calls alone."""
    import anthropic

    for model, retries in FALLBACK_CHAIN:
        try:
            message = client.with_options(max_retries=retries).messages.create(
                model=model, max_tokens=256, messages=messages, extra_headers=headers
            )
        except (anthropic.APIStatusError, anthropic.APIConnectionError):
            continue  # this model is overloaded: the next one in the chain
        return str(message.content[0].text)
    return CANNED_ANSWER


def _classification(
    fake: FakeAnthropic, client: Any, question: Callable[[], Any], answer: dict[str, str]
) -> None:
    # Routing tickets to a queue: a label of a token or two, asked of Sonnet. Haiku does this well.
    labels = {HEADER_OUTPUT_TOKENS: str(LABEL_TOKENS)}
    for ticket in _tickets(12):
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=8,
            system="Classify the ticket as billing, shipping, returns or other. Answer with the label only.",
            messages=[{"role": "user", "content": ticket}],
            extra_headers=labels,
        )


def hedged(message: Any) -> bool:
    """The cascade's check: an answer longer than a label means the cheap model was unsure."""
    return bool(message.usage.output_tokens > LABEL_TOKENS)


def _cascade(fake: FakeAnthropic, client: Any, question: Callable[[], Any], answer: dict[str, str]) -> None:
    router = Cascade(CASCADE_MODELS, escalate=hedged, name="ticket-router")
    for i, ticket in enumerate(_tickets(CASCADE_TICKETS)):
        tokens = HEDGED_TOKENS if i % 3 == 2 else LABEL_TOKENS
        router.create(
            client,
            max_tokens=8,
            system="Classify the ticket as billing, shipping, returns or other. Answer with the label only.",
            messages=[{"role": "user", "content": f"Routed {ticket}"}],
            extra_headers={HEADER_OUTPUT_TOKENS: str(tokens)},
        )


def _ramp(fake: FakeAnthropic, client: Any, question: Callable[[], Any], answer: dict[str, str]) -> None:
    # Its own fake, with a budget, on a clock frozen at the start: every call falls in one minute
    # window, so the numbers are the same on every run.
    now = time.time()
    ramp = FakeAnthropic(seed=fake.seed, ratelimits=RAMP_LIMITS, clock=lambda: now).client(max_retries=0)
    tickets = iter(range(1000, 10_000))
    for size in RAMP_ROUNDS:
        for _ in range(size):
            ramp.messages.create(
                model=RAMP_MODEL,
                max_tokens=256,
                system="You summarise support tickets in one line.",
                messages=[
                    {
                        "role": "user",
                        "content": f"Summarise ticket #{next(tickets)}: my parcel is late and the tracking page shows nothing.",
                    }
                ],
                extra_headers={HEADER_OUTPUT_TOKENS: str(RAMP_SUMMARY_TOKENS)},
            )


def _premium(fake: FakeAnthropic, client: Any, question: Callable[[], Any], answer: dict[str, str]) -> None:
    for model, billing in PREMIUM_CALLS:
        client.messages.create(
            model=model, max_tokens=256, messages=question(), extra_headers={**answer, **billing}
        )


def _tickets(n: int) -> Iterator[str]:
    topics = ("I was charged twice", "My parcel is late", "How do I return shoes?", "Do you ship to Iceland?")
    for i in range(n):
        yield f"Ticket {i}: {topics[i % len(topics)]}"


def _broken_streams(
    fake: FakeAnthropic, client: Any, question: Callable[[], Any], answer: dict[str, str]
) -> None:
    for fault in ("drop_mid_stream", "hang"):
        try:
            with client.with_options(timeout=HUNG_STREAM_READ_TIMEOUT_S).messages.stream(
                model="claude-opus-4-6",
                max_tokens=512,
                system=SUPPORT_SYSTEM,
                messages=question(),
                extra_headers={**answer, HEADER_FAULTS: fault},
            ) as stream:
                for _text in stream.text_stream:
                    pass
        except Exception:  # noqa: BLE001 - the raw transport error a started stream raises, as apps see it
            pass  # the telemetry says which way the stream ended


_SCENARIOS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("a well-cached support bot", _support_bot),
    ("an A/B test of the system prompt", _ab_test),
    ("streamed answers", _streams),
    ("what the SDK retries silently", _retries),
    ("a 529 storm answered by a hand-written fallback chain", _storm),
    ("the same chain run by anthropic_otel.FallbackChain", _helper_storm),
    ("classification on an expensive model", _classification),
    ("ticket routing through a Haiku-first Cascade", _cascade),
    ("streams that drop and hang", _broken_streams),
    ("a traffic ramp draining a rate limit", _ramp),
    ("calls billed in fast mode and US-only", _premium),
)
