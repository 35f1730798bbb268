"""``manage.py preview_slot ACCOUNT SLOT``: what a visitor is served, from the shell.
``manage.py preview_slot ACCOUNT --list [--json]`` prints the account's slot catalog.

Runs the same service as the preview page, in-process (no worker needed), and stores
the preview like any other. Exit status: 0 served, 1 provider error, 2 invalid input
(nothing sent), 3 the workspace's services are suspended (Croct's 202).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from dashboard.accounts.models import ConnectedAccount
from dashboard.previews import services, visitors
from dashboard.previews.models import CatalogSlot, IdentityMode, Persona, RunStatus
from dashboard.previews.services import VisitorInputError

EXIT_PROVIDER_ERROR = 1
EXIT_INVALID = 2
EXIT_SUSPENDED = 3


class Command(BaseCommand):
    help = "Preview a Croct slot for a visitor and print the content and why it was served."

    def add_base_argument(self, parser, *args, **kwargs):
        # Here --version is the slot version (as on the form), not Django's version.
        if "--version" in args:
            return
        super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("account", help="The connected account's name or id.")
        parser.add_argument("slot", nargs="?", default="", help="The slot id, e.g. home-hero.")
        parser.add_argument(
            "--list", action="store_true", help="Print the account's slot catalog instead."
        )
        parser.add_argument("--locale", default="", help="en, pt-BR, … or 'default'.")
        parser.add_argument("--version", dest="slot_version", default="", help="1 or 1.2.")
        parser.add_argument(
            "--attribute",
            action="append",
            default=[],
            metavar="K=V",
            help="A context attribute (repeatable); dotted keys nest: company.size=50.",
        )
        parser.add_argument("--persona", default="", help="A persona's name.")
        parser.add_argument(
            "--client-id", default="", help="A fixed client id: a UUID, with or without dashes."
        )
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args, **options):
        if options["list"]:
            self._list(options)
            return
        if not options["slot"]:
            raise CommandError(
                "give a slot id (or --list to see the catalog)", returncode=EXIT_INVALID
            )
        try:
            preview = self._create(options)
        except VisitorInputError as exc:
            raise CommandError(
                "nothing was sent: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items()),
                returncode=EXIT_INVALID,
            ) from None
        preview = services.preview_run(preview_id=preview.pk)
        self._print(preview, as_json=options["json"])
        if preview.status == RunStatus.DONE:
            return
        problem = preview.problem or {}
        if preview.is_suspended:
            raise CommandError(
                f"suspended: {problem.get('title')} ({problem.get('detail')}); visitors get "
                "the slot's default behaviour",
                returncode=EXIT_SUSPENDED,
            )
        raise CommandError(
            f"provider error: {problem.get('title')}"
            + (f" (HTTP {problem['status']})" if problem.get("status") else "")
            + (f" — {problem['detail']}" if problem.get("detail") else ""),
            returncode=EXIT_PROVIDER_ERROR,
        )

    def _account(self, name: str) -> ConnectedAccount:
        account = ConnectedAccount.objects.filter(name=name).first()
        if account is None and name.isdigit():
            account = ConnectedAccount.objects.filter(pk=int(name)).first()
        if account is None:
            raise VisitorInputError({"account": f"no account named {name!r}"})
        return account

    def _list(self, options) -> None:
        try:
            account = self._account(options["account"])
        except VisitorInputError as exc:
            raise CommandError(exc.errors["account"], returncode=EXIT_INVALID) from None
        slots = list(CatalogSlot.objects.filter(account=account).order_by("slot_id"))
        if options["json"]:
            data = [
                {
                    "slot_id": slot.slot_id,
                    "description": slot.description,
                    "versions": slot.versions,
                    "locales": slot.locales,
                    "component": slot.component or None,
                    "last_content": slot.last_content,
                    "last_seen_at": slot.last_seen_at.isoformat() if slot.last_seen_at else None,
                    "last_seen_source": slot.last_seen_source or None,
                    "added_source": slot.added_source,
                }
                for slot in slots
            ]
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        if not slots:
            self.stdout.write(f"{account.name}'s catalog is empty: preview a slot to add it.")
            return
        width = max(len(slot.slot_id) for slot in slots)
        for slot in slots:
            seen = slot.last_seen_at.strftime("%Y-%m-%d %H:%M") if slot.last_seen_at else "never"
            self.stdout.write(
                f"{slot.slot_id:<{width}}  {slot.component or 'no component'}"
                f"  v{', '.join(slot.versions) or '?'}  [{', '.join(slot.locales)}]"
                f"  seen {seen}" + (f"  — {slot.description}" if slot.description else "")
            )

    def _create(self, options):
        account = self._account(options["account"])
        persona = None
        if options["persona"]:
            persona = Persona.objects.filter(name__iexact=options["persona"]).first()
            if persona is None:
                raise VisitorInputError({"persona": f"no persona named {options['persona']!r}"})
        attributes = visitors.attributes_from_pairs(options["attribute"])
        context = visitors.build_context(attributes=attributes) if attributes else {}
        identity_mode = identity_value = None
        if options["client_id"]:
            identity_mode, identity_value = IdentityMode.CLIENT_ID, options["client_id"]
        visitor = services.visitor_for(
            persona=persona,
            context=context,
            identity_mode=identity_mode,
            identity_value=identity_value or "",
        )
        return services.preview_create(
            account=account,
            slot_id=options["slot"],
            visitor=visitor,
            version=options["slot_version"],
            locale=options["locale"],
            enqueue=False,
        )

    def _print(self, preview, *, as_json: bool) -> None:
        result = preview.result or {}
        if as_json:
            data = {
                "preview": preview.pk,
                "status": preview.status,
                "content": result.get("content"),
                "metadata": {
                    key: result.get(key)
                    for key in (
                        "version",
                        "source",
                        "experience_id",
                        "audience_id",
                        "experiment_id",
                        "variant_id",
                    )
                },
                "problem": preview.problem,
            }
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        if preview.status != RunStatus.DONE:
            return
        self.stdout.write(f"preview #{preview.pk}: {preview.slot_id} v{result.get('version')}")
        self.stdout.write(f"source: {result.get('source')}")
        for key in ("experience_id", "audience_id", "experiment_id", "variant_id"):
            if result.get(key):
                self.stdout.write(f"{key.replace('_id', '')}: {result[key]}")
        self.stdout.write(json.dumps(result.get("content"), indent=2, ensure_ascii=False))
