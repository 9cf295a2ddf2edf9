from tests.support.world import World


def test_seller_accepting_a_refund_only_request_closes_it_refunded(world: World) -> None:
    dispute, _buyer, seller = world.dispute(amount=8_000)
    closed = world.ok(seller, dispute["id"], "accept")
    assert closed["status"] == "closed"
    assert closed["outcome"] == "refunded"
    assert closed["refund_amount"] == 5_000
