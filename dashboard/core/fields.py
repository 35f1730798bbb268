"""Model fields every app declares the same way."""

from __future__ import annotations

from django.conf import settings
from django.db import models


def staff_user(**overrides) -> models.ForeignKey:
    """Who did something (created, requested, revoked…): a nullable link to a user that
    outlives the user (SET NULL) and adds no reverse accessor."""
    options = {
        "null": True,
        "blank": True,
        "on_delete": models.SET_NULL,
        "related_name": "+",
        **overrides,
    }
    return models.ForeignKey(settings.AUTH_USER_MODEL, **options)
