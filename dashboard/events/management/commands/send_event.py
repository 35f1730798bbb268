"""``manage.py send_event ACCOUNT --type TYPE --payload JSON [--json]``

Queues one event through the outbox and delivers it in this process (retries
included, up to ``--wait`` seconds), then prints the final status. Exit status 1
when the event is refused or not delivered.
"""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from dashboard.accounts.models import ConnectedAccount
from dashboard.events.dispatch import events_dispatch
from dashboard.events.models import EventStatus, OutboundEvent
from dashboard.events.outbox import event_queue
from dashboard.events.preparing import EventRefused, event_providers


class Command(BaseCommand):
    help = "Queue one event for an account, deliver it now and print the outcome."

    def add_arguments(self, parser):
        parser.add_argument("account", help="Account name or id")
        parser.add_argument("--type", dest="event_type", default="", help="The event type")
        bodies = "; ".join(f"{p.label}: {p.events.payload_help}" for p in event_providers())
        parser.add_argument(
            "--payload", required=True, help=f"The provider's event body as JSON ({bodies})"
        )
        # Each provider's extra composer fields (``--client-id`` for ``client_id``).
        for name, option in _options().items():
            parser.add_argument(
                "--" + name.replace("_", "-"), dest=name, default="", help=option.help_text
            )
        parser.add_argument("--wait", type=float, default=30.0, help="Seconds to retry for")
        parser.add_argument("--json", action="store_true", help="Print JSON")

    def handle(self, *args, **options):
        account = _find_account(options["account"])
        extra = {name: options[name] for name in _options() if options[name]}
        try:
            with transaction.atomic():
                event = event_queue(
                    account=account,
                    payload=options["payload"],
                    event_type=options["event_type"],
                    options=extra,
                    dispatch=False,  # delivered here, not by a worker
                )
        except EventRefused as exc:
            self._emit(options, {"status": "refused", "errors": exc.errors}, "refused: " + str(exc))
            raise SystemExit(1) from None
        deadline = time.monotonic() + options["wait"]
        while True:
            events_dispatch(event_ids=[event.pk], budget_seconds=options["wait"])
            event.refresh_from_db()
            if event.is_final or time.monotonic() > deadline:
                break
            if event.next_attempt_at:
                pause = (event.next_attempt_at - timezone.now()).total_seconds()
                if time.monotonic() + pause > deadline:
                    break
                time.sleep(max(0.0, pause))
        data = {
            "id": event.pk,
            "status": event.status,
            "account": account.name,
            "event_type": event.event_type,
            "idempotency_key": event.idempotency_key,
            "attempts": event.total_attempts,
            "size_bytes": event.size_bytes,
            "converted_from_v1": event.converted_from_v1,
            "problem": event.problem,
            "payload": json.loads(event.body),
        }
        text = (
            f"event {event.pk} {event.status} after {event.total_attempts} attempt(s) "
            f"(key {event.idempotency_key})"
        )
        if event.problem and event.status != EventStatus.DELIVERED:
            text += f"\n{event.problem.get('title')}: {event.problem.get('detail')}"
        self._emit(options, data, text)
        if event.status != EventStatus.DELIVERED:
            raise SystemExit(1)

    def _emit(self, options, data, text):
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, default=str))
        else:
            self.stdout.write(text)


def _options() -> dict:
    found = {}
    for provider in event_providers():
        for option in provider.events.options:
            found.setdefault(option.name, option)
    return found


def _find_account(value: str) -> ConnectedAccount:
    queryset = ConnectedAccount.objects.all()
    account = queryset.filter(name=value).first()
    if account is None and value.isdigit():
        account = queryset.filter(pk=int(value)).first()
    if account is None:
        raise CommandError(f"no account named {value!r}")
    return account


__all__ = ["Command", "OutboundEvent"]
