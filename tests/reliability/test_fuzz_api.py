"""Schemathesis against the served OpenAPI document, in-process over WSGI.

Every operation of ``/api/v1/openapi.json`` is fuzzed with an admin's token and with a clerk's, with a fixed,
derandomised budget of schema-valid (positive) and schema-violating (negative) examples. Each answer must not be
a server error, must match the documented schema and content type, and must carry a status the operation
documents explicitly: flask-smorest adds a catch-all ``default`` error response, which makes schemathesis' own
``status_code_conformance`` accept anything, so ``documented_status`` below ignores ``default``.

The test runs inside the rolled-back ``session`` fixture: whatever the fuzzer creates is gone afterwards.
"""
from __future__ import annotations

import re
from collections import Counter

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from casework.auth.models import User
from casework.auth.service import issue_token
from tests.cases.conftest import complaint_body, petition_body

# Per operation and role: schema-valid examples, then schema-violating ones. Small on purpose: the whole
# tests/security directory must stay well under three minutes on SQLite.
BUDGET = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 6}
ROLES = {"admin": "100000", "clerk": "360827"}
# Served by flask-smorest itself rather than described in the document.
UNDOCUMENTED = {("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs")}
# The only operation that answers 401 to a caller whose token is valid (it does not read the token).
LOGIN = "POST /api/v1/auth/token"
# Operations that must answer 2xx at least once per role: proof that the tokens and the seeded objects work.
MUST_SUCCEED = {"GET /api/v1/cases", "GET /api/v1/cases/{case_id}", "GET /api/v1/cases/{case_id}/events",
                "GET /api/v1/units", "GET /api/v1/units/{code}", "GET /api/v1/users/me"}
ADMIN_ONLY_SUCCEED = {"GET /api/v1/supervisions", "GET /api/v1/bulletins", "POST /api/v1/users/{user_id}/api-key"}


def documented_status(ctx, response, case):
    """The answer's status is one the operation lists explicitly (``default`` does not count)."""
    documented = {code for code in case.operation.definition.raw.get("responses", {}) if code != "default"}
    if str(response.status_code) not in documented:
        raise AssertionError(f"status {response.status_code} is not documented (documented: {sorted(documented)})")


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, documented_status]


@pytest.fixture()
def api_schema(app, session):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture()
def seeded(client, make_user):
    """Real objects for path parameters, so fuzzed requests also get past the 404s."""
    clerk_user, clerk = make_user(role="clerk", unit="360827")
    ids = []
    for body in (petition_body(), complaint_body()):
        response = client.post("/api/v1/cases", json=body, headers=clerk)
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    return {"case_id": ids, "code": ["360827", "360800", "100000"], "user_id": [clerk_user.id]}


def bearer(session, user_id: int, secret: str) -> dict:
    # Minted per request from the stored token_version: the fuzzer's own POST /auth/logout revokes earlier tokens.
    user = session.get(User, user_id)
    session.refresh(user)
    return {"Authorization": f"Bearer {issue_token(user=user, secret=secret, ttl_seconds=600)['access_token']}"}


def operation_strategy(operation, mode, seeded):
    """The operation's own examples, and as many again aimed at the seeded objects (positive mode)."""
    strategy = operation.as_strategy(generation_mode=mode)
    known = {p.name: seeded[p.name] for p in operation.path_parameters if p.name in seeded}
    if not known or mode is GenerationMode.NEGATIVE:
        return strategy

    @st.composite
    def on_seeded(draw):
        params = {name: draw(st.sampled_from(values)) for name, values in known.items()}
        return draw(operation.as_strategy(generation_mode=mode, path_parameters=params))

    return st.one_of(strategy, on_seeded())


def fuzz(operation, mode, seeded, call) -> str | None:
    """Run one operation's budget; the first failure as text, or None."""

    @settings(max_examples=BUDGET[mode], derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation_strategy(operation, mode, seeded))
    def run(case):
        call(case)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        return None  # nothing can violate the schema of e.g. GET /users/me: there is no negative example
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - schemathesis raises exception groups; all are reported together
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_operation_survives_fuzzing(app, session, api_schema, seeded, make_user, role):
    user, _ = make_user(role=role, unit=ROLES[role])
    statuses: Counter = Counter()

    def call(case):
        response = case.call(headers=bearer(session, user.id, app.config["SECRET_KEY"]))
        statuses[case.operation.label, case.meta.generation.mode, response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    operations = [result.ok() for result in api_schema.get_all_operations()]
    failures = {f"{op.label} [{mode.value}]": failure for op in operations for mode in BUDGET
                if (failure := fuzz(op, mode, seeded, call))}
    assert not failures, "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())

    # The document describes every /api/v1 route the app serves, or the fuzzer would silently miss one.
    served = {(method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1") for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert {(op.method.upper(), api_schema.get_full_path(op.path)) for op in operations} == served - UNDOCUMENTED
    # Every operation was exercised, with the token accepted: a run of nothing but 401s would prove nothing.
    # (Negative examples may drop the Authorization header on purpose; their 401s are expected.)
    assert {label for label, _, _ in statuses} == {op.label for op in operations}
    positive = {(label, status) for label, mode, status in statuses if mode is GenerationMode.POSITIVE}
    assert not {label for label, status in positive if status == 401} - {LOGIN}
    succeeded = {label for label, status in positive if 200 <= status < 300}
    assert MUST_SUCCEED | (ADMIN_ONLY_SUCCEED if role == "admin" else set()) <= succeeded, sorted(succeeded)
