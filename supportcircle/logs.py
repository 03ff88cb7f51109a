"""Log lines as JSON objects, for a collector that reads them (``LOG_FORMAT=json``).

Each line holds what the plain format holds, and only that: the time, the level, the logger, the
message (after the privacy filters in settings.LOGGING have run on it) and, for an error, its
traceback. Never the record's other attributes: Django attaches the request itself to its
``django.request`` lines, and the request's text holds the whole path, an invite or reset link's
secret included. (A general JSON formatter writes every such attribute out.)
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False)
