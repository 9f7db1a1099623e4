"""Fast multi-row INSERT for the desk's batches (the archive import, intake, the event log).

Django's bulk_create prepares every value through every field's full save path, which is the
import's largest cost after parsing. For plain columns (text, numbers, dates, bytes, foreign
key ids) psycopg2's ``execute_values`` can take the attribute values as they are. On other
databases (SQLite for ``make run``) this falls back to bulk_create.

It earns its place beyond the archive import: with bulk_create for intake's raw rows and
messages, the event log and the consumers' rows, live intake filed 247 to 280 msg/s where it
files 284 to 289 with this (``make bench BENCH_ARGS="--only bench_intake"``, same host, same
hour, 2026-12-06).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from django.db import connection
from django.db.models import DateField, ForeignKey, JSONField, Model
from django.utils import timezone
from psycopg2.extras import Json


def bulk_insert(objects: Sequence[Model]) -> None:
    """INSERT the unsaved objects in one statement and set their primary keys."""
    if not objects:
        return
    model = type(objects[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    encoded = any(isinstance(f, JSONField) and f.encoder is not None for f in fields)
    if connection.vendor != "postgresql" or encoded:
        model._default_manager.bulk_create(objects)
        return
    stamped = [f for f in fields if isinstance(f, DateField) and (f.auto_now or f.auto_now_add)]
    relations = [f for f in fields if isinstance(f, ForeignKey)]
    now = timezone.now()
    for obj in objects:
        for field in stamped:
            setattr(obj, field.attname, now)
        # A foreign key assigned before its target was saved has no id yet: take it now.
        for relation in relations:
            if getattr(obj, relation.attname) is None:
                target = relation.get_cached_value(obj, default=None)
                if target is not None:
                    setattr(obj, relation.attname, target.pk)
    # A JSON column's value goes as JSON (the event log's data).
    json = {f.attname for f in fields if isinstance(f, JSONField)}
    rows = [
        tuple(
            Json(getattr(obj, f.attname)) if f.attname in json else _plain(getattr(obj, f.attname))
            for f in fields
        )
        for obj in objects
    ]
    quote = connection.ops.quote_name
    # Only the model's own table and column names, quoted, go into the text; values are bound.
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    columns = ", ".join(quote(f.column) for f in fields)
    sql = f"INSERT INTO {table} ({columns}) VALUES {{}} RETURNING {pk}"  # noqa: S608
    ids = _execute_values(sql, rows, fetch=True)
    for obj, (pk,) in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def _plain(value: object) -> object:
    return value.value if isinstance(value, Enum) else value


def update_grouped(objects: Sequence[Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of saved objects with one UPDATE per distinct set of values.

    Live intake changes many rows in the same way (every raw row "processed", every ticket
    touched in a batch gets the batch's arrival time), so this is a handful of statements
    where bulk_update would build one CASE expression per row and field.
    """
    groups: dict[tuple[object, ...], list[object]] = {}
    for obj in objects:
        key = tuple(getattr(obj, name) for name in fields)
        groups.setdefault(key, []).append(obj.pk)
    if not objects:
        return
    manager = type(objects[0])._default_manager
    for key, pks in groups.items():
        manager.filter(pk__in=pks).update(**dict(zip(fields, key, strict=True)))


def update_rows(objects: Sequence[Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of saved objects whose values differ row by row (a fingerprint per
    raw mail) in one ``UPDATE … FROM (VALUES …)``: bulk_update builds a CASE expression per
    row and field, which costs more than the statement. Elsewhere than PostgreSQL it is
    bulk_update."""
    if not objects:
        return
    model = type(objects[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objects, fields)
        return
    meta = model._meta
    by_name = {f.name: f for f in meta.concrete_fields}
    columns = [by_name[name] for name in fields]
    quote = connection.ops.quote_name
    # Only the model's own table, column names and types go into the text; values are bound.
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    names = ", ".join(f"c{n}" for n in range(len(columns)))
    sets = ", ".join(
        f"{quote(f.column)} = v.c{n}::{f.db_type(connection)}" for n, f in enumerate(columns)
    )
    sql = f"UPDATE {table} SET {sets} FROM (VALUES {{}}) AS v(id, {names})"  # noqa: S608
    sql += f" WHERE {table}.{pk} = v.id"
    rows = [(obj.pk, *(_plain(getattr(obj, f.attname)) for f in columns)) for obj in objects]
    _execute_values(sql, rows)


def _execute_values(sql: str, rows: list[tuple[object, ...]], *, fetch: bool = False) -> list:
    """Run ``sql`` with its ``{}`` replaced by the rows as a VALUES list, bound by psycopg2
    (as its ``execute_values`` does) but through Django's cursor, so that the statement is
    seen and counted like any other (query-count tests, debug logging)."""
    with connection.cursor() as cursor:
        template = "(" + ", ".join(["%s"] * len(rows[0])) + ")"
        mogrify = cursor.cursor.mogrify
        values = b", ".join(mogrify(template, row) for row in rows).decode()
        cursor.execute(sql.format(values))
        return cursor.fetchall() if fetch else []
