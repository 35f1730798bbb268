"""``{% load labels %}``: an id shown by the name staff gave it, the id one click away.

``{% id_label book account_id "variant" some_id %}`` renders :func:`badge_html`:
the name (a ``<details>`` whose summary is the name and whose body is the id) or, for
an id without a name, the id and a "name this" button for those who may name ids.
``book`` is a :class:`~dashboard.previews.selectors.LabelBook` (``labels_for``);
``editable=False`` leaves the button out (a share page), ``compact=True`` shortens an
unnamed id (grid cells).

``{% label_text book account_id some_id %}`` is the name, or the id, as plain text.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator

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


def badge_html(
    *,
    label,
    account_id,
    kind: str,
    target_id: str,
    can_name: bool,
    compact: bool = False,
    oob: bool = False,
) -> SafeString:
    """One id's badge (what every page shows for an id). Built in Python, not a
    template: a grid or history page shows a hundred of them. ``oob`` makes it replace
    every badge of the id on the page (htmx out-of-band, by ``data-label-key``)."""
    key = label_key(kind, target_id)
    edit_url = f"{label_url()}?" + urlencode(
        {"account": account_id, "kind": kind, "id": target_id, "edit": 1}
    )
    swap = format_html(" hx-swap-oob='outerHTML:[data-label-key=\"{}\"]'", key) if oob else ""
    if label is not None:
        button = (
            format_html(
                ' <button type="button" class="link small" hx-get="{}" '
                'hx-target="closest .id-label" hx-swap="outerHTML">rename</button>',
                edit_url,
            )
            if can_name
            else ""
        )
        inner = format_html(
            '<details class="id-named"><summary><abbr title="{} {}" data-testid="label-name">'
            '{}</abbr></summary><span class="id-more"><code class="mono small" '
            'data-testid="label-id">{}</code>{}</span></details>',
            kind,
            target_id,
            label.name,
            target_id,
            button,
        )
    else:
        button = (
            format_html(
                ' <button type="button" class="link small" data-testid="name-this" hx-get="{}" '
                'hx-target="closest .id-label" hx-swap="outerHTML" aria-label="Name this {}">'
                "name this</button>",
                edit_url,
                kind,
            )
            if can_name
            else ""
        )
        inner = format_html(
            '<code class="mono{}" title="{} {}" data-testid="raw-id">{}</code>{}',
            " small" if compact else "",
            kind,
            target_id,
            Truncator(target_id).chars(13) if compact else target_id,
            button,
        )
    return format_html(
        '<span class="id-label" data-label-key="{}" data-testid="id-label" data-kind="{}" '
        'data-id="{}"{}>{}</span>',
        key,
        kind,
        target_id,
        swap,
        inner,
    )


@register.simple_tag(takes_context=True)
def id_label(context, book, account_id, kind, target_id, editable=True, compact=False):
    target_id = str(target_id or "")
    can_name = bool(
        editable
        and account_id
        and is_labelable_id(target_id)
        and may_name_ids(context.get("request"))
    )
    return badge_html(
        label=_label(book, account_id, target_id),
        account_id=account_id,
        kind=kind,
        target_id=target_id,
        can_name=can_name,
        compact=compact,
    )


@register.simple_tag
def label_text(book, account_id, target_id) -> str:
    label = _label(book, account_id, str(target_id or ""))
    return label.name if label else str(target_id or "")


@register.filter
def name_of(names: dict | None, target_id) -> str:
    """The name in ``names`` (id -> name) for ``target_id``, "" when it has none: the
    public share page gets names only, never the account they belong to."""
    return (names or {}).get(str(target_id or ""), "")


@register.simple_tag(takes_context=True)
def served_id(context, kind, target_id):
    """One id a result served, as ``_served_badges.html`` shows it: on staff pages the
    badge (the name, the id a click away, "name this"); on a public share page (its
    view sets ``public_share`` and passes ``names``, id -> name, nothing else, instead
    of the label book) the name or else the bare id, with nothing to click."""
    if context.get("public_share"):
        name = name_of(context.get("names") or {}, target_id)
        if name:
            return format_html('<span class="label-name">{}</span>', name)
        return format_html('<code class="mono">{}</code>', target_id or "")
    return id_label(context, context.get("id_labels"), context.get("account_id"), kind, target_id)
