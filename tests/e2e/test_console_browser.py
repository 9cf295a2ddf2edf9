"""The staff console in a real headless Chromium (Debian's ``chromium``, driven by Playwright's
Python API) against a real ``arbitration serve`` over the demo marketplace.

Each test saves a screenshot of every page it visits under ``screenshots/console/`` (or
``$CONSOLE_SCREENSHOTS``), at 1280x800 and, for some, at a phone's width.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import urllib.request
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunningEngine, start_engine

playwright_sync = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(
    os.environ.get(
        "CONSOLE_SCREENSHOTS", Path(__file__).resolve().parents[2] / "screenshots/console"
    )
)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _png(width: int, height: int) -> bytes:
    """A real PNG: a red top half and a blue bottom half, standing in for a buyer's photo."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + (b"\xd0\x30\x30" if y < height // 2 else b"\x30\x50\xd0") * width
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PHOTO = _png(160, 120)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    running = start_engine(
        tmp_path_factory.mktemp("console"), {"ARBITRATION_SECRET_KEY": uuid.uuid4().hex * 2}
    )
    yield running
    running.process.terminate()
    running.process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_sync.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


def _page(
    browser: Any, engine: RunningEngine, *, locale: str = "en-US", viewport: Any = None
) -> Any:
    context = browser.new_context(base_url=engine.url, locale=locale, viewport=viewport or DESKTOP)
    return context.new_page()


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _sign_in(page: Any, engine: RunningEngine, who: str) -> None:
    page.goto("/console/sign-in")
    page.fill("#token", engine.tokens[who])
    page.click("form[action='/console/sign-in'] button[type=submit]")


