"""Signing in with a personal staff token, signing out, the language switch and the home page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from api.console.web import (
    ARBITRATORS,
    LANGUAGES,
    SENIORS,
    SESSION_LANGUAGE,
    SESSION_TOKEN,
    TRUST,
    blp,
    done,
    page,
    read,
    signed_in,
    staff,
)
from arbitration.accounts import STAFF_ROLES, authenticate
from arbitration.errors import Unauthorized

MAX_TOKEN_LENGTH = 200


def _home_of(role: str) -> str:
    if role in ARBITRATORS - SENIORS:
        return url_for("console.queue_page")
    if role in SENIORS:
        return url_for("console.senior_page")
    if role in TRUST:
        return url_for("console.pending_penalties")
    return url_for("console.queue_page")


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the console: never send someone off-site after signing in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return None
    return target


@blp.get("/")
def home() -> ResponseReturnValue:
    who = signed_in()
    if who is None:
        return redirect(url_for("console.sign_in"))
    return redirect(_home_of(who.role))


@blp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """A staff member pastes their personal token; buyers, sellers and the platform are refused."""
    next_page = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return page("sign_in.html", next_page=next_page, error=None)
    token = request.form.get("token", "").strip()[:MAX_TOKEN_LENGTH]
    try:
        who = read(lambda db: authenticate(db.connection(), token=token or None, on_behalf_of=None))
    except Unauthorized:
        error = gettext("That token is not valid.")
        return page("sign_in.html", 401, next_page=next_page, error=error)
    if who.role not in STAFF_ROLES:
        error = gettext("The console is for platform staff; this token belongs to a %(role)s.")
        return page("sign_in.html", 403, next_page=next_page, error=error % {"role": who.role})
    session.clear()  # a fresh session: nothing carried over from before signing in
    session[SESSION_TOKEN] = token
    session.permanent = False
    return done(
        gettext("Signed in as %(name)s.", name=who.account.display_name),
        "console.landing",
        next=next_page or _home_of(who.role),
    )


@blp.get("/landing")
def landing() -> ResponseReturnValue:
    staff()
    return redirect(_safe_next(request.args.get("next")) or url_for("console.home"))


@blp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    language = session.get(SESSION_LANGUAGE)
    session.clear()
    if language:
        session[SESSION_LANGUAGE] = language
    return done(gettext("Signed out."), "console.sign_in")


@blp.post("/language")
def switch_language() -> ResponseReturnValue:
    chosen = request.form.get("language")
    if chosen in LANGUAGES:
        session[SESSION_LANGUAGE] = chosen
    return redirect(_safe_next(request.form.get("next")) or url_for("console.home"))
