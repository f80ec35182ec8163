"""Personal data: encrypted at rest, masked unless the role needs it, full reads audited, keys rotate."""
from __future__ import annotations

import base64
import os

import pytest
import sqlalchemy as sa

from casework.cases import pii
from casework.cases.models import AccessEvent, Case
from casework.security import pii_box
from tests.cases.conftest import complaint_body, make_id_number, petition_body

ID = make_id_number()                       # 360827198001011233-style, ends in a digit
ID_X = make_id_number(seq="102")            # ends in X
PHONE, NAME, ADDRESS = "13812345678", "张三", "江西省吉安市遂川县泉江镇"
CLEAR = {"name": NAME, "id_number": ID, "phone": PHONE, "address": ADDRESS}
MASKED = {"name": "张*", "id_number": ID[:4] + "*" * 10 + ID[-4:], "phone": "138****5678", "address": "江西省吉安市****"}


def _raw(session, case_id: int):
    t = Case.__table__
    return session.execute(sa.select(t.c.petitioner_name, t.c.petitioner_id_number, t.c.petitioner_phone,
                                     t.c.petitioner_address, t.c.pii_key_id, t.c.person_index)
                           .where(t.c.id == case_id)).one()


def _access(session, case_id: int) -> list[AccessEvent]:
    return list(session.scalars(sa.select(AccessEvent).where(AccessEvent.case_id == case_id)
                                .order_by(AccessEvent.id).execution_options(populate_existing=True)))


@pytest.fixture()
def clerk(make_user):
    return make_user(role="clerk", unit="360827")


def test_stored_encrypted_under_the_current_key(session, clerk, intake):
    case = intake(clerk[1])
    row = _raw(session, case["id"])
    assert row.pii_key_id == pii_box.current_key_id and row.pii_key_id
    for column, clear in zip(row[:4], (NAME, ID, PHONE, ADDRESS)):
        assert clear not in column and ID[-4:] + ID[:4] not in column
        assert column.startswith(row.pii_key_id + "$")
        assert pii_box.decrypt(column) == clear
    # Same plaintext, fresh nonce: two cases never share a ciphertext.
    other = _raw(session, intake(clerk[1])["id"])
    assert other.petitioner_id_number != row.petitioner_id_number
    assert other.person_index == row.person_index and ID not in row.person_index


@pytest.mark.parametrize("role, unit, full", [
    ("clerk", "360827", True),          # the handling unit works with the petitioner
    ("supervisor", "360827", True),
    ("inspector", "360827", False),     # same county, but inspection needs no identity
    ("admin", "360827", False),
    ("supervisor", "360800", False),    # the city above: oversight, not handling
    ("clerk", "360800", False),
    ("inspector", "100000", False),
])
def test_who_sees_what(client, session, make_user, clerk, intake, role, unit, full):
    case = intake(clerk[1])
    reader, headers = make_user(role=role, unit=unit)
    before = len(_access(session, case["id"]))
    shown = client.get(f"/api/v1/cases/{case['id']}", headers=headers).get_json()["petitioner"]
    assert shown == (CLEAR if full else MASKED)
    logged = _access(session, case["id"])[before:]
    if full:
        # Every full read leaves a row naming who read which fields of which case.
        assert len(logged) == 1
        assert (logged[0].user_id, logged[0].case_id) == (reader.id, case["id"])
        assert set(logged[0].fields.split(",")) == {"name", "id_number", "phone", "address"}
    else:
        assert logged == []


def test_each_full_read_is_logged_and_lists_always_mask(client, session, clerk, intake):
    user, headers = clerk
    case = intake(headers)
    assert case["petitioner"] == CLEAR  # the intake answer itself is a full read
    assert len(_access(session, case["id"])) == 1
    for _ in range(2):
        client.get(f"/api/v1/cases/{case['id']}", headers=headers)
    assert [(a.user_id, a.purpose) for a in _access(session, case["id"])] == [(user.id, "case_read")] * 3
    listed = client.get("/api/v1/cases", headers=headers).get_json()["items"]
    assert [c["petitioner"] for c in listed] == [MASKED]
    assert len(_access(session, case["id"])) == 3  # a list is not a full read


