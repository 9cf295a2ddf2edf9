"""The API documentation page: Swagger UI, served by the engine itself so it works offline.

Swagger UI's files come from the ``flask-swagger-ui`` package on PyPI (its ``dist`` folder) and are
served from ``/v1/docs/assets/``; the page references nothing outside the engine. The OpenAPI
document it renders is ``/v1/openapi.json`` (with the webhook payloads under ``webhooks``).
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint as FlaskBlueprint
from flask import Response, send_from_directory, url_for

from api.contract import Blueprint

blp = Blueprint("docs", __name__, url_prefix="/v1", description="Documentation")
# Swagger UI's own files: not API operations, so kept out of the OpenAPI document.
assets = FlaskBlueprint("docs_assets", __name__, url_prefix="/v1/docs")

SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
SWAGGER_UI_VERSION = (SWAGGER_UI_DIST / "VERSION").read_text().strip()
# The endpoints anyone may call without a token (api.app).
PUBLIC_ENDPOINTS = frozenset({"docs.docs", "docs_assets.asset", "docs_assets.initializer"})
ASSET_MAX_AGE = 24 * 3600

HTML_PAGE = {
    "description": "the page, as HTML",
    "content": {"text/html": {"schema": {"type": "string"}}},
}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dispute arbitration engine: API</title>
<link rel="stylesheet" href="{css}">
<link rel="icon" type="image/png" href="{icon}" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{bundle}"></script>
<script src="{initializer}"></script>
</body>
</html>
"""

# validatorUrl null: Swagger UI would otherwise send the document to an online validator.
INITIALIZER = """window.ui = SwaggerUIBundle({{
  url: {spec_url},
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
}});
"""


@blp.route("/docs", methods=["GET"])
@blp.doc(security=[], responses={"200": HTML_PAGE})
def docs() -> Response:
    """This page: the OpenAPI document in Swagger UI, served offline by the engine."""
    page = PAGE.format(
        css=url_for("docs_assets.asset", filename="swagger-ui.css"),
        icon=url_for("docs_assets.asset", filename="favicon-32x32.png"),
        bundle=url_for("docs_assets.asset", filename="swagger-ui-bundle.js"),
        initializer=url_for("docs_assets.initializer"),
    )
    return Response(page, mimetype="text/html")


@assets.get("/init.js")
def initializer() -> Response:
    spec_url = url_for("api-docs.openapi_json")
    return Response(INITIALIZER.format(spec_url=f'"{spec_url}"'), mimetype="text/javascript")


@assets.get("/assets/<path:filename>")
def asset(filename: str) -> Response:
    """One of Swagger UI's files (``send_from_directory`` refuses paths leading outside)."""
    return send_from_directory(SWAGGER_UI_DIST, filename, max_age=ASSET_MAX_AGE)
