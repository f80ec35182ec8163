from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from casework.auth.current import auth_required, current_user
from casework.cases import actions, intake, service
from casework.cases.presenter import present_case, present_cases
from casework.cases.schemas import (ActionSchema, CaseCreateSchema, CaseListQuerySchema, CasePageSchema, CaseSchema,
                                    EventListSchema)
from casework.common.pagination import paginate
from casework.extensions import db
from casework.problem import DomainError, Invalid

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases", description="Cases: intake, workflow, audit trail")
BEARER = [{"bearerAuth": []}]
INTAKE_ROLES = ("clerk", "supervisor", "inspector", "admin")
MAX_KEY = 200


@blp.before_request
def _json_bodies_only():
    """webargs ignores a body that is not JSON, so JSON sent as text/plain would read as "every field missing"."""
    if request.method in ("POST", "PUT", "PATCH") and (request.content_length or 0) > 0 and not request.is_json:
        raise DomainError("the body must be JSON", status=415,
                          errors={"Content-Type": [f"must be application/json, not {request.mimetype or 'unset'}"]})


@blp.route("")
class Cases(MethodView):
    @auth_required(*INTAKE_ROLES)
    @blp.doc(security=BEARER, parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"},
                                           "required": False}])
    @blp.arguments(CaseCreateSchema)
    @blp.response(201, CaseSchema)
    @blp.alt_response(409, description="Idempotency-Key reused with a different body")
    def post(self, body):
        """Take in a petition or complaint; answers the routed case."""
        key = request.headers.get("Idempotency-Key")
        if key is not None and not (0 < len(key) <= MAX_KEY and key.isprintable()):
            raise Invalid("bad Idempotency-Key", errors={"Idempotency-Key": [f"1-{MAX_KEY} printable characters"]})
        result = intake.intake(session=db.session, data=body, actor=current_user(), idempotency_key=key,
                               raw_body=request.get_json(silent=True))
        return present_case(session=db.session, case=result.case, viewer=current_user())

    @auth_required()
    @blp.doc(security=BEARER)
    @blp.arguments(CaseListQuerySchema, location="query")
    @blp.response(200, CasePageSchema)
    def get(self, args):
        """Cases in the caller's subtree, filtered; personal fields are always masked in lists."""
        user = current_user()
        page = paginate(db.session, service.list_cases(session=db.session, viewer=user, filters=args),
                        page=args["page"], page_size=args["page_size"])
        page["items"] = present_cases(session=db.session, cases=page["items"], viewer=user, full_pii=False)
        return page


@blp.route("/<int:case_id>")
class CaseDetail(MethodView):
    @auth_required()
    @blp.doc(security=BEARER)
    @blp.response(200, CaseSchema)
    def get(self, case_id):
        """One case: clocks, participants, route reason, allowed actions."""
        user = current_user()
        return present_case(session=db.session, case=service.get_case(session=db.session, case_id=case_id,
                                                                      viewer=user), viewer=user)


@blp.route("/<int:case_id>/actions/<action>")
class CaseAction(MethodView):
    @auth_required()
    @blp.doc(security=BEARER)
    @blp.arguments(ActionSchema)
    @blp.response(200, CaseSchema)
    def post(self, body, case_id, action):
        """Apply one state-machine transition; the body carries its parameters and the case version."""
        user = current_user()
        version = body.pop("version", None)
        if version is None and request.headers.get("If-Match"):
            raw = request.headers["If-Match"].strip().strip('"').removeprefix("W/").strip('"')
            if not raw.isdigit():
                raise Invalid("If-Match must carry the case version", errors={"If-Match": ["not a version number"]})
            version = int(raw)
        case = actions.apply_action(session=db.session, case_id=case_id, action=action, params=body, actor=user,
                                    expected_version=version)
        return present_case(session=db.session, case=case, viewer=user)


@blp.route("/<int:case_id>/events")
class CaseEvents(MethodView):
    @auth_required()
    @blp.doc(security=BEARER)
    @blp.response(200, EventListSchema)
    def get(self, case_id):
        """The audit trail, oldest first."""
        events = service.case_events(session=db.session, case_id=case_id, viewer=current_user())
        return {"items": events, "total": len(events)}
