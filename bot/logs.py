"""One logging set-up for every process: plain text (default) or one JSON object per line, masked.

`setup_logging()` is called explicitly where a process starts (the consumer, the retention job, the web
app, bot.action_server, and the channel guard when Rasa starts serving our channels); importing this
module changes nothing. LOG_FORMAT=json switches to JSON lines for log collectors (Loki, Elasticsearch,
Cloud Logging): time, level, logger, message, plus exception text when there is one. Either way every
handler masks phone and ID numbers (bot.privacy.MaskingLogFilter) before anything is written.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from bot.privacy import MaskingLogFilter, mask_text
from bot.settings import env_settings

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s  %(message)s"


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line; the message and any exception text are masked again here, so
    a handler without the filter still cannot leak a phone number."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_text(record.getMessage()),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str | int | None = None, log_format: str | None = None) -> None:
    """Configure the root logger once for this process (again: replaces its formatter and filters).

    Keeps handlers that a framework already installed (Rasa, rasa_sdk, uvicorn) and gives each the
    chosen formatter and the masking filter; installs a stderr handler when there is none.
    """
    env = env_settings()
    chosen = (log_format or env.log_format).strip().lower()
    root = logging.getLogger()
    if level is not None or not root.handlers:
        root.setLevel(level or env.log_level)
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    formatter = JsonFormatter() if chosen == "json" else logging.Formatter(PLAIN_FORMAT)
    for handler in root.handlers:
        if chosen == "json":
            handler.setFormatter(formatter)
        elif handler.formatter is None:
            handler.setFormatter(formatter)
        if not any(isinstance(f, MaskingLogFilter) for f in handler.filters):
            handler.addFilter(MaskingLogFilter())
