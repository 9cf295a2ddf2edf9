"""Accounts over HTTP: provisioning, reading, personal tokens and acting On-Behalf-Of (DESIGN §9)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from arbitration.models import ApiToken
from tests.support.assertions import assert_error
from tests.support.world import World

STAFF_ROLES = ("arbitrator", "senior_arbitrator", "trust_safety", "admin")


def token_count(app: Flask, account_id: str) -> int:
    """How many tokens the account holds (a refusal must not have issued one)."""
    with app.extensions["arbitration"].database.unit_of_work(read_only=True) as session:
        return session.scalar(
            select(func.count()).select_from(ApiToken).where(ApiToken.account_id == account_id)
        )


def put_account(world: World, who: str, account_id: str, **body: Any) -> TestResponse:
    return world.call(who, "PUT", f"/v1/accounts/{account_id}", json=body)


def read_account(world: World, who: str, account_id: str) -> TestResponse:
    return world.call(who, "GET", f"/v1/accounts/{account_id}")


# PUT /v1/accounts/{id} ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["buyer", "seller"])
def test_platform_creates_a_party_account_under_the_marketplace_id(world: World, role: str) -> None:
    response = put_account(world, "platform", "mkt-user-1", role=role, display_name="Ada")

    assert response.status_code == 201, response.json
    assert response.json["id"] == "mkt-user-1"
    assert response.json["role"] == role
    assert response.json["display_name"] == "Ada"
    stored = read_account(world, "platform", "mkt-user-1")
    assert stored.status_code == 200
    assert stored.json["role"] == role
    assert stored.json["display_name"] == "Ada"


def test_putting_an_existing_account_again_renames_it_with_200(world: World) -> None:
    put_account(world, "platform", "mkt-user-2", role="buyer", display_name="Ada")

    response = put_account(world, "platform", "mkt-user-2", role="buyer", display_name="Ada L.")

    assert response.status_code == 200, response.json
    assert response.json["display_name"] == "Ada L."
    assert read_account(world, "platform", "mkt-user-2").json["display_name"] == "Ada L."


@pytest.mark.parametrize("role", [*STAFF_ROLES, "platform"])
def test_platform_may_not_create_staff_or_platform_accounts(world: World, role: str) -> None:
    admin = world.account("admin")

    response = put_account(world, "platform", "staff-x", role=role, display_name="Sneaky")

    assert_error(response, 403, "forbidden")
    assert_error(read_account(world, admin, "staff-x"), 404, "not_found")


def test_platform_may_not_rename_a_staff_account(world: World) -> None:
    arbitrator = world.account("arbitrator")
    admin = world.account("admin")
    before = read_account(world, admin, arbitrator).json

    as_staff = put_account(world, "platform", arbitrator, role="arbitrator", display_name="X")
    as_buyer = put_account(world, "platform", arbitrator, role="buyer", display_name="X")

    assert_error(as_staff, 403, "forbidden")
    assert_error(as_buyer, 403, "forbidden")
    assert read_account(world, admin, arbitrator).json == before


def test_admin_creates_an_arbitrator(world: World) -> None:
    admin = world.account("admin")

    response = put_account(world, admin, "arb-jane", role="arbitrator", display_name="Jane")

    assert response.status_code == 201, response.json
    assert response.json["role"] == "arbitrator"
    assert read_account(world, admin, "arb-jane").json["display_name"] == "Jane"


def test_changing_an_accounts_role_is_refused_and_changes_nothing(world: World) -> None:
    put_account(world, "platform", "mkt-user-3", role="buyer", display_name="Ada")

    response = put_account(world, "platform", "mkt-user-3", role="seller", display_name="Shop")

    details = assert_error(response, 422, "validation_failed")
    assert "role" in details
    stored = read_account(world, "platform", "mkt-user-3").json
    assert stored["role"] == "buyer"
    assert stored["display_name"] == "Ada"


def test_an_unknown_role_is_refused_naming_the_field(world: World) -> None:
    response = put_account(world, "platform", "mkt-user-4", role="wizard", display_name="Merlin")

    details = assert_error(response, 422, "validation_failed")
    assert "role" in details
    assert_error(read_account(world, "platform", "mkt-user-4"), 404, "not_found")


@pytest.mark.parametrize(
    "body",
    [{"role": "buyer"}, {"role": "buyer", "display_name": ""}],
    ids=["missing", "empty"],
)
def test_an_account_needs_a_display_name(world: World, body: dict[str, Any]) -> None:
    response = put_account(world, "platform", "mkt-user-5", **body)

    details = assert_error(response, 422, "validation_failed")
    assert "display_name" in details
    assert_error(read_account(world, "platform", "mkt-user-5"), 404, "not_found")


def test_an_account_needs_a_role(world: World) -> None:
    response = put_account(world, "platform", "mkt-user-6", display_name="Ada")

    details = assert_error(response, 422, "validation_failed")
    assert "role" in details
    assert_error(read_account(world, "platform", "mkt-user-6"), 404, "not_found")


@pytest.mark.parametrize("role", ["buyer", "seller", "arbitrator", "trust_safety"])
def test_only_the_platform_and_admins_provision_accounts(world: World, role: str) -> None:
    someone = world.account(role)

    response = put_account(world, someone, "mkt-user-7", role="buyer", display_name="Ada")

    assert_error(response, 403, "forbidden")
    assert_error(read_account(world, "platform", "mkt-user-7"), 404, "not_found")


def test_a_buyer_may_not_rename_itself_through_the_provisioning_endpoint(world: World) -> None:
    buyer = world.account("buyer")
    before = read_account(world, buyer, buyer).json

    response = put_account(world, buyer, buyer, role="buyer", display_name="Renamed")

    assert_error(response, 403, "forbidden")
    assert read_account(world, buyer, buyer).json == before


def test_provisioning_without_a_token_is_unauthorized(world: World, client: FlaskClient) -> None:
    response = client.put("/v1/accounts/mkt-user-8", json={"role": "buyer", "display_name": "A"})

    assert_error(response, 401, "unauthorized")
    assert_error(read_account(world, "platform", "mkt-user-8"), 404, "not_found")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "not-a-real-token"],
    ids=["unknown-token", "empty-token", "basic-scheme", "no-scheme"],
)
def test_provisioning_with_a_bad_token_is_unauthorized(
    world: World, client: FlaskClient, authorization: str
) -> None:
    response = client.put(
        "/v1/accounts/mkt-user-9",
        json={"role": "buyer", "display_name": "A"},
        headers={"Authorization": authorization},
    )

    assert_error(response, 401, "unauthorized")
    assert_error(read_account(world, "platform", "mkt-user-9"), 404, "not_found")


def revoke_tokens(app: Flask, account_id: str) -> None:
    services = app.extensions["arbitration"]
    with services.database.unit_of_work() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.account_id == account_id)
            .values(revoked_at=services.clock.now())
        )


def test_a_revoked_token_is_refused_on_the_very_next_read_and_write(
    world: World, app: Flask
) -> None:
    assert read_account(world, "platform", "platform").status_code == 200

    revoke_tokens(app, "platform")

    assert_error(read_account(world, "platform", "platform"), 401, "unauthorized")
    response = put_account(world, "platform", "mkt-user-10", role="buyer", display_name="A")
    assert_error(response, 401, "unauthorized")


def test_an_account_id_longer_than_the_id_column_is_refused(world: World) -> None:
    """Ids are stored in 64 characters; a longer one must be a 422, not a database error."""
    account_id = "u" * 65

    response = put_account(world, "platform", account_id, role="buyer", display_name="Long")

    assert_error(response, 422, "validation_failed")
    assert_error(read_account(world, "platform", account_id), 404, "not_found")


# GET /v1/accounts/{id} ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["buyer", "seller", "arbitrator", "platform"])
def test_an_account_reads_itself(world: World, role: str) -> None:
    me = world.account(role) if role != "platform" else "platform"

    response = read_account(world, me, me)

    assert response.status_code == 200, response.json
    assert response.json["id"] == me
    assert response.json["role"] == role


def test_the_platform_reads_the_parties_it_manages(world: World) -> None:
    buyer, seller = world.account("buyer"), world.account("seller")

    assert read_account(world, "platform", buyer).json["role"] == "buyer"
    assert read_account(world, "platform", seller).json["role"] == "seller"


def test_an_admin_reads_staff_accounts(world: World) -> None:
    admin, arbitrator = world.account("admin"), world.account("arbitrator")

    response = read_account(world, admin, arbitrator)

    assert response.status_code == 200
    assert response.json["role"] == "arbitrator"


def test_another_buyers_account_is_not_found(world: World) -> None:
    me, other = world.account("buyer"), world.account("buyer")

    assert_error(read_account(world, me, other), 404, "not_found")


def test_the_platform_cannot_see_staff_accounts(world: World) -> None:
    arbitrator = world.account("arbitrator")

    assert_error(read_account(world, "platform", arbitrator), 404, "not_found")


def test_an_unknown_account_is_not_found(world: World) -> None:
    assert_error(read_account(world, "platform", "nobody"), 404, "not_found")


def test_reading_an_account_needs_a_token(world: World, client: FlaskClient) -> None:
    buyer = world.account("buyer")

    assert_error(client.get(f"/v1/accounts/{buyer}"), 401, "unauthorized")


# POST /v1/accounts/{id}/tokens ----------------------------------------------------------------


def test_platform_issues_a_buyer_a_personal_token_that_works(
    world: World, client: FlaskClient, app: Flask
) -> None:
    buyer, _seller, order_id = world.parties()
    world.file(buyer, order_id)
    before = token_count(app, buyer)

    response = world.call("platform", "POST", f"/v1/accounts/{buyer}/tokens")

    assert response.status_code == 201, response.json
    assert response.json["account_id"] == buyer
    token = response.json["token"]
    assert token and token != world.tokens[buyer]
    assert token_count(app, buyer) == before + 1
    listed = client.get("/v1/disputes", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200, listed.json
    assert [d["buyer_id"] for d in listed.json["data"]] == [buyer]
    me = client.get(f"/v1/accounts/{buyer}", headers={"Authorization": f"Bearer {token}"})
    assert me.json["id"] == buyer


@pytest.mark.parametrize("role", [*STAFF_ROLES, "platform"])
def test_platform_may_not_issue_tokens_for_staff(world: World, app: Flask, role: str) -> None:
    staff = world.account(role) if role != "platform" else "platform"
    before = token_count(app, staff)

    response = world.call("platform", "POST", f"/v1/accounts/{staff}/tokens")

    assert_error(response, 403, "forbidden")
    assert token_count(app, staff) == before


def test_an_admin_issues_tokens_for_staff(world: World, client: FlaskClient) -> None:
    admin, arbitrator = world.account("admin"), world.account("arbitrator")

    response = world.call(admin, "POST", f"/v1/accounts/{arbitrator}/tokens")

    assert response.status_code == 201, response.json
    me = client.get(
        f"/v1/accounts/{arbitrator}",
        headers={"Authorization": f"Bearer {response.json['token']}"},
    )
    assert me.status_code == 200
    assert me.json["role"] == "arbitrator"


def test_a_token_for_an_unknown_account_is_not_found(world: World) -> None:
    response = world.call("platform", "POST", "/v1/accounts/nobody/tokens")

    assert_error(response, 404, "not_found")
    assert_error(read_account(world, "platform", "nobody"), 404, "not_found")


def test_a_buyer_may_not_issue_tokens_for_another_buyer(world: World, app: Flask) -> None:
    me, other = world.account("buyer"), world.account("buyer")
    before = token_count(app, other)

    response = world.call(me, "POST", f"/v1/accounts/{other}/tokens")

    assert_error(response, 403, "forbidden")
    assert token_count(app, other) == before


def test_a_buyer_asking_for_tokens_cannot_tell_real_accounts_from_unknown_ones(
    world: World,
) -> None:
    """Another party's account is hidden (DESIGN §9): the answer must not depend on it existing."""
    me, other = world.account("buyer"), world.account("buyer")

    existing = world.call(me, "POST", f"/v1/accounts/{other}/tokens")
    unknown = world.call(me, "POST", "/v1/accounts/nobody/tokens")

    assert existing.status_code == unknown.status_code
    assert existing.json["error"]["code"] == unknown.json["error"]["code"]


