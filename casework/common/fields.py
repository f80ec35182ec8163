"""marshmallow fields shared by the schemas."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import marshmallow as ma
from marshmallow import validate

SHANGHAI = ZoneInfo("Asia/Shanghai")
# OpenAPI schema of a file download, so its content type is documented (flask-smorest drops a schema-less one).
BINARY = {"type": "string", "format": "binary"}


class Digits(validate.Regexp):
    """Exactly ``count`` ASCII digits (division and unit codes). A plain Regexp of ``^\\d{6}$`` also took other
    scripts' digits (٣٦٠٨٢٧) and a final newline ("360827\\n"), which then reached queries and stored columns."""

    def __init__(self, count: int, error: str | None = None) -> None:
        super().__init__(rf"^[0-9]{{{count}}}$", error=error)  # the pattern documented in OpenAPI

    def __call__(self, value: str) -> str:
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


class Text(validate.Length):
    """Free text of 1..``max`` characters that says something: a reason of only spaces explains nothing, and
    the audit trail would keep it for good."""

    def __init__(self, max: int) -> None:
        super().__init__(min=1, max=max)

    def __call__(self, value: str) -> str:
        super().__call__(value)
        if not value.strip():
            raise ma.ValidationError("must not be blank")
        return value


class LocalDateTime(ma.fields.AwareDateTime):
    """Stored in UTC, shown in Asia/Shanghai with its offset (API.md); input needs an explicit offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(SHANGHAI)
        return super()._serialize(value, attr, obj, **kwargs)


def json_default(value):
    """Flask's JSON fallback: ISO 8601 in Asia/Shanghai for datetimes (not HTTP dates), ISO dates."""
    from datetime import date, datetime

    if isinstance(value, datetime):
        return (value.astimezone(SHANGHAI) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
