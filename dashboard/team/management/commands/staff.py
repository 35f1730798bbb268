"""Staff from scripts: ``staff add|role|deactivate|reactivate|list``.

``staff add`` prints the one-time invitation link (and mails it when the user has an
address); every change is audited as done by "command staff".
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from dashboard.core.roles import ROLES
from dashboard.team import selectors, services

BY = "command staff"


class Command(BaseCommand):
    help = "Invite staff, change their role, deactivate them, list them."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Invite someone; prints the invitation link.")
        add.add_argument("username")
        add.add_argument("--email", required=True)
        add.add_argument("--role", required=True, choices=ROLES)
        add.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="The console's address, for the link (default %(default)s).",
        )
        role = sub.add_parser("role", help="Change someone's role.")
        role.add_argument("username")
        role.add_argument("role", choices=ROLES)
        for name in ("deactivate", "reactivate"):
            one = sub.add_parser(name, help=f"{name.title()} someone.")
            one.add_argument("username")
        listing = sub.add_parser("list", help="Everyone, with role and two-factor status.")
        listing.add_argument("--json", action="store_true")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except services.TeamError as error:
            raise CommandError(str(error)) from None

    def _user(self, username: str):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No staff member {username!r}.") from None

    def _add(self, *, username, email, role, base_url, **_):
        result = services.staff_invite(
            username=username, email=email, role=role, base_url=base_url, by=BY
        )
        self.stdout.write(f"Invited {username} as {role}. One-time link:")
        self.stdout.write(result.link)

    def _role(self, *, username, role, **_):
        services.staff_set_role(user=self._user(username), role=role, by=BY)
        self.stdout.write(f"{username} is now {role}.")

    def _deactivate(self, *, username, **_):
        ended = services.staff_deactivate(user=self._user(username), by=BY)
        self.stdout.write(f"{username} is deactivated; {ended} sessions ended.")

    def _reactivate(self, *, username, **_):
        services.staff_reactivate(user=self._user(username), by=BY)
        self.stdout.write(f"{username} can sign in again.")

    def _list(self, *, json: bool = False, **_):
        rows = selectors.staff_rows()
        if json:
            self.stdout.write(_dumps([row.as_json() for row in rows]))
            return
        for row in rows:
            state = "active" if row.active else "deactivated"
            mfa = ",".join(row.mfa) or "-"
            self.stdout.write(f"{row.username:<20} {row.role or '-':<9} {state:<11} mfa:{mfa}")


def _dumps(value) -> str:
    return json.dumps(value, indent=2)
