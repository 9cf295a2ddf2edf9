"""The API documentation page, rendered on the server so it works with no internet access."""

from __future__ import annotations

from flask import Response, current_app
from flask_smorest import Blueprint

from api.docs_page import render_docs_page

blp = Blueprint("docs", __name__, url_prefix="/v1", description="Documentation")

HTML_PAGE = {
    "description": "the page, as HTML",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


@blp.route("/docs", methods=["GET"])
@blp.doc(security=[], responses={"200": HTML_PAGE})
def docs() -> Response:
    """This page: the OpenAPI document made readable."""
    spec = current_app.extensions["openapi_spec"].to_dict()
    return Response(render_docs_page(spec), mimetype="text/html")
