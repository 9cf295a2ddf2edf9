"""The staff console through the app (Flask's client): who may sign in, the cookie, CSRF, the same
refusals as the API beside the same fields, pages in Chinese, and refusals as pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.world import World

FORM = "multipart/form-data"


@pytest.fixture
def console(app: Flask) -> Flask:
    app.secret_key = "test-only-console-secret"
    return app


def _csrf(page: TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def _signed_in(console: Flask, world: World, who: str, **headers: str) -> FlaskClient:
    browser = console.test_client()
    token = _csrf(browser.get("/console/sign-in", headers=headers))
    answer = browser.post(
        "/console/sign-in",
        data={"token": world.tokens[who], "csrf_token": token},
        content_type=FORM,
        headers=headers,
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return browser


def _post(
    browser: FlaskClient, page: str, action: str, data: dict[str, Any], **headers: str
) -> TestResponse:
    token = _csrf(browser.get(page, headers=headers))
    return browser.post(
        action, data={**data, "csrf_token": token}, content_type=FORM, headers=headers
    )


def _claimed(
    console: Flask, world: World, role: str, name: str, dispute_id: str
) -> tuple[FlaskClient, str]:
    """Staff member ``name`` signed in, having taken the case from its page: (browser, page)."""
    world.account(role, name)
    browser = _signed_in(console, world, name)
    page = f"/console/cases/{dispute_id}"
    assert _post(browser, page, f"{page}/claim", {}).status_code == 302
    return browser, page


@pytest.mark.parametrize("role", ["buyer", "seller", "platform"])
def test_parties_and_the_platform_cannot_sign_in(console: Flask, world: World, role: str) -> None:
    who = world.account(role)
    browser = console.test_client()
    answer = browser.post(
        "/console/sign-in",
        data={"token": world.tokens[who], "csrf_token": _csrf(browser.get("/console/sign-in"))},
        content_type=FORM,
    )
    assert answer.status_code == 403
    assert "for platform staff" in answer.get_data(as_text=True)
    assert browser.get("/console/queue").status_code == 302  # still not signed in


def test_a_bearer_token_does_not_open_the_console(console: Flask, world: World) -> None:
    world.account("arbitrator", "arun")
    answer = console.test_client().get("/console/queue", headers=world.headers("arun"))
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/console/sign-in")


def test_the_session_cookie_is_http_only_lax_and_secure_over_https(
    console: Flask, world: World
) -> None:
    world.account("arbitrator", "arun")
    browser = console.test_client()
    page = browser.get("/console/sign-in", base_url="https://console.example")
    answer = browser.post(
        "/console/sign-in",
        data={"token": world.tokens["arun"], "csrf_token": _csrf(page)},
        content_type=FORM,
        base_url="https://console.example",
        headers={"Referer": "https://console.example/console/sign-in"},  # checked over HTTPS
    )
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie

    plain = _signed_in(console, world, "arun")
    assert plain.get("/console/queue").status_code == 200


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    console: Flask, world: World
) -> None:
    dispute, _, _ = world.awaiting_decision()
    world.account("arbitrator", "arun")
    browser = _signed_in(console, world, "arun")
    answer = browser.post("/console/queue/take-next", data={}, content_type=FORM)
    assert answer.status_code == 400
    assert "security token" in answer.get_data(as_text=True)
    assert world.read("arun", dispute["id"])["assigned_arbitrator_id"] is None


def test_the_ruling_form_shows_the_apis_refusal_beside_the_field(
    console: Flask, world: World
) -> None:
    dispute, _, _ = world.awaiting_decision()
    browser, page = _claimed(console, world, "arbitrator", "arun", dispute["id"])
    ruling = {
        "outcome": "buyer_partial_refund",
        "refund_amount": "5000",
        "responsibility": "seller",
        "rationale": "Half the set is missing.",
    }
    answer = _post(browser, page, f"{page}/decide", ruling)
    over_the_api = world.act("arun", dispute["id"], "decide", **{**ruling, "refund_amount": 5000})
    assert (answer.status_code, over_the_api.status_code) == (422, 422)
    message = over_the_api.json["error"]["details"]["refund_amount"][0]
    html = answer.get_data(as_text=True)
    assert re.search(r'id="refund_amount-error"[^>]*>\s*' + re.escape(message), html)
    assert "Half the set is missing." in html  # what was typed stays
    assert world.read("arun", dispute["id"])["status"] == "awaiting_decision"

    ruled = _post(browser, page, f"{page}/decide", {**ruling, "refund_amount": "2500"})
    assert ruled.status_code == 302
    assert world.read("arun", dispute["id"])["status"] == "decided"


def test_a_ruling_from_the_console_may_add_a_compensation(console: Flask, world: World) -> None:
    dispute, _, _ = world.awaiting_decision()
    browser, page = _claimed(console, world, "arbitrator", "arun", dispute["id"])
    ruling = {
        "outcome": "buyer_partial_refund",
        "refund_amount": "2500",
        "responsibility": "seller",
        "rationale": "Scratched, and late.",
        "compensation.kind": "coupon",
    }
    answer = _post(browser, page, f"{page}/decide", ruling)
    assert answer.status_code == 422  # a kind without an amount: the API's refusal, beside it
    over_the_api = world.act(
        "arun", dispute["id"], "decide", **{**_api(ruling), "compensation": {"kind": "coupon"}}
    )
    message = over_the_api.json["error"]["details"]["compensation"]["amount"][0]
    html = answer.get_data(as_text=True)
    assert re.search(r'id="compensation-amount-error"[^>]*>\s*' + re.escape(message), html)
    assert re.search(r'<option value="coupon"\s+selected', html)  # what was chosen stays
    assert world.read("arun", dispute["id"])["status"] == "awaiting_decision"

    ruled = _post(browser, page, f"{page}/decide", {**ruling, "compensation.amount": "800"})
    assert ruled.status_code == 302
    decided = world.read("arun", dispute["id"])
    assert decided["status"] == "decided"
    assert decided["decision"]["compensation"] == {"kind": "coupon", "amount": 800}
    assert [(c["kind"], c["amount"]) for c in decided["compensations"]] == [("coupon", 800)]


def test_an_overturning_replacement_may_add_a_compensation(console: Flask, world: World) -> None:
    dispute, _, _ = world.under_appeal()
    browser, page = _claimed(console, world, "senior_arbitrator", "sana", dispute["id"])
    appeal = {
        "result": "overturn",
        "rationale": "The listing promised a working lamp.",
        "decision.outcome": "buyer_full_refund",
        "decision.responsibility": "seller",
        "decision.rationale": "It never worked.",
        "decision.compensation.kind": "gift",
        "decision.compensation.amount": "500",
    }
    refused = _post(browser, page, f"{page}/appeal-decision", appeal)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="decision-compensation-kind-error"' in html  # not a kind: beside its own field
    answer = _post(
        browser,
        page,
        f"{page}/appeal-decision",
        {**appeal, "decision.compensation.kind": "store_credit"},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    closed = world.read("sana", dispute["id"])
    assert closed["decision"]["compensation"] == {"kind": "store_credit", "amount": 500}
    assert [(c["kind"], c["amount"]) for c in closed["compensations"]] == [("store_credit", 500)]


def _api(form: dict[str, str]) -> dict[str, Any]:
    """A console ruling form's fields as the API's JSON body (without the compensation)."""
    body: dict[str, Any] = {k: v for k, v in form.items() if not k.startswith("compensation.")}
    body["refund_amount"] = int(body["refund_amount"])
    return body


def test_an_action_not_allowed_now_is_a_message_not_a_stack_trace(
    console: Flask, world: World
) -> None:
    dispute, _, _ = world.awaiting_decision()
    world.account("arbitrator", "arun")
    browser = _signed_in(console, world, "arun")
    page = f"/console/cases/{dispute['id']}"
    answer = _post(
        browser,
        page,
        f"{page}/decide",
        {"outcome": "seller_favored", "responsibility": "buyer", "rationale": "Not mine yet."},
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 409
    assert "Refused:" in html and "Traceback" not in html


def test_unknown_pages_are_a_404_page(console: Flask, world: World) -> None:
    world.account("trust_safety", "tomas")
    browser = _signed_in(console, world, "tomas")
    answer = browser.get("/console/no/such/page")
    assert answer.status_code == 404
    assert "Page not found" in answer.get_data(as_text=True)
    assert (
        browser.get("/console/cases/dsp_nope").status_code == 403
    )  # T&S: not an arbitrator's page
    assert browser.get("/console/sellers/nobody").status_code == 404


def test_the_case_page_speaks_chinese_to_a_chinese_browser(console: Flask, world: World) -> None:
    dispute, _, _ = world.awaiting_decision()
    world.account("arbitrator", "arun")
    chinese = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    browser = _signed_in(console, world, "arun", **chinese)
    html = browser.get(f"/console/cases/{dispute['id']}", headers=chinese).get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "买家凭证" in html and "等待裁决" in html

    switched = _post(browser, "/console/queue", "/console/language", {"language": "en"}, **chinese)
    assert switched.status_code == 302
    html = browser.get(f"/console/cases/{dispute['id']}", headers=chinese).get_data(as_text=True)
    assert "Buyer&#39;s evidence" in html or "Buyer's evidence" in html


def test_without_a_secret_key_the_console_says_how_to_configure_it(app: Flask) -> None:
    answer = app.test_client().get("/console/sign-in")
    assert answer.status_code == 503
    assert "ARBITRATION_SECRET_KEY" in answer.get_data(as_text=True)


def test_penalty_explanations_follow_accept_language(world: World) -> None:
    seller = world.account("seller")
    world.account("trust_safety", "tomas")
    confirmed = world.call(
        "tomas",
        "POST",
        f"/v1/sellers/{seller}/violations",
        json={"kind": "counterfeit", "note": "Confirmed by the brand."},
    )
    assert confirmed.status_code == 201, confirmed.json
    english = world.call(seller, "GET", f"/v1/sellers/{seller}/standing").json
    chinese = world.call(
        seller, "GET", f"/v1/sellers/{seller}/standing", headers={"Accept-Language": "zh-CN"}
    ).json
    (penalty, *_) = english["active_penalties"]
    (penalty_zh, *_) = chinese["active_penalties"]
    assert penalty["explanation"]["summary"].startswith(
        penalty["kind"].replace("_", " ").capitalize()
    )
    assert "crossing the 12-point threshold" in penalty["explanation"]["summary"]
    assert "超过 12 分的阈值" in penalty_zh["explanation"]["summary"]
    assert penalty_zh["explanation"]["restricts"] != penalty["explanation"]["restricts"]
    assert penalty_zh["kind"] == penalty["kind"]  # codes stay codes


def test_the_dashboard_shows_the_reports_figures_for_a_period(console: Flask, world: World) -> None:
    world.dispute()
    world.account("trust_safety", "tomas")
    browser = _signed_in(console, world, "tomas")
    html = browser.get("/console/dashboard").get_data(as_text=True)
    assert "SLA compliance" in html and html.count('<svg class="chart"') == 3
    filed = re.search(r'Filed</div><div class="value">(\d+)<', html)
    assert filed and filed.group(1) == "1"
    refused = browser.get("/console/dashboard?since=2026-13-01")
    assert refused.status_code == 422
    assert "Not a valid datetime." in refused.get_data(as_text=True)


def test_trust_and_safety_shorten_a_freeze_but_never_lengthen_it(
    console: Flask, world: World
) -> None:
    seller = world.account("seller")
    world.account("trust_safety", "tomas")
    for note in ("Counterfeit, confirmed by the brand.", "A second counterfeit batch."):
        confirmed = world.call(
            "tomas",
            "POST",
            f"/v1/sellers/{seller}/violations",
            json={"kind": "counterfeit", "note": note},
        )
        assert confirmed.status_code == 201, confirmed.json
    pending = world.call("tomas", "GET", f"/v1/penalties?status=pending_review&seller_id={seller}")
    (freeze,) = [p for p in pending.json["data"] if p["kind"] == "account_freeze"]
    browser = _signed_in(console, world, "tomas")
    action = f"/console/penalties/{freeze['id']}/approve"

    longer = _post(browser, "/console/penalties", action, {"duration_days": "30"})
    assert longer.status_code == 422
    assert re.search(
        r'id="duration_days-error"[^>]*>\s*between 1 and', longer.get_data(as_text=True)
    )
    assert world.call("tomas", "GET", f"/v1/penalties/{freeze['id']}").json["status"] == (
        "pending_review"
    )

    shorter = _post(browser, "/console/penalties", action, {"duration_days": "7"})
    assert shorter.status_code == 302
    approved = world.call("tomas", "GET", f"/v1/penalties/{freeze['id']}").json
    assert (approved["status"], approved["duration_seconds"]) == ("active", 7 * 24 * 3600)
    page = browser.get(f"/console/sellers/{seller}").get_data(as_text=True)
    assert 'data-flag="frozen">frozen<' in page


def test_an_arbitrator_names_the_buyers_violation_from_the_ruling_form(
    console: Flask, world: World
) -> None:
    dispute, buyer, _ = world.awaiting_decision()
    browser, page = _claimed(console, world, "arbitrator", "arun", dispute["id"])
    assert 'name="buyer_violation"' in browser.get(page).get_data(as_text=True)
    ruling = {
        "outcome": "seller_favored",
        "responsibility": "buyer",
        "buyer_violation": "unjustified_claim",
        "rationale": "The item matches the listing.",
    }
    assert _post(browser, page, f"{page}/decide", ruling).status_code == 302
    standing = world.call("platform", "GET", f"/v1/buyers/{buyer}/standing").json
    assert standing["points"] == 2