def _upload_photo(engine: RunningEngine, who: str, dispute_id: str, note: str) -> None:
    boundary = uuid.uuid4().hex
    body = b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nphoto\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\n{note}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.png"\r\n'
            "Content-Type: image/png\r\n\r\n".encode(),
            PHOTO,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    request = urllib.request.Request(
        f"{engine.url}/v1/disputes/{dispute_id}/evidence",
        method="POST",
        data=body,
        headers={
            "Authorization": f"Bearer {engine.tokens[who]}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        json.loads(response.read())


def _kettle_to_the_platform(engine: RunningEngine) -> str:
    """The demo's rejected kettle dispute (Alice v. Bright Home), escalated with photos, waiting."""
    listed = engine.call("arbitrator", "GET", "/v1/disputes?status=seller_rejected")["data"]
    (kettle,) = [d for d in listed if d["seller_id"] == "bright-home"]
    path = f"/v1/disputes/{kettle['id']}"
    engine.call("alice", "POST", f"{path}/escalate", {"reason": "The lid does not close."})
    _upload_photo(engine, "alice", kettle["id"], "The lid, open after closing it.")
    engine.call(
        "alice",
        "POST",
        f"{path}/evidence",
        {"kind": "statement", "text": "It never closed."},
    )
    _upload_photo(engine, "bright-home", kettle["id"], "Our photo before shipping.")
    engine.call("alice", "POST", f"{path}/evidence-done", {})
    engine.call("bright-home", "POST", f"{path}/evidence-done", {})
    return str(kettle["id"])


def test_an_arbitrator_takes_the_next_case_opens_a_photo_and_rules(
    browser: Any, engine: RunningEngine
) -> None:
    kettle = _kettle_to_the_platform(engine)
    page = _page(browser, engine)
    page.goto("/console/sign-in")
    _shot(page, "01-sign-in")
    _sign_in(page, engine, "arbitrator")
    page.wait_for_url("**/console/queue")
    assert page.locator("table").count() == 1
    _shot(page, "02-queue")

    page.click("text=Take next case")
    page.wait_for_url(f"**/console/cases/{kettle}")
    assert "is now yours" in page.locator(".flash").inner_text()
    _shot(page, "03-case")

    image = page.locator(".evidence-item img").first
    assert image.evaluate("img => img.complete && img.naturalWidth") == 160
    with page.context.expect_page() as opened:
        page.locator(".evidence-item a:has(img)").first.click()
    photo = opened.value
    photo.wait_for_load_state()
    response = page.request.get(photo.url)
    assert response.headers["content-type"] == "image/png"
    assert response.body() == PHOTO
    photo.close()
    assert page.locator(".hash").first.inner_text().startswith("SHA-256 ")

    # The API's validation, beside the fields: a partial refund of the whole amount, no rationale.
    page.select_option("#outcome", "buyer_partial_refund")
    page.fill("#refund_amount", "4500")
    page.select_option("#responsibility", "seller")
    page.click("#form-decide button[type=submit]")
    # The schema's refusal (no rationale) comes first, as over the API; then the ruling's rules.
    assert page.locator("#rationale-error").inner_text() == "Missing data for required field."
    page.fill("#rationale", "The lid does not close; both photos show the same gap.")
    page.click("#form-decide button[type=submit]")
    assert (
        "partial refund is between 1 and 4499" in page.locator("#refund_amount-error").inner_text()
    )
    assert page.locator("#rationale").input_value().startswith("The lid does not close")
    _shot(page, "04-case-ruling-refused")

    page.select_option("#outcome", "buyer_full_refund")
    page.fill("#refund_amount", "")
    page.select_option("#violation", "not_as_described")
    page.select_option("#compensation-kind", "store_credit")
    page.fill("#compensation-amount", "300")
    page.click("#form-decide button[type=submit]")
    page.wait_for_url(f"**/console/cases/{kettle}")
    assert "done" in page.locator(".flash").inner_text()
    _shot(page, "05-case-ruled")

    dispute = engine.call("alice", "GET", f"/v1/disputes/{kettle}")
    assert dispute["status"] == "decided"
    assert dispute["decision"]["outcome"] == "buyer_full_refund"
    assert dispute["decision"]["compensation"] == {"kind": "store_credit", "amount": 300}


def _appellant(engine: RunningEngine, dispute: dict[str, Any]) -> str | None:
    for party in (dispute["buyer_id"], dispute["seller_id"]):
        path = f"/v1/disputes/{dispute['id']}"
        if "appeal" in engine.call(party, "GET", path)["allowed_actions"]:
            return str(party)
    return None


def test_a_senior_overturns_a_ruling_on_appeal(browser: Any, engine: RunningEngine) -> None:
    decided = engine.call("senior", "GET", "/v1/disputes?status=decided")["data"]
    ruled, appellant = next((d, who) for d in decided if (who := _appellant(engine, d)))
    engine.call(
        appellant,
        "POST",
        f"/v1/disputes/{ruled['id']}/appeal",
        {"reason": "The ruling ignored the courier's damage report."},
    )
    page = _page(browser, engine)
    _sign_in(page, engine, "senior")
    page.wait_for_url("**/console/senior")
    assert ruled["id"] in page.locator(".appeal").first.inner_text()
    _shot(page, "06-senior-desk")

    page.click(f".appeal a:has-text('{ruled['id']}')")
    page.click(f"form[action$='/{ruled['id']}/claim'] button")
    page.wait_for_url(f"**/console/cases/{ruled['id']}")
    page.select_option("#result", "overturn")
    page.fill(
        "#form-appeal-decision #rationale", "The courier's report shows the damage was in transit."
    )
    page.select_option("#decision-outcome", "seller_favored")
    page.select_option("#decision-responsibility", "logistics")
    page.fill("#decision-rationale", "Damaged in transit: the courier's claim pays.")
    _shot(page, "07-appeal-form")
    page.click("#form-appeal-decision button[type=submit]")
    page.wait_for_url(f"**/console/cases/{ruled['id']}")
    assert "done" in page.locator(".flash").inner_text()
    _shot(page, "08-appeal-decided")

    dispute = engine.call("platform", "GET", f"/v1/disputes/{ruled['id']}")
    assert dispute["status"] == "closed"
    assert dispute["outcome"] == "seller_favored"
    assert dispute["decision"]["result"] == "overturn"


def test_trust_and_safety_approve_a_pending_freeze(browser: Any, engine: RunningEngine) -> None:
    for note in ("Counterfeit charger, confirmed by the brand.", "A second counterfeit batch."):
        engine.call(
            "trust",
            "POST",
            "/v1/sellers/acme-gadgets/violations",
            {"kind": "counterfeit", "note": note},
        )
    pending = engine.call("trust", "GET", "/v1/penalties?status=pending_review")["data"]
    (freeze,) = [p for p in pending if p["kind"] == "account_freeze"]

    page = _page(browser, engine)
    _sign_in(page, engine, "trust")
    page.wait_for_url("**/console/penalties")
    _shot(page, "09-penalties-pending")
    page.click(f"#penalty-{freeze['id']} button:has-text('Approve')")
    page.wait_for_url("**/console/sellers/acme-gadgets")
    assert page.locator("[data-flag=frozen]").inner_text() == "frozen"
    assert page.locator("svg.chart text", has_text="24: general, severe").count() == 1
    _shot(page, "10-seller-frozen")

    standing = engine.call("platform", "GET", "/v1/sellers/acme-gadgets/standing")
    assert standing["frozen"] is True

    page.goto("/console/batches")
    _shot(page, "11-batches")
    page.goto("/console/dashboard")
    assert page.locator("svg.chart").count() == 3
    assert page.locator(".kpi", has_text="Satisfied").locator(".hint").inner_text() == "goal 80 %"
    _shot(page, "12-dashboard")
    page.goto("/console/language")  # a GET on a form's address: the 404 page, not a stack trace
    page.goto("/console/dashboard")


def test_a_form_without_its_csrf_token_is_refused(browser: Any, engine: RunningEngine) -> None:
    page = _page(browser, engine)
    _sign_in(page, engine, "arbitrator")
    page.wait_for_url("**/console/queue")
    page.evaluate(
        "document.querySelector(\"form[action='/console/queue/take-next'] "
        'input[name=csrf_token]").remove()'
    )
    with page.expect_response(re.compile(r".*/console/queue/take-next$")) as answered:
        page.click("text=Take next case")
    assert answered.value.status == 400
    assert "security token" in page.locator(".refusal").inner_text()
    _shot(page, "13-csrf-refused")


def test_a_buyers_token_cannot_sign_in(browser: Any, engine: RunningEngine) -> None:
    page = _page(browser, engine)
    _sign_in(page, engine, "alice")
    assert "platform staff" in page.locator(".refusal").inner_text()
    page.goto("/console/queue")
    page.wait_for_url("**/console/sign-in?next=/console/queue")
    _shot(page, "14-buyer-refused")

    page.goto("/console/no-such-page")
    assert page.locator("h1").inner_text() == "Page not found"


def test_the_case_page_speaks_chinese_to_a_chinese_browser(
    browser: Any, engine: RunningEngine
) -> None:
    waiting = engine.call("arbitrator", "GET", "/v1/queue?assigned=mine")["data"]
    case = waiting[0]["id"]
    page = _page(browser, engine, locale="zh-CN")
    _sign_in(page, engine, "arbitrator")
    page.wait_for_url("**/console/queue")
    page.goto(f"/console/cases/{case}")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text().startswith("案件")
    assert page.locator("#form-decide h2").inner_text() == "裁决"
    _shot(page, "15-case-zh")

    phone = _page(browser, engine, locale="zh-CN", viewport=PHONE)
    _sign_in(phone, engine, "arbitrator")
    phone.wait_for_url("**/console/queue")
    _shot(phone, "16-queue-phone-zh")
    phone.goto(f"/console/cases/{case}")
    _shot(phone, "17-case-phone-zh")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the case page scrolls sideways on a phone"


def test_the_api_docs_render_in_a_browser_from_the_engine_alone(
    engine: RunningEngine, browser: Any
) -> None:
    """Swagger UI draws every operation and the webhooks, fetching nothing but the engine's files."""
    page = _page(browser, engine)
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto("/v1/docs")
    page.wait_for_selector(".opblock-summary", timeout=20_000)
    assert page.locator(".opblock-summary").count() >= 40  # the operations, drawn
    assert "Arbitration-Signature" in page.content() or page.locator("text=webhook").count() >= 1
    _shot(page, "api-docs")
    assert fetched and all(url.startswith(engine.url) for url in fetched), fetched
    page.context.close()
