"""Signed links to one stored preview.

Staff links (the default) carry only the preview's id, signed with a timestamp
(``TimestampSigner``); staff still log in to open them. Public links (#20) carry only a
``PublicShareLink`` row's id, signed: the row says until when it opens and whether it
was revoked, so nothing secret is stored and revoking takes effect at once. Neither
ever carries the preview token or any context.
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


PUBLIC_SALT = "switchyard.previews.public-share"


def _public_signer() -> signing.Signer:
    # "." rather than ":" between id and signature: chat apps and mail clients that
    # linkify URLs keep it inside the link.
    return signing.Signer(salt=PUBLIC_SALT, sep=".")


def public_token(link_id: int) -> str:
    return _public_signer().sign(str(link_id))


def public_link_id_from(token: str) -> int | None:
    """The PublicShareLink id a public token names, or None if we never signed it."""
    try:
        value = _public_signer().unsign(token)
    except signing.BadSignature:
        return None
    # Signed by us, so digits; the check keeps a leaked signing key from turning into
    # a 500 here.
    return int(value) if value.isdigit() and len(value) < 19 else None
