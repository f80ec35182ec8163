"""/open311/v2: GeoReport v2 in JSON. Errors answer the spec's array: [{"code": ..., "description": ...}]."""
from __future__ import annotations

import re
from datetime import datetime

from flask import Blueprint, Response, json, request

from casework.auth.service import user_for_api_key
from casework.db import utcnow
from casework.extensions import db
from casework.open311 import service
from casework.open311.service import Open311Error

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
_ATTRIBUTE = re.compile(r"^attribute\[([a-z_]+)\]$")


def _json(payload, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")


@bp.errorhandler(Open311Error)
def _error(exc: Open311Error):
    return _json([{"code": exc.status, "description": exc.description}], exc.status)


def _unit():
    return service.jurisdiction(session=db.session, jurisdiction_id=request.values.get("jurisdiction_id"))


def _date(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} is not a W3C date-time") from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone (Z or ±HH:MM)")
    return value


@bp.get("/discovery.json")
def discovery():
    base = request.url_root.rstrip("/") + "/open311/v2/"
    return _json({"changeset": "2026-11-28T00:00:00+08:00", "contact": "民政部信访办公室",
                  "key_service": "管理员在 casework 中为用户签发 API key（POST /api/v1/users/{id}/api-key）",
                  "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": base,
                                 "changeset": "2026-11-28T00:00:00+08:00", "type": "production",
                                 "formats": ["application/json"]}]})


@bp.get("/services.json")
def services():
    _unit()
    return _json(service.services())


@bp.get("/services/<code>.json")
def service_definition(code: str):
    _unit()
    return _json(service.service_definition(code))


@bp.post("/requests.json")
def create_request():
    form = request.form
    user = user_for_api_key(session=db.session, key=form.get("api_key", ""))
    if user is None:
        raise Open311Error(403, "a valid api_key is required")
    unit = _unit()
    attributes = {m.group(1): v for k, v in form.items() if (m := _ATTRIBUTE.match(k))}
    region = attributes.get("region") or form.get("address_id")
    if region and not _within(region, unit):
        raise Open311Error(400, f"region {region} is outside jurisdiction {unit.code}")
    case = service.create_request(session=db.session, form=form.to_dict(), attributes=attributes, user=user,
                                  now=utcnow())
    return _json([{"service_request_id": case.number, "service_notice": f"已受理，将由{case.route_reason}",
                   "account_id": None}], 201)


def _within(region: str, unit) -> bool:
    from casework.units.models import Unit

    target = db.session.get(Unit, region)
    return target is None or target.path.startswith(unit.path)


@bp.get("/requests.json")
def list_requests():
    unit = _unit()
    ids = [i.strip() for i in request.args.get("service_request_id", "").split(",") if i.strip()]
    status = [s.strip() for s in request.args.get("status", "").split(",") if s.strip()]
    cases = service.find_requests(session=db.session, unit=unit, ids=ids or None,
                                  service_code=request.args.get("service_code"), start=_date("start_date"),
                                  end=_date("end_date"), status=status or None, now=utcnow())
    return _json([service.present_request(session=db.session, case=c) for c in cases])


@bp.get("/requests/<request_id>.json")
def get_request(request_id: str):
    unit = _unit()
    cases = service.find_requests(session=db.session, unit=unit, ids=[request_id], service_code=None, start=None,
                                  end=None, status=None, now=utcnow())
    if not cases:
        raise Open311Error(404, f"service_request_id {request_id} not found")
    return _json([service.present_request(session=db.session, case=cases[0])])


@bp.get("/servicerequestupdates.json")
def request_updates():
    unit = _unit()
    return _json(service.updates(session=db.session, unit=unit, start=_date("start_date"), end=_date("end_date"),
                                 now=utcnow()))
