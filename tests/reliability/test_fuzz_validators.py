"""Hypothesis fuzzing of the identity-number and region (division code) validators, down to the API.

tests/cases/test_validators.py checks the validators against the standard by example; here arbitrary and
adversarial input must either come out normalised and valid or be refused with the validator's own error,
and an edit of a valid number (one character changed, two swapped) must never slip through.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from casework.bulletins.schemas import BulletinRequestSchema
from casework.cases.schemas import AccusedSchema, CaseCreateSchema, CaseListQuerySchema
from casework.cases.validators import (InvalidDivisionCode, InvalidIdNumber, id_check_digit,
                                       validate_division_code_format, validate_id_number, validate_village_code)
from casework.rectification.schemas import RectificationCreateSchema
from casework.units.models import Unit
from tests.cases.conftest import petition_body

FUZZ = settings(max_examples=300, derandomize=True, database=None, deadline=None)
PROVINCES = [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66),
             71, 81, 82]
# Characters that look like digits or separators to a person but are not ASCII digits.
TRICKY = "0123456789Xx \t\n\u3000\uff10\uff19\uff38\u0663\u06f3\u0969\u2075\u00b2\u2460-+\u200b\u00a0"


def is_valid_number(value: str) -> bool:
    """An independent statement of GB 11643-1999 for a normalised 18-character number."""
    if len(value) != 18 or not value[:17].isascii() or not value[:17].isdigit():
        return False
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(value, weights)) % 11]
    return int(value[:2]) in PROVINCES and date(1900, 1, 1) <= birth <= date.today() and value[17] == check


@st.composite
def valid_numbers(draw) -> str:
    first6 = f"{draw(st.sampled_from(PROVINCES)):02d}{draw(st.integers(0, 9999)):04d}"
    birth = draw(st.dates(date(1900, 1, 1), date.today() - timedelta(days=1)))
    first17 = f"{first6}{birth:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return first17 + id_check_digit(first17)


noise = st.one_of(st.text(), st.text(TRICKY, max_size=24), valid_numbers().map(lambda n: n[:-1] + "\uff38"))


@FUZZ
@given(noise)
@example("11010519491231002\uff58")  # full-width small x
@example("\u0663" * 18)  # Arabic-Indic digits: str.isdigit() says yes
def test_id_number_is_valid_and_normalised_or_refused(text):
    try:
        number = validate_id_number(text)
    except InvalidIdNumber as exc:
        # Messages end up in answers and logs: they never repeat the whole input.
        assume(len(text.strip()) >= 10)
        assert text.strip() not in str(exc)
        return
    assert is_valid_number(number) and validate_id_number(number) == number


@FUZZ
@given(valid_numbers(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_one_changed_character_is_always_caught(number, position, char):
    assume(number[position] != char)
    with pytest.raises(InvalidIdNumber):
        validate_id_number(number[:position] + char + number[position + 1:])


@FUZZ
@given(valid_numbers(), st.integers(0, 15))
def test_two_swapped_neighbours_are_always_caught(number, position):
    assume(number[position] != number[position + 1])
    with pytest.raises(InvalidIdNumber):
        validate_id_number(number[:position] + number[position + 1] + number[position] + number[position + 2:])


@FUZZ
@given(valid_numbers(), st.lists(st.sampled_from(" \t\u3000"), max_size=4), st.booleans())
def test_spacing_and_full_width_forms_normalise_to_the_same_number(number, spaces, full_width):
    typed = number.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"}) if full_width else number
    assert validate_id_number("".join(spaces) + typed[:6] + "".join(spaces) + typed[6:].lower()) == number


# --- region codes: the pure validators and every schema field that takes a division code ----------------------

@FUZZ
@given(st.one_of(st.text(), st.text(TRICKY, max_size=14)))
@example("360827\n")
@example("\u0663\u0666\u0660\u0668\u0662\u0667")
def test_division_code_validators(text):
    try:
        assert validate_division_code_format(text) == text.strip()
        assert text.strip().isascii() and text.strip().isdigit() and len(text.strip()) == 6
    except InvalidDivisionCode:
        assert not (text.strip().isascii() and text.strip().isdigit() and len(text.strip()) == 6)
    try:
        village = validate_village_code(text)
        assert village is None and not text.strip() or (village.isascii() and village.isdigit() and len(village) == 12)
    except InvalidDivisionCode:
        pass


# (schema, field, a valid document around the field, digits the field takes)
CODE_FIELDS = [
    (CaseCreateSchema, "region", petition_body(), 6),
    (CaseCreateSchema, "village_code", petition_body(), 12),
    (CaseListQuerySchema, "region", {}, 6),
    (AccusedSchema, "unit", {"name": "王五"}, 6),
    (BulletinRequestSchema, "unit", {"period": "month", "start": "2024-01-01"}, 6),
    (RectificationCreateSchema, "responsible_unit", {"source_text": "x", "finding_date": "2024-01-01", "task": "x",
                                                     "measures": "x", "deadline": "2024-02-01",
                                                     "responsible_person": "x"}, 6),
]


@pytest.mark.parametrize("schema,field,document,digits", CODE_FIELDS, ids=lambda v: getattr(v, "__name__", None))
def test_code_fields_take_ascii_digits_only(schema, field, document, digits):
    @FUZZ
    @given(st.one_of(st.text(TRICKY, min_size=digits - 1, max_size=digits + 1), st.text(max_size=digits + 2)))
    @example("3608271234567"[:digits] + "\n")  # "$" in a Python regex also matches before a final newline
    @example("\u0663" * digits)
    def check(text):
        errors = schema().validate({**document, field: text})
        assert (field not in errors) == (text.isascii() and text.isdigit() and len(text) == digits), errors

    check()


# --- region through the API: the answer is the case, or a 422 naming the field ---------------------------------

@pytest.mark.parametrize("field", ["region", "regions"])
def test_intake_region_fuzz(client, session, make_user, field):
    _, clerk = make_user(role="clerk", unit="360827")
    known = set(session.scalars(sa.select(Unit.code).where(Unit.kind == "civil_affairs")))
    codes = st.one_of(st.sampled_from(sorted(c for c in known if c.startswith("36"))),
                      st.text("0123456789", min_size=6, max_size=6), st.text(TRICKY, max_size=8),
                      st.sampled_from(["D360827", "000000", "999999", "36082", "3608270"]))

    @settings(max_examples=40, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(codes)
    def check(code):
        body = petition_body(region=code) if field == "region" else petition_body(regions=[code])
        r = client.post("/api/v1/cases", json=body, headers=clerk)
        if code in known:
            assert r.status_code == 201, r.get_json()
            assert code in [r.get_json()["region"], *r.get_json().get("regions", [])]
        else:
            assert r.status_code == 422 and r.content_type == "application/problem+json", r.get_data(as_text=True)
            assert any(key.split(".")[0] == field for key in r.get_json()["errors"]), r.get_json()

    check()

