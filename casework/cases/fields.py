"""marshmallow fields that normalise and validate personal data at intake.

They wrap :mod:`casework.cases.validators` so schemas and the pure functions
give the same messages. Serialisation is the plain ``String`` one: masking is a
decision about who is asking, which a field cannot know.
"""
from __future__ import annotations

import typing
from collections.abc import Callable, Mapping

from marshmallow import ValidationError, fields

from casework.cases.validators import validate_id_number, validate_mobile, validate_person_name

__all__ = ["IdNumberField", "MobileField", "PersonNameField"]


class _ValidatedString(fields.String):
    """A ``String`` whose loaded value is passed through a ``validate_*`` function."""

    # A plain function stored on the class would be bound as a method; staticmethod keeps it a function.
    _validator: typing.ClassVar[Callable[[str], str]]

    def _deserialize(
        self, value: typing.Any, attr: str | None, data: Mapping[str, typing.Any] | None, **kwargs: typing.Any
    ) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self._validator(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class IdNumberField(_ValidatedString):
    """Resident identity number; loads as 18 characters with an upper-case X."""

    _validator = staticmethod(validate_id_number)


class MobileField(_ValidatedString):
    """Mainland mobile number; loads as 11 digits without +86, spaces or dashes."""

    _validator = staticmethod(validate_mobile)


class PersonNameField(_ValidatedString):
    """Person's name; loads stripped and NFC-normalised."""

    _validator = staticmethod(validate_person_name)
