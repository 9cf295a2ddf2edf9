"""Who may call what (DESIGN §9): every route, every caller, own / another party's / no such
resource → the status the matrix below states, and nothing of another party's in the answer.

The routes come from the app's URL map: a route without a row in ``ROUTES``
(``tests/support/authorization_table.py``) fails
``test_every_route_has_a_row``, so whoever adds one must say who may call it. Each row names the
resource its id comes from (a dispute at some stage, an evidence item, a penalty, an account...)
and, per variant, one status per caller in ``CALLERS`` order:

- ``own``: the resource of the callers' own marketplace (cast A: their buyer, their seller, the
  arbitrator and senior arbitrator the case is assigned to);
- ``other``: the same kind of resource in another marketplace (cast B: other parties, a case
  assigned to other arbitrators);
- ``missing``: an id of the same shape that names nothing;
- a few extra variants (``self``, ``staff``, ``hidden``) where a route has another question.

Beyond the status, every case checks: a refusal is in the one error shape and changed nothing; a
refusal of another party's resource is byte for byte the refusal of a resource that does not exist
(the id aside), so probing tells a stranger nothing; lists hold only what the caller may see;
evidence bytes and ``arbitrators_only`` items reach only who may see them.

One small world is built per module (over its own copy of the migrated database, on SQLite or
PostgreSQL as the suite runs), and refusals leave it untouched. A case whose answer is a success
that would change the world (an action, a review) runs on a fresh copy of its resource instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlalchemy import make_url, text
from werkzeug.test import TestResponse

from api.app import create_app
from api.config import Config
from arbitration.clock import ManualClock
from arbitration.policy import load_policy
from tests.conftest import _TEMPLATE, POSTGRES_ADMIN_URL, _postgres_admin
from tests.support.assertions import assert_error
from tests.support.authorization_table import (
    CALLERS,
    KNOWN_BUGS,
    PARTY_SCOPED,
    ROUTES,
    STRANGER_VARIANTS,
    VARIANT_RESOURCES,
    Route,
    Target,
    codes,
)
from tests.support.authorization_world import HIDDEN_TEXT, RULING, Cast, Matrix
from tests.support.evidence import PNG


@pytest.fixture(scope="module")
def matrix_database(
    migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database of this module's own, cloned from the migrated template (SQLite or PostgreSQL,
    as the suite runs)."""
    if POSTGRES_ADMIN_URL:
        name = f"arbitration_matrix_{os.getpid()}"
        with _postgres_admin() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}"))
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        with _postgres_admin() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        return
    path = tmp_path_factory.mktemp("matrix") / "arbitration.db"
    shutil.copyfile(migrated_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture(scope="module")
def matrix(matrix_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    defaults = load_policy()
    # Rulings up to RULING's refund are paid by the platform first, so recoveries exist to ask about.
    policy = replace(
        defaults,
        advance_compensation=replace(
            defaults.advance_compensation, max_amount=RULING["refund_amount"]
        ),
    )
    config = Config(
        database_url=matrix_database,
        policy=policy,
        clock=ManualClock(),
        evidence_dir=str(tmp_path_factory.mktemp("matrix-evidence")),
        testing=True,
    )
    app = create_app(config)
    built = Matrix(app)
    for cast in (built.a, built.b):  # the shared resources, built once
        for key in SHARED_RESOURCES:
            cast.get(key)
    yield built
    app.extensions["arbitration"].database.dispose()


SHARED_RESOURCES = sorted(
    {route.resource for route in ROUTES.values() if route.resource}
    | {key for key in VARIANT_RESOURCES.values() if key != "account:self"}
)


# One case ---------------------------------------------------------------------------------------


@dataclass
class Case:
    matrix: Matrix
    route: Route
    method: str
    rule: str
    variant: str
    caller: str
    expected: frozenset[int] = frozenset()
    target: Target | None = None
    party_cast: Cast | None = None  # the cast whose buyer and seller the caller plays

    # Resolving and sending ---------------------------------------------------------------------

    def resolve(self, *, fresh: bool) -> None:
        matrix, route = self.matrix, self.route
        own = self.variant not in STRANGER_VARIANTS
        cast = matrix.b if self.variant == "other" else matrix.a
        if fresh:
            cast = matrix.fresh(like=cast)
        self.party_cast = cast if own else matrix.a
        key = VARIANT_RESOURCES.get(self.variant, route.resource)
        if key is None:
            resource_id = ""
        elif key == "account:self":
            resource_id = matrix.account_of(self.caller, self.party_cast) or cast.buyer
        else:
            resource_id = cast.get(key)
            if self.variant == "missing":
                resource_id = missing_id(resource_id, self.caller, self.method)
        self.target = Target(matrix, cast, resource_id)

    def url(self) -> str:
        assert self.target is not None
        path = self.rule
        for name, key in self.route.fixed.items():
            value = key if ":" not in key else self.target.cast.get(key)
            path = _fill(path, name, value)
        if self.route.resource is not None and "<" in path:
            path = _fill(path, _last_parameter(path), self.target.resource_id)
        assert "<" not in path, path
        return path

    def send(self) -> TestResponse:
        assert self.target is not None and self.party_cast is not None
        kwargs: dict[str, Any] = {"headers": self.matrix.headers(self.caller, self.party_cast)}
        if self.route.body is not None:
            kwargs["json"] = self.route.body(self.target)
        elif self.method in ("POST", "PUT"):
            kwargs["json"] = {}
        if self.route.query is not None:
            kwargs["query_string"] = self.route.query(self.target)
        return self.matrix.world.client.open(self.url(), method=self.method, **kwargs)

    def context(self, response: TestResponse) -> str:
        return (
            f"{self.caller} {self.method} {self.url()} ({self.variant}): "
            f"{response.status_code} {response.get_data(as_text=True)[:400]}"
        )

    # Checks on a success ----------------------------------------------------------------------

    def me(self) -> str | None:
        assert self.party_cast is not None
        return self.matrix.account_of(self.caller, self.party_cast)

    def check_same_id(self, response: TestResponse) -> None:
        assert self.target is not None
        if response.status_code == 200:
            assert response.json["id"] == self.target.resource_id, self.context(response)

    def check_dispute_list(self, response: TestResponse) -> None:
        """Parties list only their own disputes: another marketplace's are not there, not even
        when asked for by their buyer's id."""
        assert self.target is not None
        listed = response.json["data"]
        ids = {item["id"] for item in listed}
        me = self.me()
        if self.caller in PARTY_SCOPED:
            for item in listed:
                assert me in (item["buyer_id"], item["seller_id"]), self.context(response)
        for cast in (self.matrix.a, self.matrix.b):
            if self.target.resource_id == cast.buyer:
                visible = self.caller not in PARTY_SCOPED or cast is self.party_cast
                assert (cast.get("dispute:awaiting_seller") in ids) == visible, self.context(
                    response
                )
        if self.variant == "missing" or (self.caller in PARTY_SCOPED and self.variant == "other"):
            assert listed == [], self.context(response)

    def check_hidden_evidence_absent(self, response: TestResponse) -> None:
        """The other party learns nothing of an ``arbitrators_only`` item (DESIGN §3)."""
        if response.status_code != 200 or self.caller not in ("buyer", "platform_for_buyer"):
            return
        assert self.target is not None
        cast = self.target.cast
        hidden = cast.get("evidence:seller_hidden")
        body = response.get_data(as_text=True)
        assert hidden not in body, self.context(response)
        assert cast.hidden_sha256 not in body, self.context(response)

    def check_evidence_list(self, response: TestResponse) -> None:
        if response.status_code != 200:
            return
        assert self.target is not None
        cast = self.target.cast
        ids = {item["id"] for item in response.json["data"]}
        assert cast.get("evidence:buyer_photo") in ids, self.context(response)
        sees_hidden = self.caller not in ("buyer", "platform_for_buyer")
        assert (cast.get("evidence:seller_hidden") in ids) == sees_hidden, self.context(response)
        if not sees_hidden:
            body = response.get_data(as_text=True)
            assert HIDDEN_TEXT not in body, self.context(response)
            assert cast.hidden_sha256 not in body, self.context(response)

    def check_evidence_bytes(self, response: TestResponse) -> None:
        if response.status_code == 200:
            expected = HIDDEN_TEXT.encode() if self.variant == "hidden" else PNG
            assert response.get_data() == expected, self.context(response)

    def check_seller_record(self, response: TestResponse) -> None:
        assert self.target is not None
        if response.status_code != 200:
            return
        body = response.json
        if "seller_id" in body:  # standing
            assert body["seller_id"] == self.target.resource_id, self.context(response)
        else:  # violations
            for item in body["data"]:
                assert item["seller_id"] == self.target.resource_id, self.context(response)

    def check_same_buyer(self, response: TestResponse) -> None:
        assert self.target is not None
        assert response.json["buyer_id"] == self.target.resource_id, self.context(response)

    def check_penalty_list(self, response: TestResponse) -> None:
        assert self.target is not None
        if response.status_code != 200:
            return
        listed = response.json["data"]
        for item in listed:
            assert item["seller_id"] == self.target.resource_id, self.context(response)
        if self.variant == "missing":
            assert listed == [], self.context(response)
        else:
            ids = {item["id"] for item in listed}
            assert self.target.cast.get("penalty:active") in ids, self.context(response)


def _fill(path: str, name: str, value: str) -> str:
    for converter in ("", "path:"):
        path = path.replace(f"<{converter}{name}>", value)
    return path


def _last_parameter(path: str) -> str:
    return path[path.rindex("<") + 1 : path.rindex(">")].rpartition(":")[2]


def missing_id(real: str, caller: str, method: str) -> str:
    """An id of the same shape as ``real`` that names nothing (a new one per caller for a PUT,
    which may create it)."""
    prefix, underscore, tail = real.partition("_")
    if underscore and len(tail) == 26:  # a generated id: same prefix and time, no such one
        return f"{prefix}_{tail[:10]}{'0' * 16}"
    return f"nobody-{caller.replace('_', '-')}" if method == "PUT" else f"nobody-{real}"


def normalised(response: TestResponse, resource_id: str) -> tuple[int, str | None, str]:
    """A response with the id it names blanked out: what a prober could compare."""
    return (
        response.status_code,
        response.mimetype,
        response.get_data(as_text=True).replace(resource_id, "<id>"),
    )


# The tests -------------------------------------------------------------------------------------


def _cases() -> list[Any]:
    params = []
    for (method, rule), route in ROUTES.items():
        for variant in route.variants:
            for caller in CALLERS:
                key = (method, rule, variant, caller)
                marks = (
                    [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[key])]
                    if key in KNOWN_BUGS
                    else []
                )
                params.append(
                    pytest.param(method, rule, variant, caller, marks=marks, id="-".join(key))
                )
    return params


CASES = _cases()


def test_every_route_has_a_row(matrix: Matrix) -> None:
    """A route added without saying who may call it fails here; so does a row for a route gone."""
    routes = {
        (method, rule.rule)
        for rule in matrix.app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
        # The staff console takes no bearer token but its own session: tests/api/test_console.py.
        and not rule.rule.startswith("/console/")
    }
    assert routes - set(ROUTES) == set(), "routes missing from ROUTES: state who may call them"
    assert set(ROUTES) - routes == set(), "rows for routes that no longer exist"
    for route in ROUTES.values():
        assert {"own"} <= set(route.variants), route
        assert set(route.variants) - {"own", "other", "missing"} <= set(VARIANT_RESOURCES)
        for row in route.variants.values():
            codes(row)


@pytest.mark.parametrize(("method", "rule", "variant", "caller"), CASES)
def test_caller_gets_the_documented_answer_and_nothing_more(
    matrix: Matrix, method: str, rule: str, variant: str, caller: str
) -> None:
    route = ROUTES[(method, rule)]
    expected = codes(route.variants[variant])[CALLERS.index(caller)]
    case = Case(matrix, route, method, rule, variant, caller, expected)
    success = min(expected) < 300
    fresh = route.mutates and success
    case.resolve(fresh=fresh)
    if (method, rule) == ("POST", "/v1/queue/claim") and success:
        # The most pressing case in the queue is a fresh urgent one: the shared ones stay put.
        assert case.target is not None
        urgent = case.target.cast.get("dispute:urgent_awaiting_decision")
    before = matrix.fingerprint() if not success else None

    response = case.send()

    assert response.status_code in expected, case.context(response)
    if response.status_code >= 400:
        assert_error(response, response.status_code)
        assert matrix.fingerprint() == before, (
            f"a refusal changed something: {case.context(response)}"
        )
    if (method, rule) == ("POST", "/v1/queue/claim") and success:
        assert response.json["id"] == urgent, case.context(response)
    if route.check is not None and response.status_code < 300:
        route.check(case, response)
    if variant != "missing" and response.status_code >= 400:
        _indistinguishable_from_missing(case, response)


def _indistinguishable_from_missing(case: Case, response: TestResponse) -> None:
    """A refusal says no more than the refusal of no resource: for another party's dispute (or
    evidence hidden from the caller) the same status and the same body but for the id, so a
    prober cannot tell what exists (DESIGN §9: "a 404, not a 403")."""
    missing_row = case.route.variants.get("missing")
    if (
        missing_row is None
        or response.status_code not in codes(missing_row)[CALLERS.index(case.caller)]
    ):
        return
    probe = Case(case.matrix, case.route, case.method, case.rule, "missing", case.caller)
    probe.resolve(fresh=False)
    assert case.target is not None and probe.target is not None
    answer = probe.send()
    assert normalised(answer, probe.target.resource_id) == normalised(
        response, case.target.resource_id
    ), f"{case.context(response)}\n  vs missing: {probe.context(answer)}"


def test_the_platform_acting_for_someone_is_only_that_someone(matrix: Matrix) -> None:
    """On-Behalf-Of names a buyer or seller only, and only the platform may send it."""
    world, a = matrix.world, matrix.a
    for who, principal in (
        (world.platform, matrix.arbitrator),
        (world.platform, "nobody-at-all"),
        (a.buyer, a.seller),
        (matrix.admin, a.buyer),
    ):
        response = world.call(
            who,
            "GET",
            f"/v1/disputes/{a.get('dispute:awaiting_seller')}",
            headers={"On-Behalf-Of": principal},
        )
        assert_error(response, 403)
