"""Shapes shared by every resource, and the bounded fields every input is built from.

Every string a caller sends is a :class:`Text`: bounded in length and storable as is (no lone
surrogates, no NUL; PostgreSQL and the audit hash need valid UTF-8). Every number is bounded, so
nothing overflows a 64-bit column and a refusal names the field (DESIGN §9).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import methodcaller
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, missing, validate
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from marshmallow.types import StrSequenceOrSet, UnknownOption

from arbitration.orders import MAX_ORDER_LINES

MAX_MONEY = 10**15  # minor units (DESIGN §9): far below 2^63, far above any order
MAX_QUANTITY = 1_000_000
ID_LENGTH = 64
TITLE_LENGTH = 500
TEXT_LENGTH = 5000
SHORT_TEXT_LENGTH = 100


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as is (NUL, a lone surrogate), or None if it can."""
    if "\x00" in text:
        return "must not contain NUL characters"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode (no lone surrogates)"
    return None


def _storable(text: str) -> None:
    problem = text_problem(text)
    if problem is not None:
        raise ValidationError(problem)


class Text(fields.String):
    """A string of at most ``max_length`` characters that a database can store."""

    def __init__(self, *, max_length: int, min_length: int = 0, **kwargs: Any) -> None:
        extra = kwargs.pop("validate", None)
        validators = [
            validate.Length(min=min_length or None, max=max_length),
            _storable,
            *([] if extra is None else extra if isinstance(extra, list) else [extra]),
        ]
        super().__init__(validate=validators, **kwargs)


def identifier(**kwargs: Any) -> Text:
    """An id: ours or the marketplace's own (at most 64 characters)."""
    return Text(min_length=1, max_length=ID_LENGTH, **kwargs)


def title_text(**kwargs: Any) -> Text:
    return Text(min_length=1, max_length=TITLE_LENGTH, **kwargs)


def free_text(*, min_length: int = 0, **kwargs: Any) -> Text:
    """A person's words: a description, a note, a reason."""
    return Text(min_length=min_length, max_length=TEXT_LENGTH, **kwargs)


def short_text(**kwargs: Any) -> Text:
    """A carrier, a tracking number, a display name's sort of thing."""
    return Text(min_length=1, max_length=SHORT_TEXT_LENGTH, **kwargs)


def choice(values: Iterable[str], **kwargs: Any) -> fields.String:
    """One of ``values``: documented as an enum, so generated clients get one too."""
    return fields.String(validate=validate.OneOf(tuple(values)), **kwargs)


def money(*, minimum: int = 1, **kwargs: Any) -> fields.Integer:
    """Integer minor units (cents): never floats, never more than ``MAX_MONEY``."""
    return fields.Integer(
        strict=True, validate=validate.Range(min=minimum, max=MAX_MONEY), **kwargs
    )


def count(**kwargs: Any) -> fields.Integer:
    """How many of a thing: at least 1, at most ``MAX_QUANTITY``."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_QUANTITY), **kwargs)


def lines(nested: type[Schema], **kwargs: Any) -> fields.List[Any]:
    """Order lines, at most ``MAX_ORDER_LINES`` of them."""
    return fields.List(
        fields.Nested(nested), validate=validate.Length(max=MAX_ORDER_LINES), **kwargs
    )


class In(Schema):
    """What the API takes: loaded as ``Schema.load`` loads it, the common case without its
    machinery (see :func:`plain_loader`); anything else, every refusal included, by marshmallow."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_load = plain_loader(self)

    def load(
        self,
        data: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        many: bool | None = None,
        partial: bool | StrSequenceOrSet | None = None,
        unknown: UnknownOption | None = None,
    ) -> Any:
        if many is None and partial is None and type(data) is dict:
            loaded = self._plain_load(data, self.unknown if unknown is None else unknown)
            if loaded is not None:
                return loaded
        return super().load(data, many=many, partial=partial, unknown=unknown)


class Out(Schema):
    """What the API sends: every field is always present (null where it allows none).

    The contract marks all of an ``Out`` schema's properties required (see ``api.contract``), so
    generated clients need not guess which keys may be absent.
    """


class ErrorBody(Out):
    code = fields.String(metadata={"description": "machine-readable, e.g. action_not_allowed"})
    message = fields.String(metadata={"description": "for people"})
    details = fields.Dict(metadata={"description": "fields and their problems, or context"})


class ErrorOut(Out):
    """Every error the API returns."""

    error = fields.Nested(ErrorBody)


class EmptyIn(In):
    """No fields: an empty body and ``{}`` are both fine."""


# Dumping without marshmallow, for the hot reads --------------------------------------------------

Convert = Callable[[Any], Any]

# What ``fields.DateTime`` (format ``iso``) dumps: the value's own ``isoformat()``.
_iso: Convert = methodcaller("isoformat")


