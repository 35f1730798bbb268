"""The Alerts page as an admin uses it: add a destination (secret shown once), send a
test, add, mute and snooze a rule; the "alerts for this" panel; the history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard.alerts.engine import alerts_run
from dashboard.alerts.models import AlertRule, Destination
from dashboard.calls.models import ErrorGroup
from tests.alerts.conftest import croct_problem, make_account, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client_for, admin):
    return client_for(admin)


def test_a_webhook_secret_is_shown_once_and_the_url_never(admin_client, receiver):
    url = receiver.url + "?token=very-secret-token"
    page = admin_client.post(reverse("alerts:destination_add"), {"target": url}).content.decode()
    assert 'data-testid="signing-secret"' in page
    secret = page.split('data-testid="signing-secret">')[1].split("<")[0]
    assert secret.startswith("whsec_")
    again = admin_client.get(reverse("alerts:index")).content.decode()
    assert secret not in again
    assert "very-secret-token" not in again
    assert "very-secret-token" not in page
    assert Destination.objects.get().last4 in again


def test_the_page_says_where_embedded_mail_goes(admin_client, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    page = admin_client.get(reverse("alerts:index")).content.decode()
    assert "no mail server" in page
    assert str(tmp_path / "mail") in page


def test_send_a_test_answers_in_a_sentence(admin_client, receiver):
    admin_client.post(reverse("alerts:destination_add"), {"target": receiver.url})
    destination = Destination.objects.get()
    response = admin_client.post(
        reverse("alerts:destination_test", args=[destination.pk]), headers={"HX-Request": "true"}
    )
    text = response.content.decode()
    assert "Sent:" in text
    assert "HTTP 200" in text
    receiver.script = [500]
    text = admin_client.post(
        reverse("alerts:destination_test", args=[destination.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert "Not sent:" in text
    assert "HTTP 500" in text


def test_add_mute_and_snooze_a_rule_all_audited(admin_client):
    from auditlog.models import LogEntry

    admin_client.post(reverse("alerts:destination_add"), {"target": "ops@example.com"})
    destination = Destination.objects.get()
    response = admin_client.post(
        reverse("alerts:rule_add"),
        {"kind": "escalating_group", "destinations": [destination.pk], "count": "7"},
    )
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert rule.params["count"] == 7
    admin_client.post(reverse("alerts:rule_mute", args=[rule.pk]))
    admin_client.post(reverse("alerts:rule_snooze", args=[rule.pk]), {"hours": "3"})
    rule.refresh_from_db()
    assert rule.muted
    assert rule.is_snoozed
    actions = set(LogEntry.objects.values_list("additional_data__action", flat=True))
    assert {
        "alert_destination_add",
        "alert_rule_add",
        "alert_rule_mute",
        "alert_rule_snooze",
    } <= actions
    assert not LogEntry.objects.filter(changes_text__contains="ops@example.com").exists()


def test_a_bad_rule_is_refused_with_the_reason(admin_client):
    admin_client.post(reverse("alerts:destination_add"), {"target": "ops@example.com"})
    destination = Destination.objects.get()
    response = admin_client.post(
        reverse("alerts:rule_add"),
        {"kind": "escalating_group", "destinations": [destination.pk], "count": "0"},
    )
    assert response.status_code == 422
    assert "must be between 1" in response.content.decode()
    assert not AlertRule.objects.exists()


def test_the_group_panel_lists_its_alerts_and_snoozes_it(admin_client, support, client):
    admin_client.post(reverse("alerts:destination_add"), {"target": "ops@example.com"})
    AlertRule.objects.create(kind="new_group", params={}).destinations.set(
        Destination.objects.all()
    )
    record(croct_problem(401, "authentication/unknown-api-key"), account=make_account("Shop EU"))
    alerts_run()
    group = ErrorGroup.objects.get()
    panel = admin_client.get(
        reverse("alerts:panel") + f"?group={group.pk}", headers={"HX-Request": "true"}
    ).content.decode()
    assert 'data-testid="panel-alerts"' in panel
    assert "New error on Shop EU" in panel
    assert "<html" not in panel  # the fragment only
    admin_client.post(reverse("alerts:group_snooze", args=[group.pk]), {"hours": "24"})
    panel = admin_client.get(reverse("alerts:panel") + f"?group={group.pk}").content.decode()
    assert "No alerts about this group until" in panel
    # The error-group page loads the panel.
    page = admin_client.get(reverse("calls:group", args=[group.pk])).content.decode()
    assert reverse("alerts:panel") + f"?group={group.pk}" in page


def test_the_account_page_loads_its_panel(admin_client):
    account = make_account("Shop EU")
    page = admin_client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert reverse("alerts:panel") + f"?account={account.pk}" in page
    panel = admin_client.get(reverse("alerts:panel") + f"?account={account.pk}").content.decode()
    assert "No rule watches this" in panel


def test_every_role_reads_the_history_with_delivery_states(client_for, support, receiver):
    from dashboard.alerts import services
    from dashboard.alerts.delivery import delivery_attempt

    created = services.destination_create(target=receiver.url)
    receiver.secret = created.signing_secret
    receiver.script = [500]
    services.rule_add(kind="new_group", destinations=[created.destination])
    record(croct_problem(401, "authentication/unknown-api-key"), account=make_account("Shop EU"))
    [delivery] = alerts_run().deliveries
    delivery_attempt(delivery_id=delivery.pk)
    client = client_for(support)
    history = client.get(reverse("alerts:index")).content.decode()
    assert "New error on Shop EU" in history
    assert "Failed (will retry)" in history
    detail = client.get(reverse("alerts:alert", args=[delivery.alert_id])).content.decode()
    assert "HTTP 500" in detail
