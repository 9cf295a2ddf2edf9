"""The error shape for requests the views never see, and the self-describing API (DESIGN §9)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.assertions import assert_error
from tests.support.world import World

# The actions of DESIGN §9, each a `POST /v1/disputes/{id}/{action}` once it is built.
DESIGN_ACTIONS = (
    "accept",
    "reject",
    "offer",
    "accept-offer",
    "modify",
    "withdraw",
    "escalate",
    "ship-return",
    "confirm-return",
    "dispute-return",
    "request-extension",
    "evidence-done",
    "claim",
    "request-info",
    "decide",
    "appeal",
    "appeal-decision",
)
# The parties' actions of DESIGN §1, routed since the first API slice.
PARTY_ACTIONS = DESIGN_ACTIONS[:12]

CORE_OPERATIONS = {
    ("/v1/accounts/{account_id}", "put"),
    ("/v1/accounts/{account_id}", "get"),
    ("/v1/accounts/{account_id}/tokens", "post"),
    ("/v1/orders/{order_id}", "put"),
    ("/v1/orders/{order_id}", "get"),
    ("/v1/disputes", "get"),
    ("/v1/disputes", "post"),
    ("/v1/disputes/{dispute_id}", "get"),
    ("/v1/disputes/{dispute_id}/events", "get"),
}


def routed_paths(app: Flask) -> set[tuple[str, str]]:
    """(OpenAPI path, method) for every URL rule the app serves under /v1."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/") or rule.rule == "/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operations.add((path, method.lower()))
    return operations


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    return response.json


# Malformed and unexpected bodies ---------------------------------------------------------------


@pytest.mark.parametrize("raw", ['{"role": "buyer",', "not json", "{'role': 'buyer'}"])
def test_malformed_json_is_a_400(world: World, raw: str) -> None:
    response = world.call(
        "platform", "PUT", "/v1/accounts/mkt-1", data=raw, content_type="application/json"
    )

    assert_error(response, 400, "malformed_json")
    assert_error(world.call("platform", "GET", "/v1/accounts/mkt-1"), 404, "not_found")


def test_malformed_json_filing_a_dispute_is_a_400_and_files_nothing(world: World) -> None:
    buyer, _seller, order_id = world.parties()

    response = world.call(
        buyer,
        "POST",
        "/v1/disputes",
        data=f'{{"order_id": "{order_id}", "reason": ',
        content_type="application/json",
    )

    assert_error(response, 400, "malformed_json")
    assert world.call(buyer, "GET", "/v1/disputes").json["data"] == []


def test_malformed_json_on_an_action_is_a_400_and_changes_nothing(world: World) -> None:
    dispute, _buyer, seller = world.dispute()

    response = world.call(
        seller,
        "POST",
        f"/v1/disputes/{dispute['id']}/reject",
        data='{"reason": "no"',
        content_type="application/json",
    )

    assert_error(response, 400, "malformed_json")
    assert world.read(seller, dispute["id"])["status"] == "awaiting_seller"


def test_an_unknown_field_in_an_account_is_refused_naming_it(world: World) -> None:
    body = {"role": "buyer", "display_name": "Ada", "is_admin": True}

    response = world.call("platform", "PUT", "/v1/accounts/mkt-2", json=body)

    details = assert_error(response, 422, "validation_failed")
    assert "is_admin" in details
    assert_error(world.call("platform", "GET", "/v1/accounts/mkt-2"), 404, "not_found")


def test_an_unknown_field_in_an_order_is_refused_naming_it(world: World) -> None:
    buyer, seller = world.account("buyer"), world.account("seller")
    body = {
        "buyer_id": buyer,
        "seller_id": seller,
        "amount": 1_000,
        "currency": "USD",
        "status": "paid",
        "discount": 100,
    }

    response = world.call("platform", "PUT", "/v1/orders/ord-x", json=body)

    details = assert_error(response, 422, "validation_failed")
    assert "discount" in details
    assert_error(world.call("platform", "GET", "/v1/orders/ord-x"), 404, "not_found")


