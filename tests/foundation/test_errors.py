"""Every error answers application/problem+json, naming the fields."""
from __future__ import annotations

import pytest


def _is_problem(r, status):
    assert r.status_code == status, r.data
    assert r.content_type == "application/problem+json"
    body = r.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    return body


def test_404_unknown_route(client):
    _is_problem(client.get("/api/v1/no-such-thing"), 404)


def test_405_wrong_method(client):
    r = client.delete("/api/v1/auth/token")
    _is_problem(r, 405)
    assert "POST" in r.headers["Allow"]


def test_400_not_json(client):
    r = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    body = _is_problem(r, 400)
    assert "body" in body["errors"]


def test_401_without_token(client):
    _is_problem(client.get("/api/v1/users/me"), 401)


def test_403_wrong_role(client, make_user):
    _, headers = make_user(role="supervisor")
    _is_problem(client.post("/api/v1/users", json={}, headers=headers), 403)


def test_409_conflict(client, make_user):
    _, headers = make_user(role="admin", unit="100000")
    body = {"username": "twice_made", "password": "a-long-enough-pass", "role": "clerk", "unit": "360827"}
    client.post("/api/v1/users", json=body, headers=headers)
    _is_problem(client.post("/api/v1/users", json=body, headers=headers), 409)


def test_413_too_large(client):
    r = client.post("/api/v1/auth/token", data="x" * (2 * 1024 * 1024), content_type="application/json")
    _is_problem(r, 413)


def test_422_unknown_and_missing_fields(client):
    r = client.post("/api/v1/auth/token", json={"username": "a", "extra": 1})
    body = _is_problem(r, 422)
    assert set(body["errors"]) == {"extra", "password"}


@pytest.mark.parametrize("payload", [[], "string", 5, None])
def test_422_wrong_top_level_type(client, payload):
    r = client.post("/api/v1/auth/token", json=payload)
    assert r.status_code in (400, 422)
    assert r.content_type == "application/problem+json"


def test_422_wrong_field_type(client):
    body = _is_problem(client.post("/api/v1/auth/token", json={"username": 5, "password": []}), 422)
    assert set(body["errors"]) == {"username", "password"}


def test_429_is_problem(client):
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"username": "lockme", "password": "nope-nope"})
    _is_problem(client.post("/api/v1/auth/token", json={"username": "lockme", "password": "nope-nope"}), 429)


def test_500_is_problem_without_details(client, make_user, monkeypatch):
    from casework.units import service

    def boom(**_):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service, "get_unit", boom)  # force an unexpected failure inside a view
    _, headers = make_user()
    body = _is_problem(client.get("/api/v1/units/360827", headers=headers), 500)
    assert "secret" not in body["detail"]


def test_readyz_and_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.get_json()["checks"] == {"database": "ok", "redis": "ok"}
    assert r.get_json()["outbox_backlog"] >= 0


def test_openapi_document(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.get_json()
    assert spec["openapi"].startswith("3.") and "/api/v1/auth/token" in spec["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_request_id_header(client):
    r = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert r.headers["X-Request-ID"] == "abc123"
    assert client.get("/healthz").headers["X-Request-ID"]
