"""The one guard around every hook body: failures inside the instrumentation never reach the app.

A failure is logged once per site (with its traceback, at WARNING) and counted in
`anthropic_otel.internal_errors`; the host application's call goes on untouched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

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
                "anthropic-otel: internal error in %s (the application is not affected; "
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


@contextmanager
def guard(site: str) -> Iterator[None]:
    """`with guard("site"):` swallows and reports any Exception raised inside."""
    try:
        yield
    except Exception as err:
        report(site, err)


def reset_for_tests() -> None:
    with _lock:
        _logged_sites.clear()
