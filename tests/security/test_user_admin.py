"""Account administration: the admin's list of accounts, disabling and password resets, and a user's own
password change. Each change that matters for security revokes the account's tokens on the next request."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from casework.auth.models import User
from tests.factories import DEFAULT_PASSWORD
from tests.security.test_hardening import PROBLEM, bearer, login

NEW_PASSWORD = "a-much-longer-passphrase"


def me(client, headers) -> int:
    return client.get("/api/v1/users/me", headers=headers).status_code


def test_an_admin_lists_the_accounts_of_its_subtree(client, make_user):
    admin, headers = make_user(role="admin", unit="360000")
    county, _ = make_user(role="clerk", unit="360827")
    city, _ = make_user(role="supervisor", unit="360800")
    foreign, _ = make_user(role="clerk", unit="430502")

    def ids(**params) -> set[int]:
        r = client.get("/api/v1/users", query_string={"page_size": 200, **params}, headers=headers)
        assert r.status_code == 200, r.get_json()
        return {u["id"] for u in r.get_json()["items"]}

    everyone = ids()
    assert {admin.id, county.id, city.id} <= everyone and foreign.id not in everyone
    assert county.id in ids(unit="360827") and city.id not in ids(unit="360827")
    assert ids(unit="430502") == set()  # outside the admin's subtree: nothing, not an error
    assert city.id in ids(role="supervisor") and county.id not in ids(role="supervisor")
    assert county.id not in ids(is_active="false")
    page = client.get("/api/v1/users", query_string={"page_size": 1}, headers=headers).get_json()
    assert len(page["items"]) == 1 and page["total"] == len(everyone) and "password_hash" not in page["items"][0]


def test_disable_and_enable_an_account(client, make_user):
    target, _ = make_user(role="clerk", unit="360827")
    _, admin = make_user(role="admin", unit="360800")
    token = bearer(login(client, target.username, DEFAULT_PASSWORD))
    r = client.patch(f"/api/v1/users/{target.id}", json={"is_active": False}, headers=admin)
    assert r.status_code == 200 and r.get_json()["is_active"] is False
    assert me(client, token) == 401
    assert login(client, target.username, DEFAULT_PASSWORD).status_code == 401
    r = client.get("/api/v1/users", query_string={"is_active": "false", "unit": "360827"}, headers=admin)
    assert target.id in {u["id"] for u in r.get_json()["items"]}

    assert client.patch(f"/api/v1/users/{target.id}", json={"is_active": True}, headers=admin).status_code == 200
    assert me(client, token) == 401  # an old token stays revoked
    assert login(client, target.username, DEFAULT_PASSWORD).status_code == 200


def test_an_admin_resets_a_password(client, make_user):
    target, _ = make_user(role="clerk", unit="360827")
    _, admin = make_user(role="admin", unit="360000")
    token = bearer(login(client, target.username, DEFAULT_PASSWORD))
    r = client.patch(f"/api/v1/users/{target.id}", json={"password": NEW_PASSWORD}, headers=admin)
    assert r.status_code == 200 and "password" not in r.get_json()
    assert me(client, token) == 401
    assert login(client, target.username, DEFAULT_PASSWORD, addr="10.7.0.2").status_code == 401
    assert login(client, target.username, NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize("body, field", [
    ({}, "is_active"),
    ({"password": "short"}, "password"),
    ({"is_active": "no"}, "is_active"),
    ({"is_active": None}, "is_active"),
])
def test_a_bad_update_names_the_field_and_changes_nothing(client, session, make_user, body, field):
    target, _ = make_user(role="clerk", unit="360827")
    _, admin = make_user(role="admin", unit="360000")
    before = (target.password_hash, target.is_active, target.token_version)
    r = client.patch(f"/api/v1/users/{target.id}", json=body, headers=admin)
    assert r.status_code == 422 and r.content_type == PROBLEM and field in r.get_json()["errors"], r.get_json()
    session.refresh(target)
    assert (target.password_hash, target.is_active, target.token_version) == before


def test_an_admin_cannot_disable_itself_nor_reach_outside_its_subtree(client, make_user):
    admin, headers = make_user(role="admin", unit="360800")
    r = client.patch(f"/api/v1/users/{admin.id}", json={"is_active": False}, headers=headers)
    assert r.status_code == 422 and "is_active" in r.get_json()["errors"]
    above, _ = make_user(role="clerk", unit="360000")
    foreign, _ = make_user(role="clerk", unit="430502")
    for other in (above, foreign):
        r = client.patch(f"/api/v1/users/{other.id}", json={"is_active": False}, headers=headers)
        assert r.status_code == 404 and r.content_type == PROBLEM
    assert client.patch("/api/v1/users/999999999", json={"is_active": False}, headers=headers).status_code == 404


def test_a_user_changes_its_own_password(client, make_user):
    user, _ = make_user(role="clerk", unit="360827")
    first = bearer(login(client, user.username, DEFAULT_PASSWORD))
    second = bearer(login(client, user.username, DEFAULT_PASSWORD))
    r = client.post("/api/v1/auth/password", headers=first,
                    json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 204, r.get_json()
    assert me(client, first) == me(client, second) == 401  # every session ends: log in again
    assert login(client, user.username, NEW_PASSWORD).status_code == 200
    assert login(client, user.username, DEFAULT_PASSWORD, addr="10.7.0.3").status_code == 401


@pytest.mark.parametrize("current, new, field", [
    ("not-the-password", NEW_PASSWORD, "current_password"),
    (DEFAULT_PASSWORD, "short", "new_password"),
    (DEFAULT_PASSWORD, DEFAULT_PASSWORD, "new_password"),
])
def test_a_refused_password_change_names_the_field_and_keeps_the_session(client, make_user, current, new, field):
    user, _ = make_user(role="clerk", unit="360827")
    token = bearer(login(client, user.username, DEFAULT_PASSWORD))
    r = client.post("/api/v1/auth/password", headers=token, json={"current_password": current, "new_password": new})
    assert r.status_code == 422 and r.content_type == PROBLEM and list(r.get_json()["errors"]) == [field]
    assert new not in r.get_data(as_text=True) or new == DEFAULT_PASSWORD
    assert me(client, token) == 200
    assert login(client, user.username, DEFAULT_PASSWORD).status_code == 200


def test_guessing_the_current_password_is_rate_limited(client, make_user, redis_client, app):
    user, _ = make_user(role="clerk", unit="360827")
    token = bearer(login(client, user.username, DEFAULT_PASSWORD))
    limit = app.config["LOGIN_MAX_FAILURES_PER_USER"]
    answers = [client.post("/api/v1/auth/password", headers=token,
                           json={"current_password": f"guess-{n:04d}-x", "new_password": NEW_PASSWORD}).status_code
               for n in range(limit + 1)]
    assert answers[:limit] == [422] * limit and answers[limit] == 429
    # The right password is refused too while the lock lasts, as at login.
    r = client.post("/api/v1/auth/password", headers=token,
                    json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 429 and r.content_type == PROBLEM


def test_cli_disable_and_enable(app, committed_session, monkeypatch):
    from casework.cli import main
    from tests.factories import UserFactory

    monkeypatch.setattr("casework.cli._app", lambda: app)
    user = UserFactory(role="clerk", unit_code="360827")
    committed_session.commit()
    try:
        result = CliRunner().invoke(main, ["users", "disable", "--username", user.username.upper()])
        assert result.exit_code == 0 and f"disabled user {user.username}" in result.output, result.output
        committed_session.expire_all()
        assert committed_session.get(User, user.id).is_active is False
        result = CliRunner().invoke(main, ["users", "enable", "--username", user.username])
        assert result.exit_code == 0, result.output
        committed_session.expire_all()
        assert committed_session.get(User, user.id).is_active is True
        assert CliRunner().invoke(main, ["users", "disable", "--username", "nobody-here"]).exit_code == 1
    finally:
        committed_session.execute(sa.delete(User).where(User.id == user.id))
        committed_session.commit()
