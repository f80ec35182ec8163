import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from casework.auth.current import auth_required, current_user
from casework.common.pagination import paginate
from casework.extensions import db
from casework.notifications import service
from casework.common.fields import LocalDateTime

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
                description="Notifications to the caller's unit")
BEARER = [{"bearerAuth": []}]


class NotificationQuerySchema(ma.Schema):
    unread = ma.fields.Boolean()
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer()
    unit = ma.fields.String(attribute="unit_code")
    kind = ma.fields.String()
    case_id = ma.fields.Integer(allow_none=True)
    supervision_id = ma.fields.Integer(allow_none=True)
    title = ma.fields.String()
    payload = ma.fields.Dict()
    created_at = LocalDateTime()
    read_at = LocalDateTime(allow_none=True)


class NotificationPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NotificationSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    page_size = ma.fields.Integer()


@blp.route("")
class Notifications(MethodView):
    @auth_required()
    @blp.doc(security=BEARER)
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args):
        """Notifications of the caller's unit, newest first."""
        stmt = service.list_for(session=db.session, user=current_user(), unread=args.get("unread"))
        return paginate(db.session, stmt, page=args["page"], page_size=args["page_size"])


@blp.route("/<int:notification_id>/read")
class NotificationRead(MethodView):
    @auth_required()
    @blp.doc(security=BEARER)
    @blp.response(200, NotificationSchema)
    def post(self, notification_id):
        """Mark one notification read."""
        return service.mark_read(session=db.session, user=current_user(), notification_id=notification_id)
