"""Malformed intakes: every one answers 4xx problem+json naming the field, and none writes a row."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from casework.cases.models import Case, CaseEvent, CaseNumberCounter, IdempotencyKey
from tests.cases.conftest import complaint_body, make_id_number, petition_body

GOOD_ID = make_id_number()
# The same number with any other check character.
WRONG_CHECK_ID = GOOD_ID[:-1] + ("1" if GOOD_ID[-1] != "1" else "2")


def _pet(**fields) -> dict:
    """petition_body with petitioner fields replaced."""
    body = petition_body()
    body["petitioner"] = {**body["petitioner"], **fields}
    return body


def _without(field: str, body: dict | None = None) -> dict:
    body = body or petition_body()
    body.pop(field)
    return body


def _pet_without(field: str) -> dict:
    body = petition_body()
    body["petitioner"].pop(field)
    return body


def _raw(data: bytes, content_type: str | None = "application/json") -> dict:
    return {"data": data, **({"content_type": content_type} if content_type else {})}


def _soon(**delta) -> str:
    return (datetime.now(timezone.utc) + timedelta(**delta)).isoformat()


# (id, request: a JSON body or raw test-client kwargs, expected status, a field `errors` must name)
CASES = [
    # Personal data that cannot be right.
    ("id_check_digit", _pet(id_number=WRONG_CHECK_ID), 422, "petitioner.id_number"),
    ("id_birth_31_february", _pet(id_number=make_id_number(birth="19900231")), 422, "petitioner.id_number"),
    ("id_17_chars", _pet(id_number=GOOD_ID[:-1]), 422, "petitioner.id_number"),
    ("name_emoji_only", _pet(name="😀😀"), 422, "petitioner.name"),
    ("name_digits_only", _pet(name="12345"), 422, "petitioner.name"),
    ("phone_not_mobile", _pet(phone="12345678901"), 422, "petitioner.phone"),
    ("petition_without_id_number", _pet_without("id_number"), 422, "petitioner.id_number"),
    # Regions: the shape is the schema's, existence is the database's (intake._regions).
    ("region_unknown", petition_body(region="999999"), 422, "region"),
    ("region_5_digits", petition_body(region="36082"), 422, "region"),
    ("region_7_digits", petition_body(region="3608270"), 422, "region"),
    ("region_discipline_unit", petition_body(region="D360827"), 422, "region"),
    ("regions_unknown_second", petition_body(regions=["999999"]), 422, "regions.0"),
    ("regions_not_a_list", petition_body(regions="360825"), 422, "regions"),
    # Lengths and blanks.
    ("content_20001", petition_body(content="访" * 20_001), 422, "content"),
    ("content_blank", petition_body(content=" \n\t "), 422, "content"),
    ("title_201", petition_body(title="题" * 201), 422, "title"),
    ("title_empty", petition_body(title=""), 422, "title"),
    ("title_blank", petition_body(title="   "), 422, "title"),
    # Wrong types.
    ("people_count_string", petition_body(people_count="5"), 422, "people_count"),
    ("people_count_zero", petition_body(people_count=0), 422, "people_count"),
    ("people_count_negative", petition_body(people_count=-1), 422, "people_count"),
    ("people_count_fraction", petition_body(people_count=1.5), 422, "people_count"),
    ("title_number", petition_body(title=123), 422, "title"),
    ("title_null", petition_body(title=None), 422, "title"),
    ("petitioner_list", petition_body(petitioner=[petition_body()["petitioner"]]), 422, "petitioner"),
    # Missing fields.
    *[(f"missing_{f}", _without(f), 422, f) for f in ("kind", "channel", "category", "title", "content", "region")],
    ("missing_petitioner_of_petition", _without("petitioner"), 422, "petitioner"),
    # Values outside the vocabularies.
    ("unknown_kind", petition_body(kind="appeal"), 422, "kind"),
    ("unknown_channel", petition_body(channel="fax"), 422, "channel"),
    ("unknown_category", petition_body(category="housing"), 422, "category"),
    ("unknown_urgency", petition_body(urgency="asap"), 422, "urgency"),
    # Fields nobody asked for: a typo must not pass silently.
    ("extra_top_level", petition_body(priority="high"), 422, "priority"),
    ("extra_petitioner_field", _pet(gender="男"), 422, "petitioner.gender"),
    # Anonymity: only complaints, and then without a petitioner.
    ("anonymous_petition", _without("petitioner", petition_body(anonymous=True)), 422, "anonymous"),
    ("anonymous_complaint_with_petitioner", complaint_body(anonymous=True), 422, "petitioner"),
    # received_at: aware and not ahead of us (beyond the clock-drift tolerance).
    ("received_at_future", petition_body(received_at=_soon(days=1)), 422, "received_at"),
    ("received_at_naive", petition_body(received_at="2025-03-01T09:30:00"), 422, "received_at"),
    ("received_at_not_a_date", petition_body(received_at="yesterday"), 422, "received_at"),
    # Year 1 at +08:00 is before datetime.min in UTC: once a 500 from the conversion.
    ("received_at_year_1", petition_body(received_at="0001-01-01T00:00:00+08:00"), 422, "received_at"),
    # Strings no column can hold: NUL (PostgreSQL text refuses it) and lone surrogates (not UTF-8). Were 500s.
    ("nul_in_title", petition_body(title="低保\x00申请"), 422, "title"),
    ("nul_in_address", _pet(address="遂川县\x00泉江镇"), 422, "petitioner.address"),
    ("lone_surrogate_in_content",
     _raw(json.dumps(petition_body(content="PLACEHOLDER")).replace("PLACEHOLDER", "\\ud800").encode()), 422,
     "content"),
    # The address is stored encrypted in a 2000-character column; 500 four-byte characters overflowed it (a 500).
    ("address_301", _pet(address="地" * 301), 422, "petitioner.address"),
    # The body itself.
    ("huge_body", _raw(json.dumps(petition_body(content="x" * (1024 * 1024 + 1))).encode()), 413, "body"),
    ("not_json", _raw(b"{kind: petition"), 400, "body"),
    ("nested_too_deep", _raw(b"[" * 100_000 + b"]" * 100_000), 400, "body"),  # RecursionError, was a 500
    ("invalid_utf8", _raw(b'{"title": "\xff\xfe"}'), 400, "body"),
    ("json_array", _raw(json.dumps([petition_body()]).encode()), 422, "body"),
    ("json_null", _raw(b"null"), 422, "body"),
    ("json_string", _raw(b'"petition"'), 422, "body"),
    ("empty_body", _raw(b""), 422, "kind"),
    # JSON sent as text/plain would otherwise be ignored and read as "every field missing".
    ("text_plain", _raw(json.dumps(petition_body()).encode(), "text/plain"), 415, "Content-Type"),
    ("form_encoded", _raw(b"kind=petition", "application/x-www-form-urlencoded"), 415, "Content-Type"),
]


def _counts(session) -> dict[str, int]:
    return {m.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (Case, CaseEvent, IdempotencyKey, CaseNumberCounter)}


def _is_problem(r, status: int) -> dict:
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.content_type == "application/problem+json"
    body = r.get_json(force=True)
    assert body["status"] == status and body["title"] and body["detail"]
    return body


@pytest.fixture()
def clerk(make_user):
    return make_user(role="clerk", unit="360827")[1]


@pytest.mark.parametrize("request_, status, field", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_intake_is_rejected_without_a_trace(client, session, clerk, request_, status, field):
    before = _counts(session)
    # A key on every attempt: a key claimed before validation failed must not survive the rollback either.
    headers = {**clerk, "Idempotency-Key": "bad-input-attempt"}
    kwargs = request_ if "data" in request_ else {"json": request_}
    body = _is_problem(client.post("/api/v1/cases", headers=headers, **kwargs), status)
    assert field in body.get("errors", {}), body
    assert all(isinstance(m, str) and m for m in body["errors"][field])
    assert _counts(session) == before


@pytest.mark.parametrize("key", ["k" * 201, "", "bad\tkey"], ids=["201_chars", "empty", "control_char"])
def test_bad_idempotency_key_is_422(client, session, clerk, key):
    before = _counts(session)
    r = client.post("/api/v1/cases", json=petition_body(), headers={**clerk, "Idempotency-Key": key})
    assert "Idempotency-Key" in _is_problem(r, 422)["errors"]
    assert _counts(session) == before


def test_200_char_key_and_valid_body_are_accepted(client, session, clerk):
    # The control for the table: the baseline body and the longest key do make a case.
    before = _counts(session)
    r = client.post("/api/v1/cases", json=petition_body(), headers={**clerk, "Idempotency-Key": "k" * 200})
    assert r.status_code == 201, r.get_json()
    after = _counts(session)
    assert after["cases"] == before["cases"] + 1 and after["idempotency_keys"] == before["idempotency_keys"] + 1


def test_longest_values_in_any_script_fit_their_columns(client, session, clerk):
    # Four-byte characters (CJK Extension B, 生僻字) at every maximum length: must store, and read back whole.
    rare = "\U00020000"
    body = _pet(name=rare * 50, address=rare * 300)
    body.update(title=rare * 200)
    r = client.post("/api/v1/cases", json=body, headers=clerk)
    assert r.status_code == 201, r.get_data(as_text=True)[:300]
    shown = r.get_json()
    assert shown["title"] == rare * 200
    assert shown["petitioner"]["address"] == rare * 300 and shown["petitioner"]["name"] == rare * 50


def test_received_at_within_clock_drift_is_accepted(client, clerk):
    # Two minutes ahead is a skewed clock, not the future.
    r = client.post("/api/v1/cases", json=petition_body(received_at=_soon(minutes=2)), headers=clerk)
    assert r.status_code == 201, r.get_json()


def test_unauthenticated_malformed_intake_is_401(client, session):
    before = _counts(session)
    _is_problem(client.post("/api/v1/cases", json=petition_body(title="")), 401)
    assert _counts(session) == before


def test_inspector_may_not_take_in_cases(client, session, make_user):
    _, inspector = make_user(role="inspector", unit="360827")
    before = _counts(session)
    _is_problem(client.post("/api/v1/cases", json=petition_body(), headers=inspector), 403)
    assert _counts(session) == before
