"""RFC 9457 problem details for every error the service answers.

Services raise ``DomainError`` (no Flask import needed); views may also use
flask-smorest's ``abort``. Both, and Flask's own 404/405/413, leave here as
``application/problem+json`` with an ``errors`` map naming the fields.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from flask import Response, current_app, json
import flask_smorest
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

log = logging.getLogger("casework.errors")
PROBLEM_MIMETYPE = "application/problem+json"
# Locations webargs prefixes to field names; the client only cares about the field.
_LOCATIONS = {"json", "query", "querystring", "form", "headers", "files", "view_args", "path", "json_or_form"}


class DomainError(Exception):
    """A business rule said no; carries the HTTP status it maps to."""

    status = 422

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None, status: int | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}
        self.extra = extra or {}
        if status is not None:
            self.status = status


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    status = 422


class ProblemSchema(ma.Schema):
    """Documents the error payload (RFC 9457)."""

    class Meta:
        # RFC 9457 extension members (e.g. a refused action's allowed_actions) may follow the standard ones.
        unknown = ma.INCLUDE

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn webargs/marshmallow nested messages into ``{"a.b": [msg, ...]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            key = str(key)
            if not prefix and key in _LOCATIONS:
                child = ""
            elif key == "_schema":
                child = prefix or "body"
            else:
                child = f"{prefix}.{key}" if prefix else key
            if child == "" and isinstance(value, list):
                out.setdefault("body", []).extend(str(v) for v in value)
                continue
            for k, v in flatten_errors(value, child).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            if isinstance(item, (dict, list, tuple)):
                for k, v in flatten_errors(item, prefix).items():
                    out.setdefault(k, []).extend(v)
            else:
                out.setdefault(prefix or "body", []).append(str(item))
    elif messages is not None:
        out.setdefault(prefix or "body", []).append(str(messages))
    return out


def problem_response(status: int, detail: str | None = None, errors: dict | None = None,
                     headers: dict | None = None, extra: dict | None = None) -> Response:
    title = HTTP_STATUS_CODES.get(status, "Error")
    body: dict[str, Any] = {
        "type": f"https://casework.example/problems/{status}",
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MIMETYPE)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


class ProblemResponsesPlugin(BasePlugin):
    """Documents the problem answers every operation of a kind can give, so a client (and the fuzzer, which
    checks each answer's status against the document) finds them listed rather than hidden behind ``default``:
    400 and 413 for a request body, 404 for a path with parameters. Views add their own (auth_required adds
    401 and 403; views add 409 and the like with ``alt_response``). Error answers documented without a body
    get the problem body."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if "requestBody" in operation:
                responses.setdefault("400", "BAD_REQUEST")
                responses.setdefault("413", "REQUEST_ENTITY_TOO_LARGE")
            if path and "{" in path:
                responses.setdefault("404", "NOT_FOUND")
            for status, response in responses.items():
                if status != "default" and int(status) >= 400 and isinstance(response, dict):
                    response.setdefault("content", {PROBLEM_MIMETYPE: {"schema": "Problem"}})


class ProblemApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, *, extra_plugins=None, **options):
        super()._init_spec(extra_plugins=[*(extra_plugins or ()), ProblemResponsesPlugin()], **options)

    def _register_responses(self):
        """As flask-smorest's, but error answers are documented as application/problem+json, which they are."""
        for status in HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            content_type = PROBLEM_MIMETYPE if status >= 400 else self.DEFAULT_RESPONSE_CONTENT_TYPE
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIMETYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def _register_error_handlers(self):
        super()._register_error_handlers()
        self._app.register_error_handler(DomainError, handle_domain_error)

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        detail = data.get("message") or error.description
        if error.code == 500:
            original = getattr(error, "original_exception", None)
            if original is not None:
                log.error("unhandled error", exc_info=original)
            detail = "internal error"
        flat = flatten_errors(errors) if errors else None
        if error.code == 413 and not flat:
            # Name the culprit like every other input error does.
            limit = current_app.config.get("MAX_CONTENT_LENGTH")
            flat = {"body": [f"larger than {limit} bytes" if limit else "too large"]}
        if flat and error.code == 422 and not data.get("message"):
            detail = "invalid fields: " + ", ".join(sorted(flat))
        if error.code == 400 and flat and any("Invalid JSON" in m for ms in flat.values() for m in ms):
            detail = "the body is not valid JSON"
        headers = dict(data.get("headers") or {})
        resp = problem_response(error.code or 500, detail, flat, headers)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            resp.headers["Allow"] = ", ".join(error.valid_methods)
        return resp


def handle_domain_error(error: DomainError) -> Response:
    return problem_response(error.status, error.detail, error.errors or None, extra=error.extra or None)


def _unstorable(value: Any, path: str = "") -> dict[str, list[str]]:
    """Strings no database column can hold: NUL (PostgreSQL text rejects it) and lone surrogates (not UTF-8)."""
    found: dict[str, list[str]] = {}
    if isinstance(value, str):
        if "\x00" in value:
            found[path or "body"] = ["must not contain NUL characters"]
        elif not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                found[path or "body"] = ["must be valid Unicode (no lone surrogates)"]
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.update(_unstorable(item, f"{path}.{index}" if path else str(index)))
    elif isinstance(value, Mapping):
        for key in value:
            child = f"{path}.{key}" if path else str(key)
            found.update(_unstorable(key, child))
            found.update(_unstorable(value[key], child))
    return found


class ProblemParser(FlaskParser):
    """webargs parser whose input failures are 4xx problems rather than 500s further down."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError as exc:  # nesting deeper than the JSON decoder can follow
            self._handle_invalid_json_error(exc, req)

    def pre_load(self, location_data, *, schema, req, location):
        bad = _unstorable(location_data) if location in ("json", "query", "querystring", "form") else {}
        if bad:
            raise ma.ValidationError(bad)
        return location_data


# Set before any view module decorates with @blp.arguments (they all import casework.extensions, hence this).
flask_smorest.Blueprint.ARGUMENTS_PARSER = ProblemParser()
