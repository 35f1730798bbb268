"""``manage.py run_alerts``: one evaluation pass, then every due delivery tried here
(not through the broker), printing what was sent. Idempotent like the beat task."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from dashboard.alerts.delivery import deliveries_send_due_now
from dashboard.alerts.engine import alerts_run


class Command(BaseCommand):
    help = "Evaluate every alert rule once and send what fired."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        result = alerts_run()
        tried = deliveries_send_due_now()
        rows = [
            {
                "alert_id": d.alert_id,
                "sentence": d.alert.sentence,
                "destination": d.destination.display,
                "state": d.state,
                "answer": d.last_answer,
            }
            for d in tried
        ]
        if options["json"]:
            self.stdout.write(
                json.dumps({"alerts": len(result.alerts), "deliveries": rows}, indent=2)
            )
            return
        self.stdout.write(f"{len(result.alerts)} new alert(s).")
        for row in rows:
            self.stdout.write(
                f"{row['state']}: {row['sentence']} → {row['destination']} ({row['answer']})"
            )