def test_answers_after_actions_follow_the_same_rule(client, session, clerk, act, intake, make_user):
    case = intake(clerk[1])
    accepted = act(clerk[1], case, "accept").get_json()
    assert accepted["petitioner"] == CLEAR
    assert len(_access(session, case["id"])) == 2


def test_events_carry_no_personal_data(client, clerk, intake):
    case = intake(clerk[1])
    text = client.get(f"/api/v1/cases/{case['id']}/events", headers=clerk[1]).get_data(as_text=True)
    assert ID not in text and PHONE not in text and NAME not in text


def test_anonymous_complaint_has_no_petitioner_and_no_access_log(client, session, clerk, intake):
    body = complaint_body(anonymous=True)
    body.pop("petitioner")
    case = intake(clerk[1], body)
    assert case["petitioner"] is None and case["anonymous"] is True
    assert _raw(session, case["id"]).pii_key_id is None and _access(session, case["id"]) == []


def test_blind_index_equal_for_the_same_number_only(session, clerk, intake):
    h = clerk[1]
    first = intake(h)
    # The same number typed with spaces and full-width digits normalises to the same person.
    typed = " ".join([ID[:6], ID[6:14], ID[14:]]).replace("1", "１")
    same = intake(h, petition_body(petitioner={"name": "张三", "id_number": typed, "phone": PHONE}))
    x_upper = intake(h, petition_body(petitioner={"name": "李四", "id_number": ID_X, "phone": PHONE}))
    x_lower = intake(h, petition_body(petitioner={"name": "李四", "id_number": ID_X.lower(), "phone": PHONE}))
    other = intake(h, petition_body(petitioner={"name": "王五", "id_number": make_id_number(seq="124"),
                                                "phone": PHONE}))
    idx = {k: _raw(session, c["id"]).person_index for k, c in
           dict(first=first, same=same, x_upper=x_upper, x_lower=x_lower, other=other).items()}
    assert idx["first"] == idx["same"] == pii.person_index(ID)
    assert idx["x_upper"] == idx["x_lower"]
    assert len({idx["first"], idx["x_upper"], idx["other"]}) == 3
    assert all(len(v) == 64 for v in idx.values())


@pytest.fixture()
def rotate(app):
    """Put a new key in front of the configured ones (as an operator would); the original spec is restored."""
    original = app.config["PII_KEYS"]

    def _rotate() -> str:
        pii_box.configure(f"new:{base64.urlsafe_b64encode(os.urandom(32)).decode()},{original}")
        return "new"

    yield _rotate
    pii_box.configure(original)


def test_key_rotation(client, session, clerk, intake, rotate):
    case = intake(clerk[1])  # written under the original key
    before = _raw(session, case["id"])
    new_kid = rotate()
    assert pii_box.current_key_id == new_kid != before.pii_key_id
    # Old values still decrypt with the new key in front.
    assert client.get(f"/api/v1/cases/{case['id']}", headers=clerk[1]).get_json()["petitioner"] == CLEAR
    obj = session.get(Case, case["id"])
    assert pii.reencrypt(obj) is True
    session.flush()
    after = _raw(session, case["id"])
    assert after.pii_key_id == new_kid
    assert all(col.startswith(new_kid + "$") and col not in before for col in after[:4])
    assert after.person_index == before.person_index  # repeat detection survives rotation
    assert pii.decrypt_petitioner(obj) == CLEAR
    assert pii.reencrypt(obj) is False  # already under the current key
    # New intakes use the new key and still find the same person.
    fresh = intake(clerk[1])
    assert _raw(session, fresh["id"]).pii_key_id == new_kid
    assert fresh["possible_repeat_of"]["id"] == case["id"]
    assert client.get(f"/api/v1/cases/{case['id']}", headers=clerk[1]).get_json()["petitioner"] == CLEAR
