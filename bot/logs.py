"""How `threadline` writes its log: plain lines, or one JSON object a line (`LOG_FORMAT=json`)
for a collector that parses them (Loki, Elasticsearch, CloudWatch).

The JSON formatter is the standard library's `logging.Formatter` with `json.dumps`: the five
fields need no library (python-json-logger would add a dependency for the same lines)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Literal

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

LogFormat = Literal["text", "json"]


class JsonFormatter(logging.Formatter):
    """One JSON object per record: `time` (UTC, ISO 8601 with milliseconds), `level`,
    `logger`, `message`, and `exception` (the traceback as text) when there is one. A
    message's own newlines are escaped by JSON, so a record is always one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False)


def formatter(form: LogFormat) -> logging.Formatter:
    return JsonFormatter() if form == "json" else logging.Formatter(TEXT_FORMAT)


def configure(level: str, form: LogFormat) -> None:
    """The root logger at `level`, writing to stderr in `form`."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(form))
    logging.basicConfig(level=level, handlers=[handler])
