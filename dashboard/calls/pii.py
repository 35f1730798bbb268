"""Customer data in the call log (#15 item 3): the same masking and access logging as
the profiles pages.

Call bodies hold what providers were sent and answered about customers (Octy profile
pages, Croct exports, Altcraft subscribers). Staff without ``see_contact_details``
see them with emails and phones masked; and opening a call that carries a
customer's contact details is written to the profile access log.

``calls`` sits below ``profiles`` (which owns that log, DESIGN.md), so profiles
registers the writer here from its ``AppConfig.ready``::

    register_customer_data_viewer(lambda *, user, call, subject: ...)
"""

from __future__ import annotations

from collections.abc import Callable

from dashboard.core import masking

CustomerDataViewer = Callable[..., None]
_viewers: list[CustomerDataViewer] = []


def register_customer_data_viewer(viewer: CustomerDataViewer) -> None:
    """Call ``viewer(user=, call=, subject=)`` whenever someone opens a call whose
    bodies carry a customer's contact details."""
    if viewer not in _viewers:
        _viewers.append(viewer)


def _texts(call) -> list[str]:
    return [call.url, call.request_body, call.response_body, call.problem_detail, call.subject_id]


def carries_contact_details(call) -> bool:
    return any(text and masking.mask_body(text) != text for text in _texts(call)) or bool(
        call.subject_id and masking.mask_value("", call.subject_id) != call.subject_id
    )


def mask_call(call) -> None:
    """Mask, in place, what the call pages show of ``call`` (an unsaved copy's fields:
    never saved back)."""
    call.url = masking.mask_url(call.url)
    call.request_headers = masking.mask_headers(call.request_headers)
    call.response_headers = masking.mask_headers(call.response_headers)
    call.request_body = masking.mask_body(call.request_body)
    call.response_body = masking.mask_body(call.response_body)
    call.problem_detail = masking.mask_free_text(call.problem_detail or "")
    call.problem_title = masking.mask_free_text(call.problem_title or "")
    if call.problem:
        call.problem = masking.mask_value("", call.problem)
    call.subject_id = masking.mask_value("", call.subject_id or "")


def call_for_viewer(call, user):
    """``call`` as ``user`` may see it; records the view when it shows customer data."""
    if carries_contact_details(call):
        subject = call.subject_id or f"call {call.pk}"
        for viewer in _viewers:
            viewer(user=user, call=call, subject=subject)
    if not masking.may_see_contacts(user):
        mask_call(call)
    return call


def mask_group_page(*, occurrences, facets: dict, user) -> None:
    """The group page's occurrence rows and subject facet, masked for ``user``."""
    if masking.may_see_contacts(user):
        return
    for row in occurrences:  # dicts (selectors.group_occurrences)
        for name in ("problem_detail", "problem_title"):
            if isinstance(row.get(name), str):
                row[name] = masking.mask_free_text(row[name])
        if isinstance(row.get("subject_id"), str):
            row["subject_id"] = masking.mask_value("", row["subject_id"])
    for subject in facets.get("subject", []) or []:
        if isinstance(subject, dict) and isinstance(subject.get("label"), str):
            subject["label"] = masking.mask_value("", subject["label"])
