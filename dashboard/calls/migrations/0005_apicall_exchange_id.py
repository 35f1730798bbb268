"""Each call keeps its exchange's own id (``integrations.http.Exchange.exchange_id``),
indexed, so an event attempt can point at the call that carried it without reading the
call log back before the background writer has written it.

On PostgreSQL ``calls_apicall`` is partitioned by day (``0004_partition_by_time``):
``ADD COLUMN`` on the parent reaches every partition, and the plain ``CREATE INDEX``
Django runs for ``AddIndex`` creates the index on the parent, which PostgreSQL builds
on each partition and gives to every partition created later
(``dashboard/calls/partitions.py`` creates them ``PARTITION OF`` the parent or attaches
them; both take the parent's indexes). It must not be ``CONCURRENTLY``: PostgreSQL
refuses that on a partitioned table. Rows written before this migration keep an empty
id; nothing links to them by it.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0004_partition_by_time"),
    ]

    operations = [
        migrations.AddField(
            model_name="apicall",
            name="exchange_id",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddIndex(
            model_name="apicall",
            index=models.Index(fields=["exchange_id"], name="apicall_exchange"),
        ),
    ]
