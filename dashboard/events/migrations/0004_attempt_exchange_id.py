"""An attempt names the exchange that carried it (``exchange_id``, joined with
``ApiCall.exchange_id``) instead of the call's id, which the dispatcher read back
from the call log before the background writer had written it (so it was empty on
every attempt under the production writer).

Attempts that do hold a call id keep their link: that call and those attempts get
the same legacy id, ``call-<id>`` (an exchange's own id is 32 hex digits, so the two
never meet). Then ``api_call`` goes.
"""

from django.db import migrations, models
from django.db.models.functions import Cast, Concat


def _legacy_id(field: str):
    return Concat(models.Value("call-"), Cast(field, models.CharField()))


def link_attempts_by_exchange(apps, schema_editor):
    EventAttempt = apps.get_model("events", "EventAttempt")
    ApiCall = apps.get_model("calls", "ApiCall")
    linked = EventAttempt.objects.filter(api_call__isnull=False)
    ApiCall.objects.filter(id__in=linked.values("api_call_id"), exchange_id="").update(
        exchange_id=_legacy_id("id")
    )
    linked.update(exchange_id=_legacy_id("api_call_id"))


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0005_apicall_exchange_id"),
        ("events", "0003_held_and_discarded_events"),
    ]

    operations = [
        migrations.AddField(
            model_name="eventattempt",
            name="exchange_id",
            field=models.CharField(blank=True, max_length=32),
        ),
        # Not reversed: going back leaves the attempts without a call id, as the
        # background writer did.
        migrations.RunPython(link_attempts_by_exchange, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="eventattempt",
            name="api_call",
        ),
    ]
