"""Render `docs/telemetry.md`, the user-facing reference of every name, from `semconv.py`.

The file is generated, committed, and compared with a fresh render by a test, so the reference
cannot drift from what the code emits. Regenerate with `anthropic-otel reference > docs/telemetry.md`.
"""

from __future__ import annotations

from . import semconv


def _prometheus_cell(spec: semconv.Instrument) -> str:
    name = semconv.prometheus_name(spec)
    if spec.kind != semconv.HISTOGRAM:
        return name
    first, *rest = semconv.PROMETHEUS_HISTOGRAM_PARTS
    return " / ".join([f"{name}_{first}", *(f"_{part}" for part in rest)])


def _instrument_rows(specs: tuple[semconv.Instrument, ...]) -> list[str]:
    rows = ["| OTel name | kind | unit | Prometheus | attributes | meaning |", "|---|---|---|---|---|---|"]
    for spec in specs:
        attrs = ", ".join(f"`{a}`" for a in spec.attributes)
        rows.append(
            f"| `{spec.name}` | {spec.kind} | `{spec.unit}` | `{_prometheus_cell(spec)}` | {attrs} | {spec.description} |"
        )
    return rows


def render() -> str:
    lines = [
        "# Telemetry reference",
        "",
        "Generated from `anthropic_otel/semconv.py` by `anthropic-otel reference`; do not edit by hand.",
        "Names are API: they change only with a changelog entry.",
        "",
        "## Metrics recorded",
        "",
        *_instrument_rows(semconv.INSTRUMENTS),
        "",
        f"## GenAI metrics with `{semconv.ENV_SEMCONV_STABILITY_OPT_IN}={semconv.SEMCONV_OPT_IN_GENAI_LATEST}`",
        "",
        "The newest GenAI conventions' names, recorded instead of (never beside)",
        ", ".join(f"`{spec.name}`" for spec in semconv.GENAI_DEFAULT_INSTRUMENTS) + ".",
        "The `anthropic.*` metrics and every span attribute stay as they are.",
        "",
        *_instrument_rows(semconv.GENAI_LATEST_INSTRUMENTS),
        "",
        "## Metrics reserved (contract names of features still being built)",
        "",
        *_instrument_rows(semconv.PLANNED_INSTRUMENTS),
        "",
        "## Span attributes",
        "",
        "On the SDK's own span (anthropic >= 1.14 with its tracing on) or, otherwise, on the package's",
        "own span named `chat {model}`: one span per call, never two.",
        "",
        "| attribute | meaning |",
        "|---|---|",
        *[f"| `{name}` | {meaning} |" for name, meaning in semconv.SPAN_ATTRIBUTES.items()],
        "",
        "## Enumerated values",
        "",
        "| attribute | values |",
        "|---|---|",
        *[f"| `{name}` | {', '.join(f'`{v}`' for v in values)} |" for name, values in semconv.ENUMS.items()],
        "",
        "## Prompt and output content",
        "",
        f"Never recorded unless `{semconv.ENV_CAPTURE_CONTENT}=true`; then one span event",
        f"`{semconv.EVENT_GEN_AI_CONTENT}` carries `{semconv.GEN_AI_SYSTEM_INSTRUCTIONS}`,",
        f"`{semconv.GEN_AI_INPUT_MESSAGES}` and `{semconv.GEN_AI_OUTPUT_MESSAGES}` (JSON strings).",
        f"`{semconv.ENV_GENAI_CAPTURE_MESSAGE_CONTENT}` turns capture on too when ours is not set. Each",
        f"value is cut to `{semconv.ENV_CAPTURE_CONTENT_MAX_CHARS}` characters, ending `{semconv.CONTENT_TRUNCATED_MARKER}`,",
        f"and `{semconv.ANTHROPIC_CONTENT_TRUNCATED}` in the event names the values cut.",
        "",
        "## Settings",
        "",
        "| environment variable |",
        "|---|",
        *[
            f"| `{getattr(semconv, name)}` |"
            for name in sorted(vars(semconv))
            if name.startswith("ENV_") and name != "ENV_PREFIX"
        ],
        "",
        "## Loggers",
        "",
        f"- `{semconv.LOGGER}`: warnings about settings, price files and internal errors (once per site).",
        f"- `{semconv.LOGGER_UNKNOWN_MODEL}`: a model missing from the price table, once per model.",
        f"- `{semconv.LOGGER_UNKNOWN_PRICE}`: a service tier, speed or inference region the price table "
        "has no multiplier for, once per field and value (that call's cost is skipped).",
        "",
    ]
    return "\n".join(lines)
