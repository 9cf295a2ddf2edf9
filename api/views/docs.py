"""The API documentation page, rendered on the server so it works with no internet access."""

from __future__ import annotations

from flask import Response, current_app
from flask_smorest import Blueprint

from api.docs_page import render_docs_page

blp = Blueprint("docs", __name__, url_prefix="/v1", description="Documentation")


@blp.route("/docs", methods=["GET"])
@blp.doc(security=[])
def docs() -> Response:
    """This page: the OpenAPI document made readable."""
    spec = current_app.extensions["openapi_spec"].to_dict()
    return Response(render_docs_page(spec), mimetype="text/html")
