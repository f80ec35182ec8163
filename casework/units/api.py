from flask.views import MethodView
from flask_smorest import Blueprint

from casework.auth.current import auth_required
from casework.common.pagination import paginate
from casework.extensions import db
from casework.units import service
from casework.units.schemas import UnitDetailSchema, UnitPageSchema, UnitQuerySchema

blp = Blueprint("units", __name__, url_prefix="/api/v1/units", description="The unit tree")
BEARER = [{"bearerAuth": []}]


@blp.route("")
class Units(MethodView):
    @auth_required()
    @blp.doc(security=BEARER)
    @blp.arguments(UnitQuerySchema, location="query")
    @blp.response(200, UnitPageSchema)
    def get(self, args):
        """List units by level, parent and kind (the whole tree is public to any user)."""
        stmt = service.list_units(session=db.session, level=args.get("level"), parent=args.get("parent"),
                                  kind=args.get("kind"))
        return paginate(db.session, stmt, page=args["page"], page_size=args["page_size"])


@blp.route("/<code>")
class UnitDetail(MethodView):
    @auth_required()
    @blp.doc(security=BEARER)
    @blp.response(200, UnitDetailSchema)
    def get(self, code):
        """One unit with its children, its parent chain and its level."""
        unit = service.get_unit(session=db.session, code=code)
        return {"code": unit.code, "name": unit.name, "level": unit.level, "kind": unit.kind,
                "parent_code": unit.parent_code, "division_code": unit.division_code,
                "children": service.children(session=db.session, code=unit.code),
                "ancestors": service.ancestors(session=db.session, unit=unit)}
