"""Sections whose features arrive in later issues: each answers with a plain page
saying so, behind the permission the real feature will need."""

from django.contrib.auth.decorators import permission_required
from django.urls import path

from dashboard.core.roles import perm
from dashboard.core.views import section_pending


def _pending(permission: str, **page):
    view = permission_required(perm(permission), raise_exception=True)(section_pending)
    return lambda request: view(request, **page)


previews = (
    [
        path(
            "",
            _pending(
                "view_previews",
                title="Preview",
                issue="#5",
                blurb="Slot previews per persona, locale and context, the preview grid, "
                "share links and the CQL playground.",
            ),
            name="index",
        )
    ],
    "previews",
)
events = (
    [
        path(
            "",
            _pending(
                "view_events",
                title="Events",
                issue="#6",
                blurb="The outbox, the live event inspector and replay.",
            ),
            name="index",
        )
    ],
    "events",
)
profiles = (
    [
        path(
            "",
            _pending(
                "lookup_profiles",
                title="Profiles",
                issue="#7",
                blurb="One customer look-up across providers, browsing and data export.",
            ),
            name="index",
        )
    ],
    "profiles",
)
