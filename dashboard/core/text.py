"""NUL characters never reach the database (#15 item 4).

PostgreSQL refuses U+0000 in ``text``/``varchar`` and in ``jsonb`` (where it arrives
as the ``\\u0000`` escape), so one NUL in a form value, a JSON attribute, a provider's
answer or a call-log column used to be a 500, a job left ``running`` or a whole batch
of call-log rows lost. SQLite stores it, so the same input behaved differently on the
two stacks.

The boundary is the database connection: :func:`install` adds an execute wrapper to
every connection that replaces NUL with U+FFFD (a visible "this character could not
be kept") in every string parameter and in every JSON value (recursively, keys too)
of every statement — inserts, bulk inserts, updates and filters alike, whatever code
built them. :func:`clean_text`, :func:`clean_json` and :func:`clean_model_texts` do
the same for code that wants clean values before a statement is built (the call-log
recorder; forms that show the value back).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.signals import connection_created

NUL = "\x00"
REPLACEMENT = "\ufffd"


def clean_text(value: str) -> str:
    """``value`` with every NUL replaced by U+FFFD (other strings untouched)."""
    return value.replace(NUL, REPLACEMENT) if NUL in value else value


def clean_json(value: Any) -> Any:
    """A JSON-ready value with NUL replaced in every string, dict keys included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_json(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


def clean_model_texts(instance: models.Model) -> models.Model:
    """Clean every char, text and JSON field of ``instance`` in place; returns it."""
    for field in instance._meta.concrete_fields:
        if isinstance(field, models.CharField | models.TextField | models.JSONField):
            value = getattr(instance, field.attname)
            if value is not None:
                setattr(instance, field.attname, clean_json(value))
    return instance


def fit_model_texts(instance: models.Model) -> models.Model:
    """:func:`clean_model_texts`, and every char field cut to its ``max_length``: the
    row a database refused, made storable (the call-log writer's last resort)."""
    clean_model_texts(instance)
    for field in instance._meta.concrete_fields:
        if isinstance(field, models.CharField) and field.max_length:
            value = getattr(instance, field.attname)
            if isinstance(value, str) and len(value) > field.max_length:
                setattr(instance, field.attname, value[: field.max_length])
    return instance


def _clean_param(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    jsonb_obj = getattr(value, "obj", _MISSING)
    if jsonb_obj is not _MISSING and hasattr(value, "dumps"):
        # psycopg's Jsonb adapter (PostgreSQL's JSONField parameter).
        cleaned = clean_json(jsonb_obj)
        return value if cleaned == jsonb_obj else type(value)(cleaned, dumps=value.dumps)
    if isinstance(value, list | tuple) and not isinstance(value, bytes):
        return type(value)(_clean_param(v) for v in value)
    return value


_MISSING = object()


def _clean_params(params: Any, many: bool) -> Any:
    if params is None:
        return None
    if many:
        return [_clean_params(row, False) for row in params]
    if isinstance(params, dict):
        return {key: _clean_param(value) for key, value in params.items()}
    if isinstance(params, list | tuple):
        return [_clean_param(value) for value in params]
    return params


def nul_free_execute(execute, sql, params, many, context):
    """A connection execute wrapper (see :meth:`DatabaseWrapper.execute_wrapper`)."""
    return execute(sql, _clean_params(params, many), many, context)


def _on_connection_created(sender, connection, **kwargs) -> None:
    if nul_free_execute not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, nul_free_execute)
    ops = connection.ops
    if not getattr(ops, "_switchyard_nul_free", False):
        # JSONField values become a JSON text on SQLite, where a NUL is an escape the
        # execute wrapper cannot tell from typed text: clean them before encoding, so
        # both stacks store the same value.
        adapt = ops.adapt_json_value
        ops.adapt_json_value = lambda value, encoder: adapt(clean_json(value), encoder)
        ops._switchyard_nul_free = True


def install() -> None:
    """Clean the parameters of every statement on every connection of this process
    (called from ``CoreConfig.ready``; a connection made before it is patched too)."""
    from django.db import connections

    connection_created.connect(_on_connection_created, dispatch_uid="switchyard-nul-free")
    for connection in connections.all(initialized_only=True):
        _on_connection_created(None, connection)
