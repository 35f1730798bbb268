"""``manage.py alert_rule add|list|remove``: alert rules from scripts and tests.

    alert_rule add --when new_group --destination ops@example.com [--provider croct]
                   [--account "Shop EU"] [--error-kind auth] [--json]
    alert_rule add --when escalating_group --count 50 --minutes 10 --destination https://…
    alert_rule list --json
    alert_rule remove 3

A destination given as a URL is stored encrypted; only its last four characters are
printed. A new generic webhook's signing secret is printed once, on ``add`` (in the
JSON as ``signing_secret``); it cannot be shown again.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from dashboard.alerts import selectors, services
from dashboard.alerts.models import AlertRule
from dashboard.alerts.rules import KINDS, describe

PARAM_NAMES = sorted({p.name for kind in KINDS.values() for p in kind.params})
BY = "command alert_rule"


def rule_data(rule: AlertRule) -> dict:
    return {
        "id": rule.pk,
        "kind": rule.kind,
        "params": rule.params,
        "provider": rule.provider or None,
        "account": rule.account.name if rule.account else None,
        "error_kind": rule.error_kind or None,
        "muted": rule.muted,
        "snoozed_until": rule.snoozed_until.isoformat() if rule.snoozed_until else None,
        "destinations": [
            {"id": d.pk, "kind": d.kind, "service": d.service, "last4": d.last4}
            for d in rule.destinations.all()
        ],
    }


class Command(BaseCommand):
    help = "Add, list or remove alert rules."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add a rule")
        add.add_argument("--when", required=True, choices=sorted(KINDS))
        add.add_argument(
            "--destination", required=True, action="append", help="email or URL (repeatable)"
        )
        add.add_argument("--provider", default="")
        add.add_argument("--account", default="", help="account name or id")
        add.add_argument("--error-kind", default="")
        for name in PARAM_NAMES:
            add.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int)
        add.add_argument("--json", action="store_true")
        listing = sub.add_parser("list", help="list rules")
        listing.add_argument("--json", action="store_true")
        remove = sub.add_parser("remove", help="remove a rule")
        remove.add_argument("id", type=int)
        remove.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        return getattr(self, f"_{options['action']}")(options)

    def _add(self, options) -> None:
        kind = options["when"]
        spec = {p.name for p in KINDS[kind].params}
        stray = [n for n in PARAM_NAMES if options.get(n) is not None and n not in spec]
        if stray:
            raise CommandError(
                f"--when {kind} takes no {', '.join('--' + n.replace('_', '-') for n in stray)}"
            )
        try:
            created = [
                services.destination_find_or_create(target=t, by=BY) for t in options["destination"]
            ]
            rule = services.rule_add(
                kind=kind,
                destinations=[c.destination for c in created],
                params={n: options[n] for n in spec if options.get(n) is not None},
                provider=options["provider"],
                account=options["account"] or None,
                error_kind=options["error_kind"],
                by=BY,
            )
        except services.AlertInputError as exc:
            raise CommandError(str(exc)) from None
        data = rule_data(rule)
        secrets = {c.destination.pk: c.signing_secret for c in created if c.signing_secret}
        for destination in data["destinations"]:
            if destination["id"] in secrets:
                destination["signing_secret"] = secrets[destination["id"]]
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2))
            return
        self.stdout.write(
            f"Rule {rule.pk} added: {KINDS[kind].label} ({describe(kind, rule.params)})."
        )
        for destination_id, secret in secrets.items():
            self.stdout.write(
                f"Signing secret of webhook destination {destination_id} (shown once): {secret}"
            )

    def _list(self, options) -> None:
        rules = [rule_data(r) for r in selectors.rule_list()]
        if options["json"]:
            self.stdout.write(json.dumps(rules, indent=2))
            return
        for r in rules:
            where = ", ".join(f"{d['service']} …{d['last4']}" for d in r["destinations"])
            state = " (muted)" if r["muted"] else ""
            self.stdout.write(f"{r['id']}: {r['kind']} {r['params']} → {where}{state}")
        if not rules:
            self.stdout.write("No rules.")

    def _remove(self, options) -> None:
        rule = AlertRule.objects.filter(pk=options["id"]).first()
        if rule is None:
            raise CommandError(f"no rule {options['id']}")
        services.rule_remove(rule=rule, by=BY)
        self.stdout.write(
            json.dumps({"removed": options["id"]})
            if options["json"]
            else f"Rule {options['id']} removed."
        )
