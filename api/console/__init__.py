"""The staff console (issue 12): arbitrators, senior arbitrators and trust & safety in a browser.

Server-rendered pages under ``/console`` over the same use cases as the API. ``install_console``
adds them to an app: the session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) signed with
``ARBITRATION_SECRET_KEY``, CSRF protection on every form (Flask-WTF), and the language (Flask-Babel:
English and Chinese, from the browser or the switch on every page). Flask-Babel serves the API too:
penalty explanations follow ``Accept-Language``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_babel import Babel, format_datetime, gettext
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import HTTPException

from api.console import arbitrator, dashboard, senior, signin, trust
from api.console.web import LANGUAGES, SESSION_LANGUAGE, SignInRequired, blp, page
from api.console.words import label, shown
from api.edge import accepts_multipart
from api.errors import STATUS_OF
from arbitration.errors import DomainError

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
_ = (arbitrator, dashboard, senior, signin, trust)  # their routes are on ``blp``

csrf = CSRFProtect()


class ConsoleSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def select_language() -> str:
    """The language chosen with the switch, else the browser's (``Accept-Language``), else English."""
    chosen = session.get(SESSION_LANGUAGE)
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def install_console(app: Flask, *, secret_key: str | None, max_form_body: int) -> None:
    """Add the console to ``app``; without a secret key its pages say how to configure one."""
    if secret_key:
        app.secret_key = secret_key
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/console",
        WTF_CSRF_CHECK_DEFAULT=False,  # the API takes bearer tokens; only console forms need it
        WTF_CSRF_TIME_LIMIT=None,  # as long as the session: a ruling can take a while to write
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        BABEL_DEFAULT_LOCALE=LANGUAGES[0],
    )
    app.session_interface = ConsoleSessions()
    csrf.init_app(app)
    Babel(app, locale_selector=select_language)
    app.register_blueprint(blp)
    # The edge takes JSON, or multipart on views marked so: every console form posts multipart.
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith(f"{blp.name}.") and endpoint != f"{blp.name}.static":
            accepts_multipart(max_form_body)(view)


@blp.before_request
def protect_forms() -> ResponseReturnValue | None:
    if not current_app.secret_key:
        return page("unavailable.html", 503)
    if request.method == "POST":
        csrf.protect()
    return None


@blp.app_template_global()
def csrf_token() -> str:
    return str(generate_csrf())


@blp.app_template_filter("when")
def when(moment: datetime | None) -> str:
    return format_datetime(moment, "yyyy-MM-dd HH:mm") if moment else "—"


blp.add_app_template_filter(label, "label")
blp.add_app_template_filter(shown, "shown")


@blp.app_template_filter("money")
def money(amount: int | None, currency: str = "") -> str:
    if amount is None:
        return "—"
    return f"{amount / 100:,.2f} {currency}".strip()


@blp.app_context_processor
def shared() -> dict[str, Any]:
    return {"languages": LANGUAGES, "language": select_language() if request else "en"}


# Refusals as pages ------------------------------------------------------------------------------


@blp.errorhandler(SignInRequired)
def sign_in_first(_error: SignInRequired) -> ResponseReturnValue:
    return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))


@blp.errorhandler(CSRFError)
def csrf_refused(error: CSRFError) -> ResponseReturnValue:
    return page(
        "message.html",
        400,
        title=gettext("The form expired"),
        message=gettext(
            "The form was refused because it did not carry a valid security token. "
            "Reload the page and try again."
        ),
        detail=error.description,
    )


@blp.errorhandler(DomainError)
def refused(error: DomainError) -> ResponseReturnValue:
    status = next(code for kind, code in STATUS_OF.items() if isinstance(error, kind))
    title = gettext("Not found") if status == 404 else gettext("Refused")
    return page("message.html", status, title=title, message=error.message, detail=None)


@blp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    if status == 404:
        return not_found()
    if status == 403:
        message = gettext("Your role cannot open this page.")
        return page("message.html", 403, title=gettext("Not for you"), message=message, detail=None)
    return page(
        "message.html", status, title=str(status), message=error.description or "", detail=None
    )


@blp.errorhandler(Exception)
def unexpected(error: Exception) -> ResponseReturnValue:
    current_app.logger.exception("console page failed", exc_info=error)
    message = gettext("Something went wrong on our side; nothing was changed. Try again.")
    return page("message.html", 500, title=gettext("Error"), message=message, detail=None)


@blp.route("/<path:_anything>")
def not_found(_anything: str = "") -> ResponseReturnValue:
    return page("not_found.html", 404, path=request.path)
