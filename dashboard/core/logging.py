"""Structured logging: JSON in production, readable in a terminal, secrets redacted."""

from __future__ import annotations

import logging
import re
from typing import Any

import structlog
from django.core.exceptions import PermissionDenied
from django.http import Http404

# Keys whose values never reach a log line, whatever logged them.
SECRET_LOG_KEYS = frozenset(
    {
        "api_key",
        "authorization",
        "password",
        "secret",
        "secret_key",
        "source_key",
        "public_key",
        "token",
        "secrets",
        "ciphertext",
    }
)


def redact_secrets(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in list(event_dict):
        if key.lower() in SECRET_LOG_KEYS:
            event_dict[key] = "[REDACTED]"
    return event_dict


class ExpectedRefusalFilter(logging.Filter):
    """An expected refusal (403, 404) is one log line, not a traceback.

    Django logs every ``PermissionDenied`` and ``Http404`` with the exception attached,
    so a marketer opening an admin page wrote forty lines of stack into the log. The
    line stays (who was refused what is worth knowing); the stack goes."""

    EXPECTED = (PermissionDenied, Http404)

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, self.EXPECTED) or getattr(record, "status_code", None) in (403, 404):
            record.exc_info = None
            record.exc_text = None
            if isinstance(record.msg, dict):  # structlog's event dict
                record.msg.pop("exception", None)
                record.msg.pop("exc_info", None)
        return True


# Credentials that travel in URLs, masked wherever a request path is logged (the request
# middleware's "request", Django's "Not Found: /path" messages): invitation links
# (#19), and the OAuth code and state of the SSO callback.
_URL_SECRETS = re.compile(r"(/team/join/)[^/\s?#'\"]+|([?&](?:code|state)=)[^&\s#'\"]+")


def _mask_urls(text: str) -> str:
    return _URL_SECRETS.sub(lambda m: (m.group(1) or m.group(2)) + "[REDACTED]", text)


def redact_url_secrets(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str) and ("/team/join/" in value or "code=" in value):
            event_dict[key] = _mask_urls(value)
    return event_dict


class MaskUrlSecrets:
    """A logging filter for Django's own request loggers ("Not Found: /team/join/…"),
    whose messages are formatted before any structlog processor sees them."""

    def filter(self, record) -> bool:
        message = record.getMessage()
        if "/team/join/" in message or "code=" in message:
            record.msg, record.args = _mask_urls(message), None
        return True


def configure_structlog(*, level: str, fmt: str) -> dict[str, Any]:
    """Configure structlog and return the ``LOGGING`` dict for Django."""
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        redact_secrets,
        redact_url_secrets,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": shared,
            }
        },
        "filters": {
            "expected_refusals": {"()": ExpectedRefusalFilter},
            "mask_url_secrets": {"()": MaskUrlSecrets},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "filters": ["expected_refusals"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.request": {"filters": ["mask_url_secrets"]},
            "django.server": {"filters": ["mask_url_secrets"]},
            "django.db.backends": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
            "werkzeug": {"level": "WARNING"},
        },
    }
