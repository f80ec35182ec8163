from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from flask import current_app

from casework.auth.service import issue_token
from tests.factories import DEFAULT_PASSWORD


def _login(client, username, password, addr="10.0.0.1"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": addr})


def test_login_issues_a_working_token(client, make_user):
    user, _ = make_user()
    r = _login(client, user.username, DEFAULT_PASSWORD)
    assert r.status_code == 200
    body = r.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.get_json()["username"] == user.username


def test_wrong_password_and_unknown_user_answer_the_same(client, make_user):
    user, _ = make_user()
    wrong = _login(client, user.username, "not-the-password")
    unknown = _login(client, "nobody-at-all", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.content_type == "application/problem+json"


def test_login_is_rate_limited_per_username(client, make_user):
    user, _ = make_user()
    for i in range(5):
        assert _login(client, user.username, "bad-password", addr=f"10.1.0.{i}").status_code == 401
    # Locked now, even with the right password and from a fresh address.
    r = _login(client, user.username, DEFAULT_PASSWORD, addr="10.9.9.9")
    assert r.status_code == 429 and r.content_type == "application/problem+json"


def test_login_is_rate_limited_per_address(client, make_user):
    user, _ = make_user()
    for i in range(20):
        _login(client, f"ghost{i}", "bad-password", addr="10.2.0.1")
    assert _login(client, user.username, DEFAULT_PASSWORD, addr="10.2.0.1").status_code == 429
    assert _login(client, user.username, DEFAULT_PASSWORD, addr="10.2.0.2").status_code == 200


def test_expired_token(client, make_user):
    user, _ = make_user()
    token = issue_token(user=user, secret=current_app.config["SECRET_KEY"], ttl_seconds=60,
                        now=datetime.now(timezone.utc) - timedelta(hours=1))["access_token"]
    r = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "expired" in r.get_json()["detail"]


def test_token_of_deleted_user(client, session, make_user):
    user, headers = make_user()
    session.delete(user)
    session.commit()
    assert client.get("/api/v1/users/me", headers=headers).status_code == 401


def test_token_of_disabled_user_and_logout(client, session, make_user):
    user, headers = make_user()
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/users/me", headers=headers).status_code == 401
    other, headers2 = make_user()
    other.is_active = False
    session.commit()
    assert client.get("/api/v1/users/me", headers=headers2).status_code == 401


def test_forged_token(client):
    r = client.get("/api/v1/users/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert r.status_code == 401


def _new_user(unit, role="clerk", username="newbie01"):
    return {"username": username, "password": "a-long-enough-pass", "role": role, "unit": unit}


def test_clerk_cannot_create_users(client, make_user):
    _, headers = make_user(role="clerk")
    r = client.post("/api/v1/users", json=_new_user("360827"), headers=headers)
    assert r.status_code == 403


@pytest.mark.parametrize("admin_unit,target,status", [
    ("360000", "430000", 403),  # 江西 admin creating a user in 湖南
    ("360000", "360827", 201),  # its own subtree
    ("360827", "360800", 403),  # a county admin cannot create at its parent
    ("100000", "430502", 201),  # the ministry sees everything
])
def test_admin_scope(client, make_user, admin_unit, target, status):
    _, headers = make_user(role="admin", unit=admin_unit)
    r = client.post("/api/v1/users", json=_new_user(target), headers=headers)
    assert r.status_code == status, r.get_json()
    if status == 201:
        assert r.get_json()["unit"] == target and "password" not in r.get_json()


@pytest.mark.parametrize("body,field", [
    ({"username": "ok_name", "password": "short", "role": "clerk", "unit": "360827"}, "password"),
    ({"username": "ok_name", "password": "xx-ok_name-xx", "role": "clerk", "unit": "360827"}, "password"),
    ({"username": "ok_name", "password": "a-long-enough-pass", "role": "boss", "unit": "360827"}, "role"),
    ({"username": "ok_name", "password": "a-long-enough-pass", "role": "clerk", "unit": "999999"}, "unit"),
    ({"username": "no spaces", "password": "a-long-enough-pass", "role": "clerk", "unit": "360827"}, "username"),
    ({"password": "a-long-enough-pass", "role": "clerk", "unit": "360827"}, "username"),
])
def test_user_creation_validation(client, make_user, body, field):
    _, headers = make_user(role="admin", unit="100000")
    r = client.post("/api/v1/users", json=body, headers=headers)
    assert r.status_code == 422 and field in r.get_json()["errors"]


def test_duplicate_username(client, make_user):
    _, headers = make_user(role="admin", unit="100000")
    assert client.post("/api/v1/users", json=_new_user("360827"), headers=headers).status_code == 201
    r = client.post("/api/v1/users", json=_new_user("360827"), headers=headers)
    assert r.status_code == 409 and "username" in r.get_json()["errors"]
