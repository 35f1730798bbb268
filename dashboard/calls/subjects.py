"""What a call-log row's subject links to, as the features that own subjects say.

A call records the work row it was made for (``subject_type`` + ``subject_id``: a
preview, an event, a look-up…). The call log links back to that row's page, but
``calls`` sits below every feature and must not name them (DESIGN.md): each feature
registers its subject types here from its ``AppConfig.ready``.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

# subject_type -> URL name taking the subject's id as ``pk``.
_SUBJECT_URL_NAMES: dict[str, str] = {}


def register_subject(subject_type: str, url_name: str) -> None:
    """Link call-log rows of ``subject_type`` to ``url_name`` (which takes ``pk``)."""
    _SUBJECT_URL_NAMES[subject_type] = url_name


def subject_url(subject_type: str, subject_id: str) -> str:
    """The page of the subject, or "" when nobody registered the type or the id is
    not a row id."""
    name = _SUBJECT_URL_NAMES.get(subject_type)
    if not name or not subject_id.isdigit():
        return ""
    try:
        return reverse(name, kwargs={"pk": int(subject_id)})
    except NoReverseMatch:
        return ""
