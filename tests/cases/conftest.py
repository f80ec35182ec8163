"""Shared helpers for case tests."""
from __future__ import annotations

import pytest

from casework.cases.validators import id_check_digit


def make_id_number(birth: str = "19800101", seq: str = "123", region: str = "360827") -> str:
    first17 = f"{region}{birth}{seq}"
    return first17 + id_check_digit(first17)


def petition_body(**overrides) -> dict:
    body = {
        "kind": "petition", "channel": "letter", "category": "dibao",
        "title": "低保待遇申请未获答复", "content": "本人于今年三月申请低保，至今未获答复。",
        "region": "360827", "people_count": 1,
        "petitioner": {"name": "张三", "id_number": make_id_number(), "phone": "13812345678",
                       "address": "江西省吉安市遂川县泉江镇"},
    }
    body.update(overrides)
    return body


def complaint_body(**overrides) -> dict:
    body = petition_body(kind="complaint", channel="hotline", category="elderly_care",
                         title="养老院服务差", content="敬老院伙食差。", urgency="normal")
    body["petitioner"] = {"name": "李四", "phone": "13912345678"}
    body.update(overrides)
    return body


@pytest.fixture()
def intake(client):
    """POST a case and return its JSON (asserting 201)."""

    def _intake(headers, body=None, **overrides):
        r = client.post("/api/v1/cases", json=body or petition_body(**overrides), headers=headers)
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    return _intake


@pytest.fixture()
def act(client):
    """POST an action with the case's current version; returns the response."""

    def _act(headers, case, action, **params):
        params.setdefault("version", case["version"])
        return client.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=params, headers=headers)

    return _act
