"""``/metrics``: the console's state in Prometheus' text format (prometheus_client).

Everything is read at scrape time from the database (the source of truth) through the
other apps' selectors, each read bounded (the latency histogram reads the newest
``METRICS_LATENCY_SAMPLE`` calls). Labels are account names, providers, states and
kinds: never a secret, a key, a URL or customer data. Without ``METRICS_TOKEN`` the
endpoint does not exist (404); with it, a request must carry the bearer token (401).
"""

from __future__ import annotations

import hmac
import logging
from datetime import timedelta

from amqp.exceptions import ChannelError
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from dashboard.accounts.selectors import credentials_due_for_rotation
from dashboard.alerts.models import Delivery
from dashboard.calls.selectors import (
    failed_call_counts,
    group_state_counts,
    recent_call_durations,
)
from dashboard.events.selectors import event_counts_by_provider, outbox_pending_by_account

logger = logging.getLogger(__name__)
LATENCY_BUCKETS_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def _latency_histogram() -> HistogramMetricFamily:
    family = HistogramMetricFamily(
        "switchyard_provider_call_duration_seconds",
        "Duration of the most recent provider calls (a bounded sample)",
        labels=["provider"],
    )
    by_provider: dict[str, list[float]] = {}
    for provider, ms in recent_call_durations(limit=settings.METRICS_LATENCY_SAMPLE):
        by_provider.setdefault(provider, []).append(ms / 1000)
    for provider, values in sorted(by_provider.items()):
        buckets = [
            (str(edge), sum(1 for v in values if v <= edge)) for edge in LATENCY_BUCKETS_SECONDS
        ]
        buckets.append(("+Inf", len(values)))
        family.add_metric([provider], buckets, sum(values))
    return family


def _queue_lengths() -> GaugeMetricFamily:
    from dashboard.celery import app

    family = GaugeMetricFamily(
        "switchyard_celery_queue_length", "Messages waiting in the Celery queue", labels=["queue"]
    )
    try:
        with app.connection_for_read(connect_timeout=1) as conn:
            conn.ensure_connection(max_retries=1)
            # The default queue and the interactive one (#15 finding 5).
            for queue in app.amqp.queues:
                try:
                    declared = conn.default_channel.queue_declare(queue=queue, passive=True)
                except ChannelError:
                    # Redis keeps no empty queue: one that does not exist holds nothing.
                    family.add_metric([queue], 0)
                    continue
                family.add_metric([queue], declared.message_count)
    except Exception as exc:  # broker down or the transport cannot count: leave it out
        logger.info("metrics_queue_unmeasurable", extra={"error": type(exc).__name__})
    return family


class ConsoleCollector:
    def collect(self):
        now = timezone.now()
        depth = GaugeMetricFamily(
            "switchyard_outbox_depth", "Events queued or being sent", labels=["account", "provider"]
        )
        age = GaugeMetricFamily(
            "switchyard_outbox_oldest_pending_seconds",
            "Age of the oldest event waiting in the outbox",
            labels=["account", "provider"],
        )
        for row in outbox_pending_by_account():
            labels = [row["account__name"], row["provider"]]
            depth.add_metric(labels, row["depth"])
            age.add_metric(labels, max(0.0, (now - row["oldest"]).total_seconds()))
        yield depth
        yield age

        events = GaugeMetricFamily(
            "switchyard_events_last_day",
            "Events created in the last 24 hours by provider and status (deliveries, failures)",
            labels=["provider", "status"],
        )
        for row in event_counts_by_provider(since=now - timedelta(days=1)):
            events.add_metric([row["provider"], row["status"]], row["n"])
        yield events

        failures = GaugeMetricFamily(
            "switchyard_provider_call_failures_last_hour",
            "Provider calls that failed in the last hour by provider and error kind",
            labels=["provider", "kind"],
        )
        for provider, kind, n in failed_call_counts(since=now - timedelta(hours=1)):
            failures.add_metric([provider, kind or "unknown"], n)
        yield failures

        alerts = CounterMetricFamily(
            "switchyard_alert_deliveries",
            "Alert deliveries by destination kind and state",
            labels=["kind", "state"],
        )
        for row in (
            Delivery.objects.order_by().values("destination__kind", "state").annotate(n=Count("id"))
        ):
            alerts.add_metric([row["destination__kind"], row["state"]], row["n"])
        yield alerts

        groups = GaugeMetricFamily(
            "switchyard_error_groups", "Error groups by state", labels=["state"]
        )
        for state, n in sorted(group_state_counts().items()):
            groups.add_metric([state], n)
        yield groups

        keys = GaugeMetricFamily(
            "switchyard_keys_past_rotation_age",
            "Active keys older than CREDENTIAL_MAX_AGE_DAYS",
            labels=["provider"],
        )
        per_provider: dict[str, int] = {}
        for credential in credentials_due_for_rotation():
            per_provider[credential.account.provider] = (
                per_provider.get(credential.account.provider, 0) + 1
            )
        for provider, n in sorted(per_provider.items()):
            keys.add_metric([provider], n)
        yield keys

        yield _latency_histogram()
        yield _queue_lengths()


def render_metrics() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ConsoleCollector())
    return generate_latest(registry)


@login_not_required
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("metrics are off (no METRICS_TOKEN)")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("a bearer token is needed\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
