"""``{% load labels %}``: an id shown by the name staff gave it, the id one click away.

``{% id_label book account_id "variant" some_id %}`` renders ``previews/_label.html``:
the name (a ``<details>`` whose summary is the name and whose body is the id) or, for
an id without a name, the id and a "name this" button for those who may name ids.
``book`` is a :class:`~dashboard.previews.selectors.LabelBook` (``labels_for``);
``editable=False`` leaves the button out (a share page), ``compact=True`` shortens an
unnamed id (grid cells).

``{% label_text book account_id some_id %}`` is the name, or the id, as plain text.
"""

from __future__ import annotations

from functools import cache

from django import template
from django.urls import reverse

from dashboard.core.roles import perm
from dashboard.previews.selectors import LabelBook
from dashboard.previews.services.labels import is_labelable_id

register = template.Library()


def label_key(kind: str, target_id: str) -> str:
    """What every occurrence of one id on a page carries (``data-label-key``): a save
    re-renders them all by it."""
    return f"{kind}-{target_id}"


@cache
def label_url() -> str:
    # The same for the whole process; a grid page shows dozens of ids.
    return reverse("previews:label")


def may_name_ids(request) -> bool:
    """Whether the request's user may name ids, asked once per request (a page may
    show a hundred ids; each has_perm walks every auth backend)."""
    if request is None:
        return False
    cached = getattr(request, "_switchyard_may_name_ids", None)
    if cached is None:
        user = getattr(request, "user", None)
        cached = bool(user is not None and user.has_perm(perm("use_preview")))
        request._switchyard_may_name_ids = cached
    return cached


def _label(book, account_id, target_id):
    return book.get(account_id, target_id) if isinstance(book, LabelBook) else None


@register.inclusion_tag("previews/_label.html", takes_context=True)
def id_label(context, book, account_id, kind, target_id, editable=True, compact=False):
    target_id = str(target_id or "")
    can_name = bool(
        editable
        and account_id
        and is_labelable_id(target_id)
        and may_name_ids(context.get("request"))
    )
    return {
        "label": _label(book, account_id, target_id),
        "account_id": account_id,
        "kind": kind,
        "target_id": target_id,
        "key": label_key(kind, target_id),
        "can_name": can_name,
        "compact": compact,
        "label_url": label_url(),
    }


@register.simple_tag
def label_text(book, account_id, target_id) -> str:
    label = _label(book, account_id, str(target_id or ""))
    return label.name if label else str(target_id or "")
