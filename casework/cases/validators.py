"""Validation and masking of personal data taken in with a case.

Pure functions: no Flask, no database. Each ``validate_*`` returns the
normalised value or raises a ``ValueError`` subclass whose message says what is
wrong, so callers can show it to the person filling in the form. Messages never
echo the whole input back, because they end up in API answers and logs.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone

__all__ = [
    "InvalidDivisionCode",
    "InvalidIdNumber",
    "InvalidName",
    "InvalidPhone",
    "NAME_MAX_LENGTH",
    "id_check_digit",
    "mask_address",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "normalize_id_number",
    "normalize_mobile",
    "validate_division_code_format",
    "validate_id_number",
    "validate_mobile",
    "validate_person_name",
    "validate_village_code",
]


class InvalidIdNumber(ValueError):
    """A resident identity number that does not satisfy GB 11643-1999."""


class InvalidPhone(ValueError):
    """Not a mainland China mobile number."""


class InvalidName(ValueError):
    """Not something that can be a person's name."""


class InvalidDivisionCode(ValueError):
    """A division (6-digit) or village (12-digit statistical) code of the wrong shape."""


# Chinese input methods readily produce full-width digits and signs; they mean
# the same thing, so fold them before checking rather than rejecting the form.
_FULLWIDTH = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)}, "\uff38": "X", "\uff58": "x", "\uff0b": "+", "\uff0d": "-"}
)

# "China Standard Time" has had no daylight saving since 1991, so a fixed offset
# is exact and avoids depending on the system tz database.
_CHINA_TZ = timezone(timedelta(hours=8))


def _today_in_china() -> date:
    return datetime.now(_CHINA_TZ).date()


# ---------------------------------------------------------------------------
# Resident identity number (居民身份证号码), GB 11643-1999
# ---------------------------------------------------------------------------

