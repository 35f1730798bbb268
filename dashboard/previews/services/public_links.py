"""Public share links (#20): created and revoked by staff, opened by anyone holding one.

Creating and revoking are audited; every open that shows the result writes one row
(``PublicShareOpen``), and only a signed, live link can write one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from dashboard.accounts.audit import audit_action, audit_record
from dashboard.core.client_ip import client_ip
from dashboard.core.db import retry_on_locked
from dashboard.core.text import clean_text

from .. import sharing
from ..models import (
    MAX_OPEN_AGENT_LENGTH,
    PreviewRequest,
    PublicShareLink,
    PublicShareOpen,
    RunStatus,
)

# Labels on the Audit page (merged into the trail's actions by PreviewsConfig.ready).
PUBLIC_LINK_ACTIONS: dict[str, str] = {
    "preview_public_link_create": "Created a public preview link",
    "preview_public_link_revoke": "Revoked a public preview link",
}
EXPIRY_DAYS = (1, 7, 30)


class PublicLinkRefused(ValueError):
    """The link cannot be created or revoked; the message says why to the user."""


def expiry_day_choices() -> list[int]:
    """The lifetimes staff may pick, within ``PREVIEW_PUBLIC_SHARE_MAX_DAYS``."""
    cap = settings.PREVIEW_PUBLIC_SHARE_MAX_DAYS
    return [days for days in EXPIRY_DAYS if days <= cap] or [max(cap, 1)]


def public_link_create(*, preview: PreviewRequest, days: int, actor) -> PublicShareLink:
    """A new public link to ``preview`` that opens for ``days``. Raises PublicLinkRefused."""
    if days not in expiry_day_choices():
        allowed = ", ".join(str(d) for d in expiry_day_choices())
        raise PublicLinkRefused(f"Pick how long the link works: {allowed} days.")
    if preview.status != RunStatus.DONE or not preview.result:
        # A failure page would show a provider's problem to outsiders; a pending one,
        # nothing yet.
        raise PublicLinkRefused(
            "Only a preview that returned content can be shared publicly: "
            "wait until it is done, or re-run it."
        )
    with audit_action("preview_public_link_create", actor=actor):
        return PublicShareLink.objects.create(
            preview=preview,
            created_by=actor if getattr(actor, "pk", None) else None,
            expires_at=timezone.now() + timedelta(days=days),
        )


def public_link_revoke(*, link: PublicShareLink, actor) -> PublicShareLink:
    """Stop ``link`` opening, from the next request on. Raises PublicLinkRefused."""
    now = timezone.now()
    # Conditional: of two staff revoking at once, one revokes and one is told so.
    revoked = PublicShareLink.objects.filter(pk=link.pk, revoked_at=None).update(
        revoked_at=now, revoked_by=actor if getattr(actor, "pk", None) else None
    )
    if not revoked:
        raise PublicLinkRefused("That link was already revoked; nobody can open it.")
    link.refresh_from_db()
    with audit_action("preview_public_link_revoke", actor=actor):
        audit_record(link, changes={"revoked_at": [None, now.isoformat()]})
    return link


@dataclass(frozen=True)
class PublicOpening:
    """What a public token leads to. ``state``: "ok", "invalid", "revoked", "expired"
    or "throttled"; ``link`` is set for every state but "invalid"."""

    state: str
    link: PublicShareLink | None = None


def public_link_open(*, token: str, request) -> PublicOpening:
    """Look the token up and, if the link is live, log this open (one insert).

    Only a link we signed, that exists and is live, writes a row: tampered, revoked or
    expired links write nothing, and one address is held to
    ``PREVIEW_PUBLIC_SHARE_OPENS_PER_MINUTE`` opens of a link per minute."""
    link_id = sharing.public_link_id_from(token)
    link = (
        PublicShareLink.objects.select_related("preview").filter(pk=link_id).first()
        if link_id
        else None
    )
    if link is None:
        return PublicOpening("invalid")
    if link.is_revoked:
        return PublicOpening("revoked", link)
    if link.is_expired:
        return PublicOpening("expired", link)
    address = client_ip(request)
    if _over_open_limit(link.pk, address):
        return PublicOpening("throttled", link)
    agent = clean_text(request.META.get("HTTP_USER_AGENT", ""))[:MAX_OPEN_AGENT_LENGTH]
    retry_on_locked(
        lambda: PublicShareOpen.objects.create(link=link, client_ip=address[:45], user_agent=agent)
    )
    return PublicOpening("ok", link)


def _over_open_limit(link_id: int, address: str) -> bool:
    # The default cache is per process: with N web processes an address gets N times
    # the limit, still a bound on the rows one address can write.
    minute = int(timezone.now().timestamp() // 60)
    key = f"previews:public-open:{link_id}:{address}:{minute}"
    if cache.add(key, 1, timeout=90):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=90)
        return False
    return count > settings.PREVIEW_PUBLIC_SHARE_OPENS_PER_MINUTE
