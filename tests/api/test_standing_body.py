"""A seller's standing is dumped without marshmallow on the hot path: it must be exactly what the
documented ``StandingOut`` dumps, penalties, explanations and recoveries included."""

from __future__ import annotations

from flask import Flask

from api.views.penalties import STANDING_OUT, standing_view
from api.wiring import Services
from arbitration.accounts import Caller
from arbitration.models import Account
from penalties import standing as seller_standing
from tests.support.fairness import freeze, ruled_against_seller
from tests.support.penalties import standing
from tests.support.world import World


def test_the_standing_body_is_what_standing_out_dumps(
    app: Flask, world: World, services: Services
) -> None:
    seller = world.account("seller")
    freeze(world, seller)  # an active freeze, explained by the violations behind it
    ruled_against_seller(world, seller)  # paid first by the platform: an open recovery
    trust = world.account("trust_safety")
    for _ in range(2):  # more severe violations: the next rung of the ladder waits for review
        confirmed = world.call(
            trust,
            "POST",
            f"/v1/sellers/{seller}/violations",
            json={"kind": "counterfeit", "note": "Fake again."},
        )
        assert confirmed.status_code == 201, confirmed.json
    for who in ("platform", seller):
        body = standing(world, who, seller)
        assert body["active_penalties"] and body["pending_review"] and body["open_recoveries"]
        at = services.clock.now()
        with app.test_request_context(), services.database.unit_of_work(read_only=True) as session:
            found = seller_standing.standing(
                session,
                caller=Caller(session.get_one(Account, who)),
                seller_id=seller,
                policy=services.policy,
                at=at,
            )
            expected = STANDING_OUT.dump(standing_view(session, found, at))
        assert body == expected
        assert STANDING_OUT.validate(body) == {}  # types, enums, formats
