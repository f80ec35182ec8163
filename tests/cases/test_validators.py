"""Pure tests for intake validation and masking: no app, no database."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError

from casework.cases.fields import IdNumberField, MobileField, PersonNameField
from casework.cases.validators import (
    InvalidDivisionCode,
    InvalidIdNumber,
    InvalidName,
    InvalidPhone,
    id_check_digit,
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
    normalize_id_number,
    normalize_mobile,
    validate_division_code_format,
    validate_id_number,
    validate_mobile,
    validate_person_name,
    validate_village_code,
)

# Written out here rather than imported, so the tests check the module against
# the standard and not against itself.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
PROVINCES = [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66),
             71, 81, 82]


def check_digit(first17: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


# --- identity numbers ---------------------------------------------------------

def test_classic_example_check_digit_by_hand():
    # 1*7 + 1*9 + 0*10 + 1*5 + 0*8 + 5*4 + 1*2 + 9*1 + 4*6 + 9*3 + 1*7 + 2*9 + 3*10 + 1*5 + 0*8 + 0*4 + 2*2
    # = 167; 167 mod 11 = 2; "10X98765432"[2] = X
    assert sum(int(d) * w for d, w in zip("11010519491231002", WEIGHTS)) == 167
    assert id_check_digit("11010519491231002") == "X"
    assert validate_id_number("11010519491231002X") == "11010519491231002X"


@pytest.mark.parametrize("raw,expected", [
    ("11010519491231002X", "11010519491231002X"),
    ("11010519491231002x", "11010519491231002X"),  # lower-case x normalised
    (" 110105 19491231 002x ", "11010519491231002X"),  # spaces anywhere
    ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),  # full-width input
    ("360827199001011235", "360827199001011235"),
    ("440304200002290014", "440304200002290014"),  # 29 Feb of a leap year (2000: divisible by 400)
    ("650102199912314564", "650102199912314564"),
    ("820000202401010030", "820000202401010030"),  # Macau prefix
    ("31011519000101001X", "31011519000101001X"),  # earliest accepted birth date
])
def test_valid_id_numbers(raw, expected):
    assert validate_id_number(raw) == expected


def _future_id() -> str:
    first17 = "110105" + (date.today() + timedelta(days=400)).strftime("%Y%m%d") + "001"
    return first17 + check_digit(first17)


@pytest.mark.parametrize("raw,message", [
    ("360827199001011234", "check digit should be 5"),
    ("11010519491231002Y", "the last character must be a digit or X"),
    ("36082719900231123X", "birth date 19900231 is not a date"),  # 31 February
    ("440304190002290018", "birth date 19000229 is not a date"),  # 1900 is not a leap year
    ("440304200102290011", "birth date 20010229 is not a date"),
    ("360827199013011230", "birth date 19901301 is not a date"),
    ("110105189912310013", "birth date 18991231 is before 1900-01-01"),
    (_future_id(), "is in the future"),
    ("11010519491231002", "must be 18 characters, got 17"),
    ("11010519491231002X1", "must be 18 characters, got 19"),
    ("", "must be 18 characters, got 0"),
    ("110105A9491231002X", "character 7 must be a digit"),
    ("X10105194912310020", "character 1 must be a digit"),
    ("11010519491231002\u0663", "the last character must be a digit or X"),  # Arabic-Indic three
    ("990105194912310023", "province code 99 is not valid"),
    ("000105194912310023", "province code 00 is not valid"),
    ("830000199001011230", "province code 83 is not valid"),
])
def test_invalid_id_numbers(raw, message):
    with pytest.raises(InvalidIdNumber, match=message):
        validate_id_number(raw)


def test_birth_date_limit_is_today():
    number = "11010520240601001" + check_digit("11010520240601001")
    assert validate_id_number(number, today=date(2024, 6, 1)) == number
    with pytest.raises(InvalidIdNumber, match="in the future"):
        validate_id_number(number, today=date(2024, 5, 31))


def test_non_string_id_number():
    with pytest.raises(InvalidIdNumber, match="must be a string"):
        validate_id_number(11010519491231002)  # type: ignore[arg-type]


def test_normalize_id_number_does_not_validate():
    assert normalize_id_number(" 12 3x ") == "123X"


def test_invalid_id_number_is_a_value_error():
    assert issubclass(InvalidIdNumber, ValueError)


@st.composite
def id_first17(draw) -> str:
    province = draw(st.sampled_from(PROVINCES))
    rest_of_address = draw(st.text("0123456789", min_size=4, max_size=4))
    # A day of margin so the property does not depend on the test machine's time zone.
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=date.today() - timedelta(days=1)))
    sequence = draw(st.text("0123456789", min_size=3, max_size=3))
    return f"{province:02d}{rest_of_address}{birth:%Y%m%d}{sequence}"


@given(id_first17())
def test_computed_check_digit_validates(first17):
    number = first17 + check_digit(first17)
    assert validate_id_number(number) == number
    assert validate_id_number(number.lower()) == number


@given(id_first17(), st.sampled_from("0123456789X"))
def test_any_other_check_character_fails(first17, last):
    assume(last != check_digit(first17))
    with pytest.raises(InvalidIdNumber, match=f"check digit should be {check_digit(first17)}"):
        validate_id_number(first17 + last)


@given(st.text())
def test_id_number_validator_raises_only_its_own_error(text):
    try:
        validate_id_number(text)
    except InvalidIdNumber:
        pass


# --- mobile numbers -----------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "13812345678",
    "+86 13812345678",
    "+86-138-1234-5678",
    "8613812345678",
    "138-1234-5678",
    " 138 1234 5678 ",
    "１３８１２３４５６７８",
])
def test_valid_mobile_normalises(raw):
    assert validate_mobile(raw) == "13812345678"


@pytest.mark.parametrize("number", [
    "13012345678", "13912345678", "14512345678", "14912345678", "15012345678", "15312345678", "15912345678",
    "16212345678", "16712345678", "17012345678", "17812345678", "18012345678", "18912345678", "19012345678",
    "19312345678", "19512345678", "19912345678",
])
def test_allocated_mobile_prefixes(number):
    assert validate_mobile(number) == number


@pytest.mark.parametrize("raw,message", [
    ("12345678901", "second digit must be 3-9, got 2"),
    ("10012345678", "second digit must be 3-9, got 0"),
    ("1381234567", "must be 11 digits, got 10"),
    ("138123456789", "must be 11 digits, got 12"),
    ("14012345678", "prefix 140 is not a mobile number prefix"),
    ("15412345678", "prefix 154 is not a mobile number prefix"),
    ("16012345678", "prefix 160 is not a mobile number prefix"),
    ("17912345678", "prefix 179 is not a mobile number prefix"),
    ("19412345678", "prefix 194 is not a mobile number prefix"),
    ("23812345678", "must start with 1"),
    ("+85291234567", r"only mainland China \(\+86\) numbers"),
    ("138.1234.5678", "must contain only digits"),
    ("1381234567\u0668", "must contain only digits"),
    ("", "must not be empty"),
    ("  - ", "must not be empty"),
])
def test_invalid_mobile(raw, message):
    with pytest.raises(InvalidPhone, match=message):
        validate_mobile(raw)


def test_normalize_mobile_only_strips_86_from_13_digits():
    assert normalize_mobile("8613812345678") == "13812345678"
    assert normalize_mobile("86123") == "86123"


@given(st.text())
def test_mobile_validator_raises_only_its_own_error(text):
    try:
        validate_mobile(text)
    except InvalidPhone:
        pass


# --- names --------------------------------------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("张三", "张三"),
    ("  张三 ", "张三"),
    ("阿卜杜拉·艾买提", "阿卜杜拉·艾买提"),
    ("阿卜杜拉・艾买提", "阿卜杜拉·艾买提"),  # katakana middle dot folded to U+00B7
    ("John Smith", "John Smith"),
    ("José", "José"),
    ("Jose\u0301", "José"),  # decomposed accent is composed (NFC)
    ("王", "王"),
    ("𠮷野家", "𠮷野家"),  # CJK Extension B
    ("张" * 50, "张" * 50),
])
def test_valid_names(raw, expected):
    assert validate_person_name(raw) == expected


@pytest.mark.parametrize("raw,message", [
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    ("😀😀", "at least one Chinese character or Latin letter"),
    ("12345", "at least one Chinese character or Latin letter"),
    ("!!!", "at least one Chinese character or Latin letter"),
    ("··", "at least one Chinese character or Latin letter"),
    ("张" * 51, "at most 50 characters, got 51"),
    ("张\x00三", "control or invisible"),
    ("张\n三", "control or invisible"),
    ("张\u202e三", "control or invisible"),  # right-to-left override
    ("张\u200b三", "control or invisible"),  # zero-width space
])
def test_invalid_names(raw, message):
    with pytest.raises(InvalidName, match=message):
        validate_person_name(raw)


# --- division codes -----------------------------------------------------------

def test_division_code_format():
    assert validate_division_code_format(" 360827 ") == "360827"
    for bad in ["36082", "3608270", "36082a", "３６０８２７", "", None]:
        with pytest.raises(InvalidDivisionCode):
            validate_division_code_format(bad)  # type: ignore[arg-type]


def test_village_code_is_optional():
    assert validate_village_code(None) is None
    assert validate_village_code("  ") is None
    assert validate_village_code("360827100201") == "360827100201"
    for bad in ["36082710020", "3608271002011", "36082710020x"]:
        with pytest.raises(InvalidDivisionCode, match="12 digits"):
            validate_village_code(bad)


# --- masking ------------------------------------------------------------------

@pytest.mark.parametrize("mask,raw,expected", [
    (mask_id_number, "360827199001011234", "3608**********1234"),
    (mask_id_number, "11010519491231002X", "1101**********002X"),
    (mask_id_number, "360827900101123", "3608*******1123"),  # old 15-digit number
    (mask_id_number, "12345678", "********"),  # too short to keep the ends
    (mask_phone, "13812345678", "138****5678"),
    (mask_phone, "1234567", "*******"),
    (mask_name, "张三", "张*"),
    (mask_name, "欧阳修", "欧**"),
    (mask_name, "王", "*"),
    (mask_name, "", ""),
    (mask_address, "江西省吉安市遂川县泉江镇", "江西省吉安市****"),
    (mask_address, "北京市朝阳区", "******"),
    (mask_address, "朝阳区", "***"),
])
def test_masks(mask, raw, expected):
    assert mask(raw) == expected


@pytest.mark.parametrize("mask", [mask_id_number, mask_phone, mask_name, mask_address])
def test_masks_pass_none_through(mask):
    assert mask(None) is None


def test_masked_id_keeps_length():
    assert len(mask_id_number("360827199001011234")) == 18


# --- marshmallow fields -------------------------------------------------------

class PersonSchema(Schema):
    id_number = IdNumberField()
    mobile = MobileField()
    name = PersonNameField()


def test_fields_normalise():
    loaded = PersonSchema().load({"id_number": "11010519491231002x", "mobile": "+86 138-1234-5678",
                                  "name": " 阿卜杜拉・艾买提 "})
    assert loaded == {"id_number": "11010519491231002X", "mobile": "13812345678", "name": "阿卜杜拉·艾买提"}


def test_fields_report_the_validator_messages():
    with pytest.raises(ValidationError) as info:
        PersonSchema().load({"id_number": "360827199001011234", "mobile": "14012345678", "name": "12345"})
    assert info.value.messages == {
        "id_number": ["check digit should be 5"],
        "mobile": ["prefix 140 is not a mobile number prefix"],
        "name": ["must contain at least one Chinese character or Latin letter"],
    }


def test_fields_reject_non_strings_as_marshmallow_does():
    with pytest.raises(ValidationError) as info:
        PersonSchema().load({"id_number": 110105, "mobile": 13812345678, "name": ["张三"]})
    assert set(info.value.messages) == {"id_number", "mobile", "name"}
    assert info.value.messages["mobile"] == ["Not a valid string."]


def test_fields_serialise_unchanged():
    assert PersonSchema().dump({"id_number": "11010519491231002X", "mobile": "13812345678", "name": "张三"}) == {
        "id_number": "11010519491231002X", "mobile": "13812345678", "name": "张三"}


def test_fields_honour_allow_none():
    class Optional(Schema):
        mobile = MobileField(allow_none=True)

    assert Optional().load({"mobile": None}) == {"mobile": None}
