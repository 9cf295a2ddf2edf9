"""Rows a use case writes once, inserted as plain statements, their objects held as if just loaded.

For a row written once and not changed again in its transaction (a ruling, a refund, a
compensation), the ORM costs more than the insert: its constructor fires an event per attribute and
its flush sorts, diffs and batches. Here the object's every column goes straight into its dict, as
the ORM's loader puts it, the row is inserted by one statement built once, and the object joins the
session persistent and clean (and, in a write, kept alive by ``WriteSession`` for the response's
body): ``session.get`` finds it without a round trip, and a later change to it is written by the
next flush as for any loaded row.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from sqlalchemy import insert, inspect
from sqlalchemy.orm import InstanceState, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, instance_state, manager_of_class
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from arbitration.db import Base, execute_later
from arbitration.statements import prepared

Row = TypeVar("Row", bound=Base)


class Rows(Generic[Row]):
    """How to make and insert rows of one model (built once per model, at import).

    The model's columns must each have a plain default or none (no server or callable default), and
    their attributes the columns' names: what the object holds is then exactly the row.
    """

    def __init__(self, model: type[Row]) -> None:
        mapper = inspect(model)
        defaults: dict[str, Any] = {}
        for column in model.__table__.columns:
            default = column.default
            assert column.server_default is None and (
                default is None or isinstance(default, ScalarElementColumnDefault)
            ), f"{column} has a default the database or a function gives: not a plain row"
            assert mapper.get_property_by_column(column).key == column.key, column
            defaults[column.key] = default.arg if default is not None else None
        self._manager = manager_of_class(model)
        self._defaults = defaults
        self._insert = prepared(insert(model))

    def new(self, **fields: Any) -> Row:
        """A transient object holding every column: ``fields``, the others their defaults."""
        unknown = fields.keys() - self._defaults.keys()
        assert not unknown, f"not columns: {sorted(unknown)}"
        row: Row = self._manager.new_instance()
        instance_dict(row).update(self._defaults, **fields)
        return row

    def insert(self, session: Session, row: Row, *, flush: bool = False) -> Row:
        """Insert ``row`` (made by :meth:`new`) and make it the session's copy of the row.

        ``flush``: write the session's pending changes first, when the row may refer to one (the
        rows it refers to must be in the database: a plain insert does not order itself after them).
        """
        values = instance_dict(row)
        execute_later(
            session, self._insert, {key: values[key] for key in self._defaults}, flush=flush
        )
        as_loaded(session, row)
        return row


def as_loaded(session: Session, row: Base) -> None:
    """Make an object holding every column of its row (inserted or read as plain values) the
    session's clean copy of that row, as if the ORM had just loaded it.

    The object holds its columns only, no related object, so it joins the session as
    ``Session.add`` joins a detached object, without ``add``'s cascade walk over every
    relationship (two thirds of its cost) that could find nothing here. An object made as
    ``Rows.new`` makes one (its columns put in its dict, nothing else touched) is given its
    identity key and nothing more: all ``make_transient_to_detached`` would do besides is reset
    history it has none of and expire unloaded attributes it has none of.
    """
    state = instance_state(row)
    if state.modified or not _untouched(state, row):  # one built through its attributes
        make_transient_to_detached(row)
    else:
        state.key = state.mapper._identity_key_from_state(state)
    session._update_impl(state)


# Per model: the keys of its column attributes (worked out once per model, on first use).
_COLUMN_KEYS: dict[type[Base], frozenset[str]] = {}


def _untouched(state: InstanceState[Any], row: Base) -> bool:
    """Whether ``row`` is transient, every column in its dict, with no history, nothing expired
    and no expire listener: ``make_transient_to_detached`` would then only set its key."""
    if state.key is not None or state.session_id is not None:
        return False
    if state.committed_state or state.expired_attributes or "_pending_mutations" in state.__dict__:
        return False
    columns = _COLUMN_KEYS.get(type(row))
    if columns is None:
        columns = _COLUMN_KEYS[type(row)] = frozenset(
            attribute.key for attribute in state.mapper.column_attrs
        )
    return columns <= row.__dict__.keys() and not state.manager.dispatch.expire


def loaded(session: Session, model: type[Row], key: str) -> Row | None:
    """The ``model`` row of primary key ``key`` if this session holds it (no round trip), else
    None; cheaper than ``session.get`` when the answer is usually in the session."""
    found = session.identity_map.get(model.__mapper__.identity_key_from_primary_key((key,)))
    return found if isinstance(found, model) else None