def test_issuing_a_token_needs_a_token(world: World, client: FlaskClient, app: Flask) -> None:
    buyer = world.account("buyer")
    before = token_count(app, buyer)

    assert_error(client.post(f"/v1/accounts/{buyer}/tokens"), 401, "unauthorized")
    assert token_count(app, buyer) == before


# On-Behalf-Of ---------------------------------------------------------------------------------


def file_body(order_id: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "reason": "not_as_described",
        "remedy": "refund_only",
        "amount": 5_000,
    }


def test_platform_files_a_dispute_on_behalf_of_a_buyer_and_the_event_records_via(
    world: World,
) -> None:
    buyer, _seller, order_id = world.parties()

    response = world.call(
        "platform",
        "POST",
        "/v1/disputes",
        json=file_body(order_id),
        headers={"On-Behalf-Of": buyer},
    )

    assert response.status_code == 201, response.json
    dispute = response.json
    assert dispute["buyer_id"] == buyer
    assert dispute["status"] == "awaiting_seller"
    events = world.call(buyer, "GET", f"/v1/disputes/{dispute['id']}/events")
    assert events.status_code == 200, events.json
    filed = events.json["data"][0]
    assert filed["action"] == "file"
    assert filed["actor"] == buyer
    assert filed["payload"]["via"] == "platform"