def test_an_unknown_field_in_an_order_line_is_refused_naming_the_line(world: World) -> None:
    buyer, seller = world.account("buyer"), world.account("seller")
    line = {"listing_id": "l", "title": "T", "quantity": 1, "unit_price": 1, "colour": "red"}
    body = {
        "buyer_id": buyer,
        "seller_id": seller,
        "amount": 1_000,
        "currency": "USD",
        "status": "paid",
        "items": [line],
    }

    response = world.call("platform", "PUT", "/v1/orders/ord-y", json=body)

    details = assert_error(response, 422, "validation_failed")
    assert "colour" in str(details["items"])
    assert_error(world.call("platform", "GET", "/v1/orders/ord-y"), 404, "not_found")


def test_an_unknown_field_filing_a_dispute_is_refused_naming_it(world: World) -> None:
    buyer, _seller, order_id = world.parties()
    body = {
        "order_id": order_id,
        "reason": "damaged",
        "remedy": "refund_only",
        "amount": 1_000,
        "priority": "urgent",
    }

    response = world.call(buyer, "POST", "/v1/disputes", json=body)

    details = assert_error(response, 422, "validation_failed")
    assert "priority" in details
    assert world.call(buyer, "GET", "/v1/disputes").json["data"] == []


def test_an_unknown_field_on_an_action_is_refused_and_changes_nothing(world: World) -> None:
    dispute, _buyer, seller = world.dispute()

    response = world.act(seller, dispute["id"], "accept", refund=99_999)

    details = assert_error(response, 422, "validation_failed")
    assert "refund" in details
    assert world.read(seller, dispute["id"])["status"] == "awaiting_seller"


def test_a_body_that_is_not_an_object_is_refused(world: World) -> None:
    response = world.call("platform", "PUT", "/v1/accounts/mkt-3", json=["buyer", "Ada"])

    assert_error(response, 422, "validation_failed")
    assert_error(world.call("platform", "GET", "/v1/accounts/mkt-3"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/v1/accounts/mkt-4"), ("PUT", "/v1/orders/ord-z")],
)
def test_authentication_comes_before_body_validation(
    client: FlaskClient, method: str, path: str
) -> None:
    """A caller without a token learns nothing about what a valid body looks like."""
    response = client.open(path, method=method, json={"unexpected": True})

    assert_error(response, 401, "unauthorized")


# Routing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/nowhere", "/v2/disputes", "/nowhere", "/v1/disputes/x/y/z"])
def test_an_unknown_route_is_a_404_in_the_error_shape(client: FlaskClient, path: str) -> None:
    assert_error(client.get(path), 404, "not_found")


def test_an_unknown_action_is_a_404_in_the_error_shape(world: World) -> None:
    dispute, _buyer, seller = world.dispute()

    response = world.act(seller, dispute["id"], "refund-everything")

    assert_error(response, 404, "not_found")
    assert world.read(seller, dispute["id"])["status"] == "awaiting_seller"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/orders/ord-1"),
        ("POST", "/v1/orders/ord-1"),
        ("PATCH", "/v1/accounts/acc-1"),
        ("GET", "/v1/accounts/acc-1/tokens"),
        ("PUT", "/v1/disputes"),
        ("GET", "/v1/disputes/dsp-1/accept"),
        ("POST", "/v1/openapi.json"),
    ],
)
def test_a_wrong_method_is_a_405_in_the_error_shape(world: World, method: str, path: str) -> None:
    response = world.call("platform", method, path)

    assert_error(response, 405, "method_not_allowed")


def test_a_405_says_which_methods_are_allowed(world: World) -> None:
    """RFC 9110 §15.5.6: a 405 carries `Allow`, even in our own error shape."""
    response = world.call("platform", "DELETE", "/v1/orders/ord-1")

    assert_error(response, 405, "method_not_allowed")
    allowed = {method.strip() for method in response.headers.get("Allow", "").split(",")}
    assert {"GET", "PUT"} <= allowed


def test_a_wrong_method_changes_nothing(world: World) -> None:
    _buyer, _seller, order_id = world.parties()
    before = world.call("platform", "GET", f"/v1/orders/{order_id}").json

    assert_error(world.call("platform", "DELETE", f"/v1/orders/{order_id}"), 405)
    assert world.call("platform", "GET", f"/v1/orders/{order_id}").json == before


# OpenAPI ----------------------------------------------------------------------------------------


