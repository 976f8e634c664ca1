"""The one guard around every hook body: failures inside the instrumentation never reach the app.

A failure is logged once per site (with its traceback, at WARNING) and counted in
`anthropic_otel.internal_errors`; the host application's call goes on untouched.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Callable

from . import semconv

_log = logging.getLogger(semconv.LOGGER)
_logged_sites: set[str] = set()
_lock = threading.Lock()

# Set by the instrumentor once its meter exists; a plain callable keeps this module free of OTel.
on_internal_error: Callable[[str], None] | None = None


def report(site: str, err: BaseException) -> None:
    """Log the first failure at `site` and count every one. Never raises."""
    try:
        with _lock:
            first = site not in _logged_sites
            if first:
                _logged_sites.add(site)
        if first:
            _log.warning(
                semconv.LOG_PREFIX + "internal error in %s (the application is not affected; "
                "further errors here are only counted in %s)",
                site,
                semconv.ANTHROPIC_OTEL_INTERNAL_ERRORS.name,
                exc_info=err,
            )
        counter = on_internal_error
        if counter is not None:
            counter(site)
    except Exception:  # noqa: S110 - the guard itself must never fail the caller
        pass


class guard:  # noqa: N801 - used as `with guard("site"):`, like a function
    """`with guard("site"):` swallows and reports any Exception raised inside.

    A class, not `@contextmanager`: about ten guards run per call, and a generator-based
    context manager costs several times more to enter and leave.
    """

    __slots__ = ("site",)

    def __init__(self, site: str) -> None:
        self.site = site

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, _tb: Any) -> bool:
        if exc is not None and isinstance(exc, Exception):
            report(self.site, exc)
            return True
        return False  # BaseException (KeyboardInterrupt, cancellation, GeneratorExit) goes on


def _reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at fork time


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_reset_after_fork)


def reset_for_tests() -> None:
    with _lock:
        _logged_sites.clear()