def test_a_dispute_filed_by_the_buyer_itself_records_no_via(world: World) -> None:
    dispute = world.dispute()[0]

    events = world.call("platform", "GET", f"/v1/disputes/{dispute['id']}/events")

    assert "via" not in events.json["data"][0]["payload"]


def test_a_buyer_may_not_act_on_behalf_of_anyone(world: World) -> None:
    buyer, _seller, order_id = world.parties()
    other = world.account("buyer")

    response = world.call(
        other,
        "POST",
        "/v1/disputes",
        json=file_body(order_id),
        headers={"On-Behalf-Of": buyer},
    )

    assert_error(response, 403, "forbidden")
    assert world.call(buyer, "GET", "/v1/disputes").json["data"] == []


@pytest.mark.parametrize("principal", ["nobody", "arbitrator", "admin", "platform"])
def test_on_behalf_of_must_name_a_buyer_or_seller(world: World, principal: str) -> None:
    _buyer, _seller, order_id = world.parties()
    if principal in ("arbitrator", "admin"):
        principal = world.account(principal)

    response = world.call(
        "platform",
        "POST",
        "/v1/disputes",
        json=file_body(order_id),
        headers={"On-Behalf-Of": principal},
    )

    assert_error(response, 403, "forbidden")
    assert world.call("platform", "GET", "/v1/disputes").json["data"] == []


def test_acting_on_behalf_of_a_buyer_grants_only_that_buyers_view(world: World) -> None:
    """The platform sees every dispute, but acting for a buyer it sees only that buyer's."""
    dispute = world.dispute()[0]
    other = world.account("buyer")

    listed = world.call("platform", "GET", "/v1/disputes", headers={"On-Behalf-Of": other})
    read = world.call(
        "platform", "GET", f"/v1/disputes/{dispute['id']}", headers={"On-Behalf-Of": other}
    )

    assert listed.status_code == 200
    assert listed.json["data"] == []
    assert_error(read, 404, "not_found")
