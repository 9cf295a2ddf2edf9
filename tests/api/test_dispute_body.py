"""A dispute's body is built without marshmallow on the hot path: it must be exactly what the
documented ``DisputeOut`` dumps, field for field and format for format, for every kind of dispute
and every kind of caller."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from marshmallow import Schema, fields
from sqlalchemy import select

from api import demo
from api.schemas.common import plain_dumper
from api.schemas.disputes import DisputeOut
from api.views.dispute_body import dispute_body, dispute_view, written_body
from api.wiring import Services
from arbitration import disputes
from arbitration.accounts import Caller
from arbitration.models import Account, Dispute
from arbitration.policy import Policy
from tests.support.world import World

RULING = {"outcome": "buyer_full_refund", "responsibility": "seller", "rationale": "Cracked."}
READERS = (
    "alice",
    "bob",
    "chen",
    "acme-gadgets",
    "bright-home",
    "arbitrator",
    "senior",
    "platform",
)


def _same_shape(schema: Schema, body: dict[str, Any], where: str = "") -> None:
    """Every field of the schema present (and nothing else), recursively."""
    assert set(body) == set(schema.fields), where
    for name, field in schema.fields.items():
        value = body[name]
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested) and value is not None:
            assert isinstance(inner.schema, Schema)
            for item in value if isinstance(field, fields.List) else [value]:
                _same_shape(inner.schema, item, f"{where}.{name}")


@pytest.fixture
def tokens(client: FlaskClient, services: Services, policy: Policy) -> dict[str, str]:
    """The demo marketplace (disputes at every stage, offers, refunds, rulings), and a ruling that
    adds a coupon to the refund on a dispute whose seller asked for more time."""
    tokens = demo.create(services.database, policy=policy)

    def call(who: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code in (200, 201), response.json
        answer: dict[str, Any] = response.json
        return answer

    line = {"listing_id": "lst-body", "title": "Kettle", "quantity": 1, "unit_price": 4_000}
    order = {"buyer_id": "alice", "seller_id": "acme-gadgets", "amount": 4_000}
    order |= {"currency": "USD", "status": "delivered", "items": [line]}
    call("platform", "PUT", "/v1/orders/ord-body", order)
    filing = {"order_id": "ord-body", "reason": "damaged", "remedy": "refund_only", "amount": 4_000}
    dispute = call("alice", "POST", "/v1/disputes", filing)["id"]
    for who, action, body in [
        ("acme-gadgets", "request-extension", {}),
        ("acme-gadgets", "reject", {"reason": "Works as described."}),
        ("alice", "escalate", {"reason": "It does not."}),
        ("alice", "evidence-done", {}),
        ("acme-gadgets", "evidence-done", {}),
        ("arbitrator", "claim", {}),
        ("arbitrator", "decide", {**RULING, "compensation": {"kind": "coupon", "amount": 800}}),
    ]:
        call(who, "POST", f"/v1/disputes/{dispute}/{action}", body)
    return tokens


def test_the_body_of_every_dispute_is_what_dispute_out_dumps(
    services: Services, tokens: dict[str, str]
) -> None:
    schema = DisputeOut()
    seen: set[str] = set()
    with services.database.unit_of_work(read_only=True) as session:
        everyone = {who: Caller(session.get_one(Account, who)) for who in READERS}
        for dispute in session.scalars(select(Dispute)).all():
            for who in everyone.values():
                view = dispute_view(session, dispute, who)
                body = dispute_body(session, dispute, who)
                assert body == schema.dump(view), (dispute.id, who.id)
                assert schema.validate(body) == {}, (dispute.id, who.id)  # types, enums, formats
                _same_shape(schema, body, dispute.id)
                seen.update(name for name, value in body.items() if value not in (None, []))
    # Every part of a body was there in some dispute, so each converter above was exercised.
    assert seen == set(schema.fields), set(schema.fields) - seen


def test_reading_a_dispute_over_http_answers_the_same_body(
    client: FlaskClient, services: Services, tokens: dict[str, str]
) -> None:
    with services.database.unit_of_work(read_only=True) as session:
        everyone = {who: Caller(session.get_one(Account, who)) for who in READERS}
        expected = {
            (dispute.id, who.id): DisputeOut().dump(dispute_view(session, dispute, who))
            for dispute in session.scalars(select(Dispute)).all()
            for who in everyone.values()
            if who.role not in ("buyer", "seller")
            or who.id in (dispute.buyer_id, dispute.seller_id)
        }
    for (dispute_id, who), body in expected.items():
        response = client.get(
            f"/v1/disputes/{dispute_id}", headers={"Authorization": f"Bearer {tokens[who]}"}
        )
        assert response.status_code == 200
        assert response.get_json() == body, (dispute_id, who)


def test_a_related_arbitrator_reads_over_http_what_the_session_path_builds(
    world: World, services: Services
) -> None:
    """A read is one Core statement that also asks whether the caller is related to a party; a
    write's body asks the session: both see the conflict, and the same offer and lists."""
    dispute, _buyer, seller = world.awaiting_decision()
    admin, cousin = world.account("admin"), world.account("arbitrator")
    linked = world.call(admin, "PUT", f"/v1/accounts/{cousin}/related/{seller}")
    assert linked.status_code == 201, linked.json
    for who in (cousin, world.account("arbitrator"), seller):
        body = world.read(who, dispute["id"])
        with services.database.unit_of_work(read_only=True) as session:
            expected = dispute_body(
                session,
                session.get_one(Dispute, dispute["id"]),
                Caller(session.get_one(Account, who)),
            )
        assert body == expected, who
        assert ("claim" in body["allowed_actions"]) is (who not in (cousin, seller)), who


def test_a_write_answers_a_related_arbitrator_with_what_a_read_shows(
    world: World, services: Services
) -> None:
    """A write's body reads the dispute's columns as a plain copy, which has no session for
    ``facts_for`` to ask: whether a staff caller is related to a party is asked for it."""
    dispute, _buyer, seller = world.awaiting_decision()
    admin, cousin = world.account("admin"), world.account("arbitrator")
    linked = world.call(admin, "PUT", f"/v1/accounts/{cousin}/related/{seller}")
    assert linked.status_code == 201, linked.json
    for who in (cousin, world.account("arbitrator"), seller):
        with services.database.unit_of_work() as session:
            caller = Caller(session.get_one(Account, who))
            held = disputes.get_dispute(session, caller=caller, dispute_id=dispute["id"])
            later = written_body(session, held, caller)
            expected = dispute_body(session, held, caller)
        body = later.build()  # as ``perform`` builds it without an Idempotency-Key: after commit
        assert body == expected, who
        assert body == world.read(who, dispute["id"]), who
        assert ("claim" in body["allowed_actions"]) is (who not in (cousin, seller)), who


def test_a_plain_dump_refuses_a_field_it_cannot_dump_exactly() -> None:
    class Odd(Schema):
        when = fields.DateTime(format="%Y")

    with pytest.raises(TypeError):
        plain_dumper(Odd())
