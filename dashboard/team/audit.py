"""Audit entries for team changes, in the same trail as the account lifecycle.

A user's role, activation or second factor is not a field auditlog watches, so each
service writes one explicit entry inside its :func:`audit_action` block.
"""

from __future__ import annotations

from typing import Any

from dashboard.accounts.audit import additional_data

TEAM_ACTIONS: dict[str, str] = {
    "staff_invite": "Invited staff",
    "staff_accept": "Accepted invitation",
    "staff_role": "Changed role",
    "staff_deactivate": "Deactivated staff",
    "staff_reactivate": "Reactivated staff",
    "staff_mfa_reset": "Reset two-factor",
    "session_end": "Ended a session",
    "sso_first_login": "First SSO sign-in",
}


def team_record(user, *, changes: dict[str, list[Any]]):
    """One entry about ``user`` labelled by the enclosing ``audit_action``."""
    from auditlog.models import LogEntry

    data = additional_data(account_id=None, account_name="")
    data["staff"] = user.get_username()
    return LogEntry.objects.log_create(
        user,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        changes={k: [str(v) for v in pair] for k, pair in changes.items()},
        additional_data=data,
    )
