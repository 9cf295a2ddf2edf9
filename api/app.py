"""The application factory: one engine, one policy, one clock, the blueprints and the error shape."""

from __future__ import annotations

from collections.abc import Callable
from inspect import CO_COROUTINE
from types import FunctionType
from typing import Any

from flask import Flask, redirect, request
from flask.json.provider import DefaultJSONProvider
from flask.typing import ResponseReturnValue
from flask.wrappers import Response as FlaskResponse
from flask_smorest import Api
from werkzeug.wrappers import Response

from api.config import Config
from api.console import install_console
from api.context import EXTENSION_KEY, caller, close_request_work
from api.contract import OPENAPI_VERSION, ContractPlugin
from api.edge import install_edge
from api.errors import register_error_handlers
from api.schemas.common import ErrorOut
from api.views import (
    accounts,
    buyers,
    disputes,
    docs,
    evidence,
    orders,
    penalties,
    public,
    queue,
    recoveries,
    reports,
)
from api.views import audit as audit_views
from api.views import webhooks as webhook_views
from api.webhooks_doc import document_webhooks
from api.wiring import build
from arbitration import json_text

API_DESCRIPTION = """\
Refund disputes between buyers and sellers, settled by the parties or ruled by the platform.
Send `Authorization: Bearer <token>`. Money is integer minor units; times are ISO 8601 UTC.
Errors are `{"error": {"code", "message", "details"}}`. POSTs accept `Idempotency-Key`.
"""


# Endpoints anyone may call without a token.
PUBLIC_ENDPOINTS = frozenset(
    {"index", "static", "api-docs.openapi_json", "docs.docs", "audit.public_key"}
)
PUBLIC_ENDPOINTS |= public.PUBLIC_ENDPOINTS | docs.PUBLIC_ENDPOINTS


class EngineJSONProvider(DefaultJSONProvider):
    """Flask's, writing with ``arbitration.json_text`` (orjson) whatever it writes compact and
    unsorted (every answer of the API); an indented or sorted document goes to Flask's own."""

    sort_keys = False  # keep the schemas' field order

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs.get("indent") is None and not kwargs.get("sort_keys", self.sort_keys):
            return json_text.dumps(obj, default=kwargs.get("default", self.default))
        return super().dumps(obj, **kwargs)


class EngineFlask(Flask):
    """Flask, asking a plain function directly whether it is a coroutine function.

    Flask asks before every hook, view and error handler it calls, and flask-smorest before every
    decorator layer of a view: a dozen times a request, nine calls each through ``inspect``.
    """

    json_provider_class = EngineJSONProvider

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        # What ``inspect.iscoroutinefunction`` concludes for a plain function (3.12 also honours
        # ``inspect.markcoroutinefunction``'s marker); methods and partials go the long way.
        if (
            func.__class__ is FunctionType
            and not func.__code__.co_flags & CO_COROUTINE
            and "_is_coroutine_marker" not in func.__dict__
        ):
            return func
        return super().ensure_sync(func)

    def make_response(self, rv: ResponseReturnValue) -> FlaskResponse:
        """Flask's, with what our views answer, a JSON object or list and a status code, made in
        one step: the status given to the response as it is built rather than set again after,
        the bytes as the JSON provider writes a compact response (20-odd calls fewer a
        request). The same bytes, status line and headers; anything else goes to Flask."""
        if type(rv) is tuple and len(rv) == 2:
            body, status = rv
            provider = self.json
            if (
                type(status) is int
                and type(body) in (dict, list)
                and isinstance(provider, EngineJSONProvider)
                and not provider.sort_keys
                and (provider.compact or (provider.compact is None and not self.debug))
            ):
                data = json_text.dumps_bytes(body, default=provider.default) + b"\n"
                return self.response_class(data, status=status, mimetype=provider.mimetype)
        return super().make_response(rv)


class EngineApi(Api):
    """flask-smorest, documenting our error shape instead of its own."""

    ERROR_SCHEMA = ErrorOut


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    app = EngineFlask(__name__)
    app.config.update(
        TESTING=config.testing,
        API_TITLE="Dispute arbitration engine",
        API_VERSION="v1",
        OPENAPI_VERSION=OPENAPI_VERSION,
        OPENAPI_URL_PREFIX="/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": API_DESCRIPTION},
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    app.extensions[EXTENSION_KEY] = build(config)
    api = EngineApi(app, spec_kwargs={"extra_plugins": [ContractPlugin()]})
    app.extensions["openapi_spec"] = api.spec
    document_webhooks(api.spec)
    for module in (accounts, orders, disputes, queue, evidence, penalties, docs, reports, public):
        api.register_blueprint(module.blp)
    app.register_blueprint(docs.assets)
    for module in (recoveries, buyers):  # fairness both ways (DESIGN §5a)
        api.register_blueprint(module.blp)
    for module in (webhook_views, audit_views):
        api.register_blueprint(module.blp)
    register_error_handlers(app)
    # The staff console, under /console; its forms are capped like JSON bodies.
    install_console(
        app, secret_key=config.secret_key, max_form_body=config.policy.limits.max_json_body
    )
    install_edge(app, max_json_body=config.policy.limits.max_json_body)

    @app.before_request
    def authenticate_first() -> None:
        """Who is asking comes before what they sent: no token is a 401, whatever the body."""
        endpoint = request.endpoint  # once: each use of the proxy costs a look-up
        # The console signs people in with its own cookie (api.console), not a bearer token: its
        # endpoints are those of the "console" blueprint (what ``request.blueprint`` would say).
        if (
            endpoint
            and endpoint not in PUBLIC_ENDPOINTS
            and endpoint.rpartition(".")[0] != "console"
        ):
            caller()

    app.teardown_request(close_request_work)

    @app.get("/")
    def index() -> Response:
        return redirect("/v1/docs")

    return app