_ID_LENGTH = 18
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_MIN_BIRTH = date(1900, 1, 1)
_PROVINCE_PREFIXES = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66), 71, 81, 82]
)


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit() also accepts e.g. Arabic-Indic and superscript digits.
    return text.isascii() and text.isdigit()


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits of an identity number."""
    if len(first17) != _ID_LENGTH - 1 or not _is_ascii_digits(first17):
        raise InvalidIdNumber("the first 17 characters must be digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK_CHARS[total % 11]


def normalize_id_number(value: str) -> str:
    """Drop all whitespace, fold full-width forms and upper-case the trailing x. Does not validate."""
    if not isinstance(value, str):
        raise InvalidIdNumber("must be a string")
    return "".join(value.translate(_FULLWIDTH).split()).upper()


def validate_id_number(value: str, *, today: date | None = None) -> str:
    """Return the normalised 18-character identity number or raise :class:`InvalidIdNumber`.

    ``today`` is for tests; by default it is the current date in China, which is
    where the card was issued, whatever the server's own time zone.
    """
    number = normalize_id_number(value)
    if len(number) != _ID_LENGTH:
        raise InvalidIdNumber(f"must be 18 characters, got {len(number)}")
    for position, char in enumerate(number[:-1], start=1):
        if not _is_ascii_digits(char):
            raise InvalidIdNumber(f"character {position} must be a digit")
    if not (_is_ascii_digits(number[-1]) or number[-1] == "X"):
        raise InvalidIdNumber("the last character must be a digit or X")

    province = int(number[:2])
    if province not in _PROVINCE_PREFIXES:
        raise InvalidIdNumber(f"province code {number[:2]} is not valid")

    birth_digits = number[6:14]
    try:
        birth = date(int(birth_digits[:4]), int(birth_digits[4:6]), int(birth_digits[6:]))
    except ValueError:
        raise InvalidIdNumber(f"birth date {birth_digits} is not a date") from None
    if birth < _ID_MIN_BIRTH:
        raise InvalidIdNumber(f"birth date {birth_digits} is before 1900-01-01")
    if birth > (today or _today_in_china()):
        raise InvalidIdNumber(f"birth date {birth_digits} is in the future")

    expected = id_check_digit(number[:-1])
    if number[-1] != expected:
        raise InvalidIdNumber(f"check digit should be {expected}")
    return number


# ---------------------------------------------------------------------------
# Mainland mobile numbers
# ---------------------------------------------------------------------------

# Second digit -> allowed third digits, from the MIIT numbering plan as
# allocated to public mobile service (14x below 145 and 140-144 are data-only
# / IoT ranges, which a citizen would not give as a contact number).
_MOBILE_PREFIXES: dict[str, str] = {
    "3": "0123456789",
    "4": "56789",
    "5": "012356789",
    "6": "2567",
    "7": "012345678",
    "8": "0123456789",
    "9": "012356789",
}
_PHONE_SEPARATORS = re.compile(r"[\s\-]+")


def normalize_mobile(value: str) -> str:
    """Drop spaces and dashes and a leading +86 / 86. Does not validate."""
    if not isinstance(value, str):
        raise InvalidPhone("must be a string")
    number = _PHONE_SEPARATORS.sub("", value.translate(_FULLWIDTH))
    if number.startswith("+86"):
        return number[3:]
    # Without the plus only a 13-digit number can carry the country code: an
    # 11-digit one starting 86 is simply not a mobile number.
    if len(number) == 13 and number.startswith("86"):
        return number[2:]
    return number


def validate_mobile(value: str) -> str:
    """Return the 11-digit mainland mobile number or raise :class:`InvalidPhone`."""
    number = normalize_mobile(value)
    if not number:
        raise InvalidPhone("must not be empty")
    if number.startswith("+"):
        raise InvalidPhone("only mainland China (+86) numbers are accepted")
    if not _is_ascii_digits(number):
        raise InvalidPhone("must contain only digits, spaces and dashes")
    if len(number) != 11:
        raise InvalidPhone(f"must be 11 digits, got {len(number)}")
    if number[0] != "1":
        raise InvalidPhone("must start with 1")
    if number[1] not in _MOBILE_PREFIXES:
        raise InvalidPhone(f"second digit must be 3-9, got {number[1]}")
    if number[2] not in _MOBILE_PREFIXES[number[1]]:
        raise InvalidPhone(f"prefix {number[:3]} is not a mobile number prefix")
    return number


# ---------------------------------------------------------------------------
# Person names
# ---------------------------------------------------------------------------

NAME_MAX_LENGTH = 50
_MIDDLE_DOT = "\u00b7"
# People type whichever dot their keyboard offers; the public-security standard
# uses U+00B7, and one spelling keeps search and duplicate detection working.
_MIDDLE_DOT_LOOKALIKES = str.maketrans(dict.fromkeys("\u30fb\uff65\u2027\u2022\u2219\u22c5", _MIDDLE_DOT))
# Cc: control, Cf: invisible format characters (bidi overrides, zero-width
# joiners) that can disguise a name, Cs: lone surrogates, Zl/Zp: line breaks.
# Private-use (Co) is allowed on purpose: some legacy systems encode rare name
# characters (生僻字) that way.
_FORBIDDEN_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _is_name_letter(char: str) -> bool:
    if not unicodedata.category(char).startswith("L"):
        return False
    # By Unicode name rather than code-point ranges, so new CJK extensions are
    # picked up with Python's Unicode database.
    char_name = unicodedata.name(char, "")
    return char_name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")) or "LATIN" in char_name


def validate_person_name(value: str) -> str:
    """Return the stripped, NFC-normalised name or raise :class:`InvalidName`."""
    if not isinstance(value, str):
        raise InvalidName("must be a string")
    # Check before normalising: NFC must not get the chance to hide anything.
    if any(unicodedata.category(char) in _FORBIDDEN_NAME_CATEGORIES for char in value.strip()):
        raise InvalidName("must not contain control or invisible characters")
    name = unicodedata.normalize("NFC", value).strip().translate(_MIDDLE_DOT_LOOKALIKES)
    if not name:
        raise InvalidName("must not be empty")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidName(f"must be at most {NAME_MAX_LENGTH} characters, got {len(name)}")
    if not any(_is_name_letter(char) for char in name):
        raise InvalidName("must contain at least one Chinese character or Latin letter")
    return name


# ---------------------------------------------------------------------------
# Administrative division codes (format only; existence is a database question)
# ---------------------------------------------------------------------------

_DIVISION_CODE = re.compile(r"[0-9]{6}")
_VILLAGE_CODE = re.compile(r"[0-9]{12}")


def validate_division_code_format(value: str) -> str:
    """Return the 6-digit division code (GB/T 2260) or raise :class:`InvalidDivisionCode`."""
    if not isinstance(value, str):
        raise InvalidDivisionCode("division code must be a string")
    code = value.strip()
    if not _DIVISION_CODE.fullmatch(code):
        raise InvalidDivisionCode("division code must be 6 digits")
    return code


def validate_village_code(value: str | None) -> str | None:
    """Return the 12-digit statistical village code, or None if not given; raise :class:`InvalidDivisionCode`."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidDivisionCode("village code must be a string")
    code = value.strip()
    if not code:
        return None
    if not _VILLAGE_CODE.fullmatch(code):
        raise InvalidDivisionCode("village code must be 12 digits")
    return code


# ---------------------------------------------------------------------------
# Masking for answers to callers not entitled to the full value
# ---------------------------------------------------------------------------

def _keep_ends(value: str, head: int, tail: int, min_length: int) -> str:
    # Below min_length the kept ends would give away most of the value.
    if len(value) < min_length:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail:]


def mask_id_number(value: str | None) -> str | None:
    """``360827199001011234`` -> ``3608**********1234``; length is kept."""
    if value is None:
        return None
    # 15 covers the pre-1999 15-digit numbers still found in old records.
    return _keep_ends(value, 4, 4, min_length=15)


def mask_phone(value: str | None) -> str | None:
    """``13812345678`` -> ``138****5678``; length is kept."""
    if value is None:
        return None
    return _keep_ends(value, 3, 4, min_length=11)


def mask_name(value: str | None) -> str | None:
    """Keep the first character: ``张三`` -> ``张*``, ``欧阳修`` -> ``欧**``, ``王`` -> ``*``."""
    if value is None:
        return None
    if len(value) <= 1:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 1)


def mask_address(value: str | None) -> str | None:
    """First 6 characters then ``****``; an address of 6 characters or fewer is starred entirely."""
    if value is None:
        return None
    if len(value) <= 6:
        return "*" * len(value)
    return value[:6] + "****"