def _converter(field: fields.Field[Any]) -> Convert | None:
    """How to dump a value of ``field`` that is not None (None is dumped as None, by the caller),
    or None when the value goes as it is."""
    if isinstance(field, fields.DateTime):
        if (field.format or fields.DateTime.DEFAULT_FORMAT) not in ("iso", "iso8601"):
            raise TypeError(f"no plain dump for DateTime format {field.format}")
        return _iso
    if isinstance(field, fields.Nested):
        if field.many or not isinstance(field.schema, Schema):
            raise TypeError("no plain dump for a Nested field with many=True")
        return plain_dumper(field.schema)
    if isinstance(field, fields.List):
        inner = _converter(field.inner)
        if inner is None:
            return list
        return lambda values: [None if value is None else inner(value) for value in values]
    if type(field) in (fields.String, Text, fields.Integer, fields.Boolean, fields.Dict):
        return None  # the values come from typed columns: already str, int, bool, a dict
    raise TypeError(f"no plain dump for {type(field).__name__}")


def plain_dumper(schema: Schema) -> Callable[[Any], dict[str, Any]]:
    """A function that dumps like ``schema.dump`` for what the engine hands it (values of the types
    the fields declare, every field present), several times faster: built once per schema, it only
    converts what JSON cannot carry (datetimes to ISO 8601) and nests. A mapping is read by key
    (a missing key is an error, not an omitted field), anything else by attribute. Refuses at
    build time a field it cannot dump exactly as marshmallow would."""
    if schema.many or schema.only or schema.exclude:
        raise TypeError("plain_dumper takes a plain schema instance")
    # Only a value that is neither None nor dumped as it is goes to a converter (most fields go
    # as they are: a call each saved).
    plan = [
        (field.data_key or name, field.attribute or name, _converter(field))
        for name, field in schema.dump_fields.items()
    ]

    def dump(value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            return {
                key: found if convert is None or found is None else convert(found)
                for key, source, convert in plan
                for found in (value[source],)
            }
        return {
            key: found if convert is None or found is None else convert(found)
            for key, source, convert in plan
            for found in (getattr(value, source),)
        }

    return dump


# Loading without marshmallow's machinery, for the bodies every write takes -----------------------

# What a field takes as it is, by field type: the one JSON type whose values its ``_deserialize``
# gives back unchanged (a str; an int, which no bool is; a bool the field reads as itself).
_TAKEN_AS_IS: dict[type[fields.Field[Any]], type] = {
    fields.String: str,
    Text: str,
    fields.Integer: int,
    fields.Boolean: bool,
}


def _read_as_itself(field: Any, value: Any) -> bool:
    """Whether a ``Boolean`` field loads ``value`` as ``value`` (its ``_deserialize``'s reading)."""
    truthy = field.truthy
    if not truthy:
        return True  # read as ``bool(value)``
    if value in truthy:
        return value is True
    return value is False and value in field.falsy


def plain_loader(schema: Schema) -> Callable[[dict[str, Any], str], dict[str, Any] | None]:
    """A function that loads a JSON object as ``schema.load(data, unknown=...)`` would when that
    succeeds, several times faster, or answers None so that marshmallow loads it (and gives
    every error): for a field sent with a value its type does not take as it is (a nested body,
    a date, an int sent as "5"), a value a validator refuses, a required field absent, a null,
    an unknown field under ``RAISE``. A schema with hooks, or an option it does not follow, has
    no plain loading at all."""
    hooks = (PRE_LOAD, POST_LOAD, VALIDATES, VALIDATES_SCHEMA)
    if schema.many or schema.partial or any(schema._hooks[hook] for hook in hooks):
        return lambda _data, _unknown: None
    plan = []
    for name, field in schema.load_fields.items():
        key = field.attribute or name
        if "." in key or field.pre_load or field.post_load:  # set in nested dicts; processors
            return lambda _data, _unknown: None
        default = field.load_default
        plan.append(
            (
                field.data_key or name,
                key,
                field,
                _TAKEN_AS_IS.get(type(field)),
                tuple(field.validators),
                field.required,
                default,
                callable(default),
            )
        )
    known = frozenset(data_key for data_key, *_ in plan)

    def load(data: dict[str, Any], unknown: str) -> dict[str, Any] | None:
        if unknown != EXCLUDE and (unknown != RAISE or not known.issuperset(data)):
            return None  # an unknown field is refused (or INCLUDE asked): marshmallow says so
        loaded: dict[str, Any] = {}
        for data_key, key, field, taken, validators, required, default, made in plan:
            if data_key not in data:
                if required:
                    return None
                if default is not missing:
                    loaded[key] = default() if made else default
                continue
            value = data[data_key]
            if type(value) is not taken:
                return None
            if taken is bool and not _read_as_itself(field, value):
                return None
            try:
                for validator in validators:
                    validator(value)
            except ValidationError:
                return None
            loaded[key] = value
        return loaded

    return load
