from flask.views import MethodView
from flask_smorest import Blueprint

from casework.auth.current import auth_required, current_user
from casework.common.pagination import paginate
from casework.extensions import db
from casework.problem import Forbidden, Invalid
from casework.sla import service
from casework.sla.policies import policies_for_app
from casework.sla.schemas import (CalendarLoadSchema, CalendarSchema, SupervisionListSchema, SupervisionPageSchema,
                                  SupervisionQuerySchema)

blp = Blueprint("supervisions", __name__, url_prefix="/api/v1/supervisions", description="督办 records")
# A case's own 督办, for whoever may see the case: the clerks who must answer cannot list /supervisions.
case_supervisions_blp = Blueprint("case_supervisions", __name__, url_prefix="/api/v1/cases",
                                  description="The 督办 of one case")
calendar_blp = Blueprint("calendar", __name__, url_prefix="/api/v1/calendar",
                         description="The working-day calendar and admin overrides")
BEARER = [{"bearerAuth": []}]
MIN_YEAR, MAX_YEAR = 2000, 2100


@blp.route("")
class Supervisions(MethodView):
    @auth_required("supervisor", "inspector", "admin")
    @blp.doc(security=BEARER)
    @blp.arguments(SupervisionQuerySchema, location="query")
    @blp.response(200, SupervisionPageSchema)
    def get(self, args):
        """督办 opened by or aimed at the caller's subtree."""
        stmt = service.list_supervisions(session=db.session, viewer=current_user(), unit=args.get("unit"),
                                         open_=args.get("open"))
        return paginate(db.session, stmt, page=args["page"], page_size=args["page_size"])


@case_supervisions_blp.route("/<int:case_id>/supervisions")
class CaseSupervisions(MethodView):
    @auth_required()
    @case_supervisions_blp.doc(security=BEARER)
    @case_supervisions_blp.response(200, SupervisionListSchema)
    def get(self, case_id):
        """The case's 督办, oldest first: who urged, why, the reply deadline and the reply."""
        items = service.case_supervisions(session=db.session, case_id=case_id, viewer=current_user())
        return {"items": items, "total": len(items)}


def _year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Invalid("year out of range", errors={"year": [f"must be between {MIN_YEAR} and {MAX_YEAR}"]})
    return year


@calendar_blp.route("/<int:year>")
class Calendar(MethodView):
    @auth_required("admin")
    @calendar_blp.doc(security=BEARER)
    @calendar_blp.response(200, CalendarSchema)
    @calendar_blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, year):
        """The calendar in force for a year and where it comes from."""
        return service.calendar_view(session=db.session, year=_year(year))

    @auth_required("admin")
    @calendar_blp.doc(security=BEARER)
    @calendar_blp.arguments(CalendarLoadSchema)
    @calendar_blp.response(200, CalendarSchema)
    def put(self, body, year):
        """Load the official dates of a year (weekday holidays, worked weekend days); provisional deadlines are
        recomputed. Only the ministry's admins: the calendar moves every deadline in the country."""
        if current_user().unit.level != "ministry":
            raise Forbidden("the working-day calendar is national: only the ministry's admins load it")
        count = service.load_calendar(session=db.session, year=_year(year), holidays=body["holidays"],
                                      workdays=body["workdays"], actor=current_user(), policies=policies_for_app())
        return dict(service.calendar_view(session=db.session, year=year), recomputed=count)
