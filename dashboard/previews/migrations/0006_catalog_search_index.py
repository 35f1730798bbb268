"""An index for the catalog's "contains" search on PostgreSQL.

Django's ``icontains`` is ``UPPER(column) LIKE UPPER('%term%')``. Without an index on
that expression the planner has no statistics for it, guesses that two rows match,
and sorts a sequential scan of the whole catalog (10 ms at 10,000 slots) where
walking the (account, slot_id) index would stop after one page (0.2 ms). An index on
the expressions gives ANALYZE their statistics (so common terms walk the ordered
index), and a trigram index also finds rare terms without a scan.

``pg_trgm`` is a trusted extension (PostgreSQL 13+): a database owner may create it.
Where it cannot be created, plain expression indexes still give the statistics. SQLite
has neither and needs neither at a catalog's size; it is left alone.
"""

from django.db import DatabaseError, migrations, transaction

INDEX = "previews_catalogslot_search"
EXPRESSIONS = ("upper(slot_id::text)", "upper(description::text)")


def create_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                columns = ", ".join(f"{e} gin_trgm_ops" for e in EXPRESSIONS)
                cursor.execute(
                    f"CREATE INDEX IF NOT EXISTS {INDEX} ON previews_catalogslot "
                    f"USING gin ({columns})"
                )
        except DatabaseError:
            # No permission for the extension: the statistics alone, from btree indexes.
            for number, expression in enumerate(EXPRESSIONS):
                cursor.execute(
                    f"CREATE INDEX IF NOT EXISTS {INDEX}_{number} "
                    f"ON previews_catalogslot ({expression})"
                )
        cursor.execute("ANALYZE previews_catalogslot")


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name in (INDEX, f"{INDEX}_0", f"{INDEX}_1"):
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("previews", "0005_catalog_slots_and_labels"),
    ]

    operations = [
        migrations.RunPython(create_search_index, drop_search_index),
    ]
