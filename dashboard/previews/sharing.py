"""Signed, expiring links to one stored preview (staff still log in to open them).

The link carries only the preview's id, signed with a timestamp (``TimestampSigner``);
it never carries the preview token or any context.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing

SALT = "switchyard.previews.share"


def share_max_age() -> timedelta:
    return timedelta(seconds=settings.PREVIEW_SHARE_MAX_AGE)


def share_token(preview_id: int) -> str:
    return signing.TimestampSigner(salt=SALT).sign(str(preview_id))


class ShareLinkInvalid(Exception):
    """``expired`` tells a link past its age from one that was never signed by us."""

    def __init__(self, message: str, *, expired: bool):
        super().__init__(message)
        self.expired = expired


def preview_id_from(token: str) -> int:
    """The preview id a link names; raises ShareLinkInvalid."""
    signer = signing.TimestampSigner(salt=SALT)
    try:
        value = signer.unsign(token, max_age=share_max_age())
    except signing.SignatureExpired:
        raise ShareLinkInvalid("This share link has expired.", expired=True) from None
    except signing.BadSignature:
        raise ShareLinkInvalid("This share link is not valid.", expired=False) from None
    return int(value)
