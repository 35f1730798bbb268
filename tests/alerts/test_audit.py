"""Every alert rule, destination, snooze and mute change is on the Audit page, in
words: an action label and what it was about, not a model name and a field dump."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.alerts import services
from dashboard.alerts.audit import ALERT_ACTIONS
from dashboard.calls.models import ErrorGroup
from tests.alerts.conftest import croct_problem, record

pytestmark = pytest.mark.django_db


def _entries(body: str) -> list[tuple[str, str]]:
    """(data-action, the row's cells as text) for each audit row."""
    found = []
    for match in re.finditer(
        r'data-testid="audit-entry" data-action="([^"]*)">(.*?)</tr>', body, re.S
    ):
        text = re.sub(r"<[^>]+>", " ", match.group(2))
        found.append((match.group(1), re.sub(r"\s+", " ", text)))
    return found


def test_each_alert_change_has_a_label_and_a_summary(client_for, admin, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    record(croct_problem(401, "authentication/unknown-api-key"))
    group = ErrorGroup.objects.get()
    destination = services.destination_create(
        target="oncall@example.com", label="On-call mail", actor=admin
    ).destination
    rule = services.rule_add(
        kind="new_group", destinations=[destination], provider="croct", actor=admin
    )
    rule_id = rule.pk
    services.rule_set_muted(rule=rule, muted=True, actor=admin)
    services.rule_set_muted(rule=rule, muted=False, actor=admin)
    services.rule_snooze(rule=rule, until=timezone.now() + timedelta(hours=2), actor=admin)
    services.rule_snooze(rule=rule, until=None, actor=admin)
    services.group_snooze(group=group, until=timezone.now() + timedelta(hours=1), actor=admin)
    services.group_snooze(group=group, until=None, actor=admin)
    services.rule_remove(rule=rule, actor=admin)
    services.destination_remove(destination=destination, actor=admin)

    body = client_for(admin).get(reverse("audit:list")).content.decode()
    entries = _entries(body)
    assert {action for action, _ in entries} == set(ALERT_ACTIONS)
    for action, text in entries:
        assert ALERT_ACTIONS[action] in text, (action, text)
        assert admin.get_username() in text
        # Not auditlog's model name, nor a dump of columns ("params: {...}").
        for raw in ("alertrule", "groupsnooze", "destination ·", "params:", "ciphertext"):
            assert raw not in text, (action, raw, text)
    texts = dict(entries)
    assert (
        f"Alert rule {rule_id}: A new error group appears · provider croct · muted"
        in (texts["alert_rule_mute"])
    )
    assert f"Alert rule {rule_id}: A new error group appears" in texts["alert_rule_remove"]
    assert "Alert destination On-call mail (Email)" in texts["alert_destination_add"]
    assert f"Alerts about error group {group.pk}: snooze until" in texts["alert_group_snooze"]
    assert "oncall@example.com" not in body  # the encrypted target never reaches the trail


def test_the_audit_filter_offers_the_alert_actions(client_for, admin):
    body = client_for(admin).get(reverse("audit:list"), {"action": "alert_rule_mute"})
    assert body.status_code == 200
    html = body.content.decode()
    for action, label in ALERT_ACTIONS.items():
        assert f'<option value="{action}"' in html
        assert label in html


def test_the_csv_export_names_the_alert_object_in_words(client_for, admin, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    destination = services.destination_create(target="oncall@example.com", actor=admin).destination
    services.rule_add(kind="failure_rate", destinations=[destination], actor=admin)
    response = client_for(admin).get(reverse("audit:export"), {"action": "alert_rule_add"})
    text = b"".join(response.streaming_content).decode()
    assert "An account's failure rate exceeds X %" in text
