"""GeoReport v2 semantics: services are categories, requests are complaints, jurisdiction_id is a unit code.

Answers never carry personal data: a request shows its title as the
description, its category, its state and its handling unit.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from casework.auth.models import User
from casework.cases.intake import intake
from casework.cases.models import Case, CaseEvent
from casework.common.vocab import CATEGORY_GROUPS, CATEGORY_NAMES
from casework.sla.models import CaseClock
from casework.units.models import Unit

OPEN311_KIND = "complaint"
CLOSED = ("closed",)
MAX_RANGE = timedelta(days=90)
MAX_RESULTS = 1000


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status, self.description = status, description


def jurisdiction(*, session, jurisdiction_id: str | None) -> Unit:
    code = jurisdiction_id or "100000"
    unit = session.get(Unit, code)
    if unit is None or unit.kind != "civil_affairs":
        raise Open311Error(404, f"jurisdiction_id {code} not found")
    return unit


def services() -> list[dict]:
    return [{"service_code": code, "service_name": name, "description": f"民政领域群众诉求：{name}",
             "metadata": True, "type": "realtime", "keywords": name, "group": CATEGORY_GROUPS[code]}
            for code, name in CATEGORY_NAMES.items()]


def service_definition(code: str) -> dict:
    if code not in CATEGORY_NAMES:
        raise Open311Error(404, f"service_code {code} not found")
    attrs = [
        ("region", "string", True, "事发地行政区划代码（6位，如 360827）"),
        ("people_count", "number", False, "涉及人数，默认 1"),
        ("urgency", "singlevaluelist", False, "紧急程度"),
        ("village_code", "string", False, "村（居）委会 12 位统计用代码"),
    ]
    out = []
    for order, (name, datatype, required, description) in enumerate(attrs, start=1):
        attr = {"variable": True, "code": name, "datatype": datatype, "required": required,
                "datatype_description": description, "order": order, "description": description}
        if name == "urgency":
            attr["values"] = [{"key": "normal", "name": "一般"}, {"key": "urgent", "name": "紧急"},
                              {"key": "complex", "name": "复杂"}]
        out.append(attr)
    return {"service_code": code, "attributes": out}


def create_request(*, session, form: dict, attributes: dict, user: User, now: datetime) -> Case:
    """A GeoReport request becomes a complaint through the same intake as the REST API."""
    from casework.problem import DomainError

    code = form.get("service_code")
    if code not in CATEGORY_NAMES:
        raise Open311Error(404, f"service_code {code or '(missing)'} not found")
    region = attributes.get("region") or form.get("address_id")
    if not region:
        raise Open311Error(400, "attribute[region] or address_id is required")
    description = (form.get("description") or "").strip()
    if not description:
        raise Open311Error(400, "description is required")
    name = " ".join(p for p in (form.get("last_name"), form.get("first_name")) if p).strip().replace(" ", "")
    phone = form.get("phone")
    # The title is what Open311 shows publicly, so it is the service's name, never the person's own words.
    data = {"kind": OPEN311_KIND, "channel": "online", "category": code, "title": f"{CATEGORY_NAMES[code]}诉求",
            "content": description + (f"\n地址：{form['address_string']}" if form.get("address_string") else ""),
            "region": region, "urgency": attributes.get("urgency") or "normal", "received_at": now,
            "people_count": _int(attributes.get("people_count"), "people_count"),
            "anonymous": not (name and phone)}
    if name and phone:
        data["petitioner"] = {"name": name, "phone": phone}
    if attributes.get("village_code"):
        data["village_code"] = attributes["village_code"]
    from casework.cases.schemas import CaseCreateSchema
    import marshmallow as ma

    try:
        clean = CaseCreateSchema().load(_jsonable(data))
    except ma.ValidationError as exc:
        first = next(iter(exc.messages.items()))
        raise Open311Error(400, f"{first[0]}: {first[1]}") from None
    try:
        return intake(session=session, data=clean, actor=user, now=now).case
    except DomainError as exc:
        # GeoReport clients know 400 (bad request), 403 and 404; every other refusal is a bad request.
        raise Open311Error(exc.status if exc.status in (403, 404) else 400, exc.detail) from None


def _int(value, field: str) -> int:
    if value in (None, ""):
        return 1
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Open311Error(400, f"attribute[{field}] must be a whole number") from None


def _jsonable(data: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}


def find_requests(*, session, unit: Unit, ids: list[str] | None, service_code: str | None,
                  start: datetime | None, end: datetime | None, status: list[str] | None, now: datetime) -> list[Case]:
    stmt = sa.select(Case).where(Case.kind == OPEN311_KIND, Case.unit_path.startswith(unit.path, autoescape=True))
    if ids:
        return list(session.scalars(stmt.where(Case.number.in_(ids[:MAX_RESULTS])).order_by(Case.id)))
    end = end or now
    start = start or end - MAX_RANGE
    if end - start > MAX_RANGE:
        raise Open311Error(400, "start_date and end_date may be at most 90 days apart")
    if start > end:
        raise Open311Error(400, "start_date is after end_date")
    stmt = stmt.where(Case.received_at >= start, Case.received_at <= end)
    if service_code:
        stmt = stmt.where(Case.category.in_(service_code.split(",")))
    if status:
        wanted = set(status)
        if wanted - {"open", "closed"}:
            raise Open311Error(400, "status must be open and/or closed")
        if wanted == {"open"}:
            stmt = stmt.where(Case.status.not_in(CLOSED))
        elif wanted == {"closed"}:
            stmt = stmt.where(Case.status.in_(CLOSED))
    return list(session.scalars(stmt.order_by(Case.received_at.desc()).limit(MAX_RESULTS)))


def present_request(*, session, case: Case) -> dict:
    unit = session.get(Unit, case.handling_unit)
    due = session.scalar(sa.select(sa.func.min(CaseClock.due_at)).where(
        CaseClock.case_id == case.id, CaseClock.state.in_(("running", "paused"))))
    last = session.scalar(sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq.desc())
                          .limit(1))
    return {"service_request_id": case.number, "status": "closed" if case.status in CLOSED else "open",
            "status_notes": STATUS_NOTES.get(case.status, case.status), "service_name": CATEGORY_NAMES[case.category],
            "service_code": case.category, "description": case.title, "agency_responsible": unit.name,
            "service_notice": None, "requested_datetime": _iso(case.received_at),
            "updated_datetime": _iso(last.created_at if last else case.updated_at),
            "expected_datetime": _iso(due) if due else None, "address": unit.name, "address_id": case.region,
            "zipcode": None, "lat": None, "long": None, "media_url": None}


STATUS_NOTES = {"registered": "已登记，待分派", "assigned": "已派单至承办单位", "contacted": "承办单位已联系诉求人",
                "handled": "已办理", "visited_back": "已回访", "closed": "已办结"}


def _iso(moment: datetime | None) -> str | None:
    from casework.sla.deadlines import SHANGHAI

    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds") if moment else None


def updates(*, session, unit: Unit, start: datetime | None, end: datetime | None, now: datetime) -> list[dict]:
    """mySociety extension: one update per workflow event of a complaint, without any free text."""
    end = end or now
    start = start or end - timedelta(days=1)
    if end - start > MAX_RANGE:
        raise Open311Error(400, "start_date and end_date may be at most 90 days apart")
    rows = session.execute(
        sa.select(CaseEvent, Case.number, Case.status).join(Case, Case.id == CaseEvent.case_id)
        .where(Case.kind == OPEN311_KIND, Case.unit_path.startswith(unit.path, autoescape=True),
               CaseEvent.created_at >= start, CaseEvent.created_at <= end)
        .order_by(CaseEvent.created_at, CaseEvent.id).limit(MAX_RESULTS)).all()
    return [{"update_id": str(ev.id), "service_request_id": number,
             "status": "closed" if (ev.to_state or "") in CLOSED else "open",
             "description": STATUS_NOTES.get(ev.to_state or "", ev.action), "updated_datetime": _iso(ev.created_at),
             "external_status_code": ev.to_state, "media_url": None} for ev, number, _status in rows]
