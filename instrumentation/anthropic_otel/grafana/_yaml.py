"""A small YAML writer for the rule files, so the package needs no YAML library.

Strings are written as JSON strings (valid YAML double-quoted scalars) except multi-line ones,
which become literal blocks so PromQL stays readable in the generated files.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

_PLAIN_KEY: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_PLAIN_VALUE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_RESERVED: Final = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if _PLAIN_VALUE.match(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text, ensure_ascii=False)


def _key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) else json.dumps(key)


def _block(text: str, indent: str) -> str:
    # Indentation indicator 2: the content may start with spaces; "-" strips the final newline.
    return "|2-\n" + "\n".join(f"{indent}  {line}" if line else "" for line in text.split("\n"))


def _emit(value: Any, indent: str, lines: list[str], prefix: str) -> None:
    """Append `value` to `lines`; `prefix` is what precedes it on its first line ("key: " or "- ")."""
    if isinstance(value, dict) and value:
        first = True
        for k, v in value.items():
            head = prefix if first else indent
            first = False
            child_indent = indent + "  "
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{head}{_key(k)}:")
                _emit(v, child_indent, lines, child_indent)
            elif isinstance(v, str) and "\n" in v:
                lines.append(f"{head}{_key(k)}: {_block(v, indent)}")
            else:
                lines.append(
                    f"{head}{_key(k)}: {_scalar(v) if not isinstance(v, (dict, list)) else json.dumps(v)}"
                )
    elif isinstance(value, list) and value:
        for item in value:
            _emit(item, indent + "  ", lines, indent + "- ")
    elif isinstance(value, (dict, list)):
        lines.append(f"{prefix}{json.dumps(value)}")
    elif isinstance(value, str) and "\n" in value:
        lines.append(f"{prefix}{_block(value, indent)}")
    else:
        lines.append(f"{prefix}{_scalar(value)}")


def dump(value: Any) -> str:
    lines: list[str] = []
    _emit(value, "", lines, "")
    return "\n".join(lines) + "\n"
