"""``api.contract.Blueprint``: ``alt_response`` documents a view as flask-smorest's does, without
the wrapper that only calls it."""

from __future__ import annotations

from typing import Any

import flask_smorest

from api.contract import Blueprint, documents_errors
from api.schemas.common import ErrorOut


def _documented(blp: Any, view: Any) -> Any:
    view = documents_errors(blp, 403, 409)(view)
    return blp.alt_response(200, schema=ErrorOut, success=True, description="done")(view)


def test_alt_response_returns_the_view_itself_with_flask_smorests_documentation() -> None:
    def view() -> str:
        return "answered"

    def their_view() -> str:
        return "answered"

    documented = _documented(Blueprint("ours", __name__), view)
    wrapped = _documented(flask_smorest.Blueprint("theirs", __name__), their_view)

    assert documented is view
    assert wrapped.__wrapped__.__wrapped__.__wrapped__ is their_view  # three layers that only call
    # The same documentation (each holds its own copy of the schema: compared as shown).
    assert repr(documented._apidoc) == repr(wrapped._apidoc)
    assert set(documented._apidoc["response"]["responses"]) == {200, 403, 409}
    assert documented._apidoc["success_status_codes"] == [200]
