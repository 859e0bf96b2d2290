"""A logging filter that removes survey link tokens from log lines.

Our own survey pages and API answers are never logged by Django, but other layers may log the
path (a CSRF failure, an unhandled error, a proxy in debug mode). Install it on the handlers in
`LOGGING` (see docs/integrations/surveys.md); `/survey/<token>/` becomes `/survey/[token]/`.
"""

from __future__ import annotations

import logging
import re

SURVEY_TOKEN = re.compile(r"(/surveys?/)[A-Za-z0-9_-]{20,}")


class RedactSurveyTokens(logging.Filter):
    """On a handler, or on a logger such as `uvicorn.access` (see `loxodon.asgi`): arguments are
    redacted one by one, so formatters that read `record.args` (uvicorn's) keep working."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                SURVEY_TOKEN.sub(r"\1[token]", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = SURVEY_TOKEN.sub(r"\1[token]", record.msg)
        message = record.getMessage()
        redacted = SURVEY_TOKEN.sub(r"\1[token]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
