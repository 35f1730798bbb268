"""Look a customer up in one account from the command line.

Prints the matching profiles, or the provider's answer when there are none or several
(an ambiguous match). Exit status: 0 found, 1 not found, 2 ambiguous or failed.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import NoActiveCredential
from dashboard.calls.context import call_context
from dashboard.profiles.query import UnrecognisedQuery, recognise
from dashboard.profiles.services import lookup_in_account, subject_key
from integrations import errors
from integrations.errors import PayloadError
from integrations.profiles import NotSupported
from integrations.provider import SettingsError


class Command(BaseCommand):
    help = "Find a customer in one account: find_profile ACCOUNT QUERY [--json]."

    def add_arguments(self, parser):
        parser.add_argument("account", help="Account name or id")
        parser.add_argument(
            "query", help="Email, phone, or a provider's profile, customer or user id"
        )
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, account, query, as_json, **options):
        found = ConnectedAccount.objects.filter(name=account).first()
        if found is None and account.isdigit():
            found = ConnectedAccount.objects.filter(pk=int(account)).first()
        if found is None:
            raise CommandError(f"No account named {account!r}")
        try:
            q = recognise(query)
        except UnrecognisedQuery as exc:
            raise CommandError(str(exc)) from None
        answer: dict = {"account": found.name, "kind": q.kind, "query": q.value}
        code = 0
        with call_context(subject_type="profile", subject_id=subject_key(q.value)):
            try:
                profiles, matching = lookup_in_account(found, q.kind, q.value)
            except errors.NotFound as exc:
                answer.update(status="not_found", problem=exc.problem.to_dict())
                code = 1
            except errors.ProviderError as exc:
                status = "ambiguous" if exc.problem.kind == errors.AMBIGUOUS else "failed"
                answer.update(status=status, problem=exc.problem.to_dict())
                code = 2
            except (NoActiveCredential, SettingsError, PayloadError, NotSupported) as exc:
                answer.update(status="failed", problem={"title": str(exc)})
                code = 2
            else:
                status = "found" if profiles else "not_found"
                answer.update(status=status, matching=matching, profiles=profiles)
                code = 0 if profiles else 1
        if as_json:
            self.stdout.write(json.dumps(answer, indent=2, default=str))
        else:
            self.stdout.write(_text(answer))
        if code:
            raise SystemExit(code)


def _text(answer: dict) -> str:
    head = f"{answer['account']}: {answer['status']} ({answer['kind']} {answer['query']})"
    lines = [head]
    for p in answer.get("profiles", []):
        lines.append(
            f"  {p['profile_id']}  {p.get('name') or '-'}  {p.get('email') or '-'}  "
            f"{p.get('phone') or '-'}  customer {p.get('customer_id') or '-'}"
        )
    if answer.get("matching"):
        lines.append(f"  matched by {answer['matching']}")
    problem = answer.get("problem")
    if problem:
        lines.append(f"  {problem.get('title', '')}: {problem.get('detail', '')}".rstrip(": "))
    return "\n".join(lines)