def test_the_openapi_document_needs_no_token(client: FlaskClient) -> None:
    response = client.get("/v1/openapi.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json["openapi"].startswith("3.")


def test_the_openapi_document_lists_the_core_routes(spec: dict[str, Any]) -> None:
    listed = {(path, method) for path, item in spec["paths"].items() for method in item}

    assert listed >= CORE_OPERATIONS


def test_the_openapi_document_lists_every_party_action(spec: dict[str, Any]) -> None:
    for action in PARTY_ACTIONS:
        assert "post" in spec["paths"].get(f"/v1/disputes/{{dispute_id}}/{action}", {}), action


def test_the_openapi_document_lists_every_design_route_that_is_served(
    app: Flask, spec: dict[str, Any]
) -> None:
    """Whatever DESIGN §9 route exists so far is documented, including later actions."""
    listed = {(path, method) for path, item in spec["paths"].items() for method in item}
    served = routed_paths(app)
    design_actions = {
        (f"/v1/disputes/{{dispute_id}}/{action}", "post") for action in DESIGN_ACTIONS
    }

    assert served >= CORE_OPERATIONS
    assert (served & (CORE_OPERATIONS | design_actions)) <= listed
    # The docs page and Swagger UI's files are documented (the page) or not operations (files).
    docs = {(path, method) for path, method in served if path.startswith("/v1/docs")}
    assert served - docs <= listed


def test_the_openapi_document_declares_bearer_security(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    bearer = [name for name, scheme in schemes.items() if scheme.get("scheme") == "bearer"]

    assert bearer, schemes
    assert schemes[bearer[0]]["type"] == "http"
    assert {bearer[0]: []} in spec["security"]


def test_the_openapi_document_names_path_parameters(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        declared = {
            parameter["name"]
            for parameter in item.get("parameters", [])
            if parameter.get("in") == "path"
        }
        for method, operation in item.items():
            if method == "parameters":
                continue
            declared_here = declared | {
                parameter["name"]
                for parameter in operation.get("parameters", [])
                if parameter.get("in") == "path"
            }
            assert names <= declared_here, (path, method)


# The documentation page --------------------------------------------------------------------------


def test_the_docs_page_is_html_that_needs_no_token(client: FlaskClient) -> None:
    response = client.get("/v1/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.get_data(as_text=True).lstrip().lower().startswith("<!doctype html>")


def _references(text: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", text, re.IGNORECASE)


def test_the_docs_page_is_swagger_ui_served_by_the_engine(client: FlaskClient) -> None:
    """Every file the page loads is the engine's own and is served: it works with no internet."""
    page = client.get("/v1/docs").get_data(as_text=True)
    references = _references(page)

    assert any(ref.endswith("swagger-ui-bundle.js") for ref in references), references
    for reference in references:
        assert reference.startswith("/"), reference  # nothing from another host
        response = client.get(reference)
        assert response.status_code == 200, reference
        if reference.endswith(".css"):
            css = response.get_data(as_text=True)
            assert "@import" not in css
            # Fonts and images of the stylesheet are inline (data: URIs), never fetched.
            assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", css, re.IGNORECASE)


def test_swagger_ui_renders_the_engines_openapi_document_and_validates_nothing_online(
    client: FlaskClient,
) -> None:
    page = client.get("/v1/docs").get_data(as_text=True)
    scripts = [ref for ref in _references(page) if ref.endswith(".js")]
    initializer = client.get(scripts[-1]).get_data(as_text=True)

    assert 'url: "/v1/openapi.json"' in initializer
    assert "validatorUrl: null" in initializer
    assert client.get("/v1/openapi.json").status_code == 200


def test_swagger_ui_files_outside_its_folder_are_not_served(client: FlaskClient) -> None:
    for path in ("/v1/docs/assets/../../../../etc/passwd", "/v1/docs/assets/%2e%2e/app.py"):
        assert client.get(path).status_code == 404, path


def test_the_webhook_payloads_are_documented(spec: dict[str, Any]) -> None:
    envelope = spec["components"]["schemas"]["WebhookEvent"]
    assert set(envelope["required"]) >= {"id", "type", "created_at", "data"}
    for event_type in ("dispute.created", "dispute.updated", "feedback.requested"):
        operation = spec["webhooks"][event_type]["post"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert "Arbitration-Signature" in headers
        assert operation["requestBody"]["content"]["application/json"]["schema"]


def test_the_root_leads_to_the_docs(client: FlaskClient) -> None:
    response = client.get("/")

    assert response.status_code in (301, 302, 303, 307, 308)
    assert response.headers["Location"].endswith("/v1/docs")
