"""What /v1/openapi.json promises: the edge's statuses and headers, enums, required fields, nulls."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    return client.get("/v1/openapi.json").json


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item
    ]


def _parameter_names(spec: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    names = set()
    for parameter in operation.get("parameters", []):
        if "$ref" in parameter:
            parameter = spec["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        names.add(parameter["name"])
    return names


def test_the_document_is_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"


def test_every_authenticated_operation_documents_401_503_and_on_behalf_of(
    spec: dict[str, Any],
) -> None:
    for path, method, operation in operations(spec):
        if operation.get("security") == []:
            continue
        assert {"401", "503"} <= set(operation["responses"]), (path, method)
        assert "On-Behalf-Of" in _parameter_names(spec, operation), (path, method)


def test_every_write_documents_the_edges_refusals_and_idempotency_key(
    spec: dict[str, Any],
) -> None:
    writes = [op for op in operations(spec) if op[1] != "get"]
    assert writes
    for path, method, operation in writes:
        assert {"400", "413", "415"} <= set(operation["responses"]), (path, method)
        assert "Idempotency-Key" in _parameter_names(spec, operation), (path, method)


def test_error_responses_use_the_error_shape(spec: dict[str, Any]) -> None:
    for status in ("400", "401", "413", "415", "503"):
        response = spec["components"]["responses"][f"Error{status}"]
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorOut"}
    assert "Retry-After" in spec["components"]["responses"]["Error503"]["headers"]


def test_output_schemas_list_every_property_as_required(spec: dict[str, Any]) -> None:
    outputs = {
        name: schema
        for name, schema in spec["components"]["schemas"].items()
        if name.endswith("Out") or name == "ErrorBody"
    }
    assert {"DisputeOut", "OrderOut", "AccountOut", "ErrorOut"} <= set(outputs)
    for name, schema in outputs.items():
        assert set(schema.get("required", [])) == set(schema["properties"]), name


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ("DisputeOut", "status"),
        ("DisputeOut", "reason"),
        ("DisputeOut", "remedy"),
        ("DisputeOut", "channel"),
        ("DisputeOut", "priority"),
        ("DisputeOut", "category"),
        ("DisputeOut", "scope"),
        ("OrderOut", "status"),
        ("AccountOut", "role"),
        ("DeadlineOut", "action"),
    ],
)
def test_enumerated_values_are_enums(spec: dict[str, Any], schema: str, field: str) -> None:
    assert spec["components"]["schemas"][schema]["properties"][field]["enum"]


@pytest.mark.parametrize("field", ["awaiting", "outcome"])
def test_a_nullable_enum_is_an_enum_or_null(spec: dict[str, Any], field: str) -> None:
    prop = spec["components"]["schemas"]["DisputeOut"]["properties"][field]

    enum, null = prop["anyOf"]
    assert enum["type"] == "string" and enum["enum"] and None not in enum["enum"]
    assert null == {"type": "null"}


@pytest.mark.parametrize(
    ("field", "target"),
    [
        ("deadline", "DeadlineOut"),
        ("refund", "RefundOut"),
        ("pending_offer", "OfferOut"),
        ("return_shipment", "ReturnShipmentOut"),
    ],
)
def test_a_nullable_nested_object_is_its_schema_or_null(
    spec: dict[str, Any], field: str, target: str
) -> None:
    prop = spec["components"]["schemas"]["DisputeOut"]["properties"][field]

    assert prop["anyOf"] == [{"$ref": f"#/components/schemas/{target}"}, {"type": "null"}]


def test_the_docs_page_is_documented_as_html(spec: dict[str, Any]) -> None:
    content = spec["paths"]["/v1/docs"]["get"]["responses"]["200"]["content"]

    assert list(content) == ["text/html"]


def test_input_strings_and_numbers_are_bounded(spec: dict[str, Any]) -> None:
    """Every string a caller sends has a maximum length (or an enum), every integer a maximum."""
    inputs = {
        name: schema
        for name, schema in spec["components"]["schemas"].items()
        if name.endswith("In") and "properties" in schema
    }
    assert inputs
    for name, schema in inputs.items():
        for field, prop in schema["properties"].items():
            kinds = prop.get("type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            if "string" in kinds and "format" not in prop:
                assert "maxLength" in prop or "enum" in prop or "pattern" in prop, (name, field)
            if "integer" in kinds:
                assert "maximum" in prop, (name, field)
            if "array" in kinds:
                assert "maxItems" in prop, (name, field)
