"""Structured log lines: one record per line, in logfmt or JSON, with the same fields in both.

``configure(format, stream)`` sends labelwf's loggers (and APScheduler's errors) to ``stream``;
``log_event(logger, event, **fields)`` writes one record.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import IO, Any, Literal

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
_LOGFMT_QUOTE = re.compile(r'[\s"=\\]')


def log_event(logger: logging.Logger, event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Write one structured record: ``event`` and its fields."""
    logger.log(level, event, extra={"fields": fields})


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's fields, date-times written in ISO 8601 (the same in logfmt and JSON)."""
    fields = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "event": record.getMessage(),
    }
    for key, value in getattr(record, "fields", {}).items():
        fields[key] = value.isoformat() if isinstance(value, datetime) else value
    return fields


class LogfmtFormatter(logging.Formatter):
    """``ts=… level=… event=fired entity=enfant timer=label_term late_s=0.012`` (one line per record)."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_logfmt(value)}" for key, value in _fields(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, same fields as the logfmt lines."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), default=str, ensure_ascii=False)


def _logfmt(value: Any) -> str:
    """A logfmt value: bare when it can be, quoted (JSON string escapes) when empty or when it
    holds a space, a quote, an equals sign, a backslash or a line break (one record, one line)."""
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (not text or _LOGFMT_QUOTE.search(text)) else text


def configure(log_format: LogFormat, stream: IO[str]) -> logging.Handler:
    """Send labelwf's records (info and up) and APScheduler's errors to ``stream``, one per line.

    APScheduler warns when a wake-up is skipped because the previous one still runs (a storm, a
    round of letters): expected, and not ours to log. Its errors go out as structured lines.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else LogfmtFormatter())
    for name, level in (("labelwf", logging.INFO), ("apscheduler", logging.ERROR)):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    return handler
