"""Structured logs: one JSON object per line on stderr (python-json-logger), for servers and
the watcher. Nothing happens at import; `configure_logging()` sets up the `codesift` logger.
"""

# Why only the `codesift` logger and not the root: an application embedding the library
# keeps its own logging; codesift's records carry their fields as `extra={...}` and come
# out as JSON keys (`{"message": "re-indexed", "files": 2, ...}`).

from __future__ import annotations

import logging
import sys
from typing import IO

from .errors import UsageError

LOGGER = "codesift"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class _OurHandler(logging.StreamHandler):
    """Marks the handler configure_logging installed, so calling it again replaces it."""


def configure_logging(level: str = "INFO", *, stream: IO[str] | None = None,
                      json_lines: bool = True) -> logging.Logger:
    """Send `codesift.*` records at `level` and above to `stream` (stderr), as JSON lines
    or, with json_lines=False, as plain `time level logger: message` lines."""
    name = level.upper()
    if name not in LEVELS:
        raise UsageError(f"unknown log level {level!r}", hint=f"use one of: {', '.join(LEVELS)}")
    logger = logging.getLogger(LOGGER)
    for old in [h for h in logger.handlers if isinstance(h, _OurHandler)]:
        logger.removeHandler(old)
    handler = _OurHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(_json_formatter() if json_lines else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(name)
    logger.propagate = False  # not twice when the application also logs the root
    return logger


def _json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter
    return JsonFormatter("{levelname}{name}{message}", style="{", timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger"})
