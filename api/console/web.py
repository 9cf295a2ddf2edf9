"""What every console page shares: the blueprint, who is signed in, forms, and refusals as pages.

The console is a browser's way into the same use cases the API calls: a page reads through
``api.context.read``, a form posts through ``api.context.perform``'s unit of work, and a refusal
(a ``DomainError``) becomes a message on the page, never a stack trace. The signed-in staff member
is the account behind the personal token they signed in with, looked up by the same
``authenticate`` as a bearer token on every request, so a revoked token ends the session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, abort, flash, g, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from marshmallow import Schema, ValidationError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from api.context import services
from arbitration.accounts import (
    ADMIN,
    ARBITRATOR,
    SENIOR_ARBITRATOR,
    STAFF_ROLES,
    TRUST_SAFETY,
    Caller,
    authenticate,
)
from arbitration.errors import DomainError, Unauthorized

blp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

LANGUAGES = ("en", "zh")  # English first: the default
SESSION_TOKEN = "console_token"
SESSION_LANGUAGE = "console_language"
View = TypeVar("View", bound=Callable[..., ResponseReturnValue])

ARBITRATORS = frozenset({ARBITRATOR, SENIOR_ARBITRATOR, ADMIN})
SENIORS = frozenset({SENIOR_ARBITRATOR, ADMIN})
TRUST = frozenset({TRUST_SAFETY, ADMIN})


class SignInRequired(Exception):
    """No session, or its token no longer signs anyone in."""


def staff() -> Caller:
    """The staff member signed in for this request (``SignInRequired`` otherwise)."""
    if "console_caller" not in g:
        token = session.get(SESSION_TOKEN)
        if not token:
            raise SignInRequired
        try:
            with services().database.lookup() as connection:
                who = authenticate(connection, token=token, on_behalf_of=None)
        except Unauthorized:
            session.pop(SESSION_TOKEN, None)
            raise SignInRequired from None
        if who.role not in STAFF_ROLES:
            session.pop(SESSION_TOKEN, None)
            raise SignInRequired
        g.console_caller = who
    return cast(Caller, g.console_caller)


def signed_in() -> Caller | None:
    try:
        return staff()
    except SignInRequired:
        return None


def for_roles(roles: frozenset[str]) -> Callable[[View], View]:
    """The page is for these roles: anyone else signed in gets a 403 page saying so."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            if staff().role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(View, guarded)

    return decorate


def now() -> datetime:
    return services().clock.now()


def page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    return render_template(template, who=signed_in(), **context), status


def done(message: str, endpoint: str, **values: Any) -> Response:
    """After a change: say what happened, and go where the next step is (post/redirect/get)."""
    flash(message, "success")
    return redirect(url_for(endpoint, **values))


# Forms ------------------------------------------------------------------------------------------


def form_values(form: MultiDict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields a person filled in: an empty field is a field left out, as in the API."""
    values: dict[str, Any] = {}
    for name in names:
        value = form.get(name, "").strip()
        if value:
            values[name] = value
    return values


def whole_number(values: dict[str, Any], name: str) -> None:
    """A number typed in a form is text; turn digits into the integer the schema expects."""
    text = values.get(name)
    if isinstance(text, str) and text.lstrip("-").isdigit():
        values[name] = int(text)


def load(schema: Schema, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The API's own schema on the form's fields: (what it loaded, errors by field)."""
    try:
        return schema.load(data), {}
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_form": error.messages}
        return {}, dict(messages)


def field_errors(details: Any) -> dict[str, Any]:
    """A refusal's details, as errors beside the fields they name (the API's ``details``)."""
    return dict(details) if isinstance(details, Mapping) else {}


def attempt(work: Callable[[Session], Any]) -> tuple[Any, DomainError | None]:
    """Run a change in one unit of work; a refusal comes back to be shown, nothing changed."""
    try:
        with services().database.unit_of_work() as db:
            return work(db), None
    except DomainError as refusal:
        return None, refusal


def read(work: Callable[[Session], Any]) -> Any:
    with services().database.unit_of_work(read_only=True) as db:
        return work(db)


def refusal_message(refusal: DomainError) -> str:
    return str(gettext("Refused: %(message)s", message=refusal.message))
