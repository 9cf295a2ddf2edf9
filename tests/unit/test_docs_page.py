"""The offline API documentation page: complete, linked, escaped and free of outside resources."""

from html.parser import HTMLParser

import pytest

from api.docs_page import render_docs_page


def _json_body(schema_name: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}


def _spec() -> dict:
    """A small document shaped like flask-smorest's output for two blueprints."""
    error = {"$ref": "#/components/responses/DEFAULT_ERROR"}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Arbitration API", "version": "v1", "description": "Disputes & rulings."},
        "tags": [
            {"name": "disputes", "description": "File and follow disputes"},
            {"name": "decisions", "description": "Rulings by arbitrators"},
        ],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/v1/disputes/{dispute_id}/decisions": {
                "parameters": [
                    {
                        "in": "path",
                        "name": "dispute_id",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "post": {
                    "tags": ["decisions"],
                    "summary": "Decide a dispute.",
                    "description": "Only the assigned arbitrator may decide.",
                    "requestBody": {"required": True, "content": _json_body("DecisionIn")},
                    "responses": {
                        "201": {"description": "Created", "content": _json_body("DecisionOut")},
                        "default": error,
                    },
                },
            },
            "/v1/disputes": {
                "get": {
                    "tags": ["disputes"],
                    "summary": "List <b>disputes</b>.",
                    "parameters": [
                        {
                            "in": "query",
                            "name": "status",
                            "required": False,
                            "schema": {"type": "string", "enum": ["open", "decided"]},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/DisputeOut"},
                                    }
                                }
                            },
                        },
                        "default": error,
                    },
                    "security": [],
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "opaque"}
            },
            "responses": {
                "DEFAULT_ERROR": {
                    "description": "Default error response",
                    "content": _json_body("Error"),
                }
            },
            "schemas": {
                "Error": {"type": "object", "properties": {"message": {"type": "string"}}},
                "DecisionIn": {
                    "type": "object",
                    "required": ["outcome"],
                    "properties": {
                        "outcome": {"type": "string", "enum": ["refund_buyer", "release_seller"]},
                        "note": {"type": "string", "nullable": True, "description": "Why."},
                    },
                },
                "DecisionOut": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer", "readOnly": True},
                        "decided_at": {"type": "string", "format": "date-time"},
                    },
                },
                "DisputeOut": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer", "readOnly": True},
                        "decisions": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/DecisionOut"},
                        },
                        "latest": {
                            "anyOf": [
                                {"type": "object", "nullable": True},
                                {"$ref": "#/components/schemas/DecisionOut"},
                            ]
                        },
                    },
                },
            },
        },
    }


@pytest.fixture(scope="module")
def page() -> str:
    return render_docs_page(_spec())


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.fragment_links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.append(value)
            if name == "href" and value and value.startswith("#"):
                self.fragment_links.append(value[1:])


def _anchors(page: str) -> _Anchors:
    parser = _Anchors()
    parser.feed(page)
    return parser


def test_title_version_and_description_are_shown(page: str) -> None:
    assert "Arbitration API" in page
    assert "v1" in page
    assert "Disputes &amp; rulings." in page


def test_every_operation_path_and_summary_appears(page: str) -> None:
    assert "/v1/disputes/{dispute_id}/decisions" in page
    assert "Decide a dispute." in page
    assert "Only the assigned arbitrator may decide." in page
    assert "/v1/disputes</span>" in page
    assert "List &lt;b&gt;disputes&lt;/b&gt;." in page


def test_operations_are_grouped_by_tag_in_declared_order(page: str) -> None:
    disputes, decisions = page.index('id="tag-disputes"'), page.index('id="tag-decisions"')
    assert disputes < page.index("List &lt;b&gt;") < decisions < page.index("Decide a dispute.")


def test_referenced_schema_has_an_anchor_and_the_link_points_to_it(page: str) -> None:
    anchors = _anchors(page)
    assert "schema-DecisionIn" in anchors.ids
    assert "schema-DecisionIn" in anchors.fragment_links


def test_every_internal_link_has_a_target_and_ids_are_unique(page: str) -> None:
    anchors = _anchors(page)
    assert len(anchors.ids) == len(set(anchors.ids))
    assert set(anchors.fragment_links) <= set(anchors.ids)


def test_page_loads_nothing_from_outside(page: str) -> None:
    lowered = page.lower()
    for forbidden in ("<script", 'src="http', 'href="http', "@import", "url(", "<link"):
        assert forbidden not in lowered


def test_markup_in_the_spec_is_escaped(page: str) -> None:
    assert "<b>" not in page
    assert "&lt;b&gt;disputes&lt;/b&gt;" in page


def test_parameters_show_name_location_required_and_type(page: str) -> None:
    assert "<td><code>dispute_id</code></td><td>path</td><td>yes</td><td>integer</td>" in page
    assert "<td><code>status</code></td><td>query</td><td>no</td><td>string</td>" in page
    assert "one of <code>open</code>, <code>decided</code>" in page


def test_schemas_describe_arrays_enums_and_flags(page: str) -> None:
    assert 'array of <a href="#schema-DecisionOut"><code>DecisionOut</code></a>' in page
    assert "one of <code>refund_buyer</code>, <code>release_seller</code>" in page
    assert "string (date-time)" in page
    assert "read-only" in page
    assert "nullable" in page
    assert "<td><code>outcome</code></td>" in page


def test_response_refs_are_resolved(page: str) -> None:
    assert "Default error response" in page
    assert 'href="#schema-Error"' in page


def test_bearer_scheme_and_per_operation_security_are_documented(page: str) -> None:
    assert 'id="authentication"' in page
    assert "Authorization: Bearer &lt;token&gt;" in page
    assert "Bearer token (opaque)" in page
    assert "No authentication required." in page
    assert 'Requires <a href="#authentication"><code>bearerAuth</code></a>' in page


def test_spec_without_components_or_tags_still_renders() -> None:
    spec = {"info": {"title": "Bare"}, "paths": {"/ping": {"get": {"responses": {}}}}}
    page = render_docs_page(spec)
    assert 'id="tag-default"' in page
    assert "/ping" in page
