from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from casework.auth.current import auth_required, current_user
from casework.bulletins import service
from casework.bulletins.schemas import BulletinPageSchema, BulletinQuerySchema, BulletinRequestSchema, BulletinSchema
from casework.common.fields import BINARY
from casework.common.pagination import paginate
from casework.db import utcnow
from casework.exports.xlsx import XLSX_MIMETYPE
from casework.extensions import db
from casework.problem import Invalid

blp = Blueprint("bulletins", __name__, url_prefix="/api/v1/bulletins", description="Periodic bulletins (定期通报)")
BEARER = [{"bearerAuth": []}]
READERS = ("supervisor", "inspector", "admin")


@blp.route("")
class Bulletins(MethodView):
    @auth_required(*READERS)
    @blp.doc(security=BEARER)
    @blp.arguments(BulletinRequestSchema)
    @blp.response(202, BulletinSchema)
    def post(self, body):
        """Build one bulletin now (a new version); answers 202 with the job id; GET it for the state."""
        bulletin, job_id = service.request_build(session=db.session, unit_code=body["unit"], kind=body["period"],
                                                 start=body["start"], actor=current_user(), now=utcnow())
        return {**_row(bulletin), "job_id": job_id}

    @auth_required(*READERS)
    @blp.doc(security=BEARER)
    @blp.arguments(BulletinQuerySchema, location="query")
    @blp.response(200, BulletinPageSchema)
    def get(self, args):
        """Bulletins of units in the caller's subtree."""
        stmt = service.list_bulletins(session=db.session, viewer=current_user(), unit=args.get("unit"),
                                      kind=args.get("period"))
        return paginate(db.session, stmt, page=args["page"], page_size=args["page_size"])


def _row(b) -> dict:
    return {"id": b.id, "unit_code": b.unit_code, "period": b.period, "period_start": b.period_start,
            "period_end": b.period_end, "version": b.version, "state": b.state, "requested_at": b.requested_at,
            "built_at": b.built_at, "error": b.error, "figures": b.figures}


def _done(bulletin_id: int):
    bulletin = service.get_bulletin(session=db.session, bulletin_id=bulletin_id, viewer=current_user())
    if bulletin.state != "done":
        raise Invalid(f"the bulletin is {bulletin.state}", errors={"state": [bulletin.state]}, status=409)
    return bulletin


@blp.route("/<int:bulletin_id>")
class BulletinDetail(MethodView):
    @auth_required(*READERS)
    @blp.doc(security=BEARER)
    @blp.response(200, BulletinSchema)
    def get(self, bulletin_id):
        """One bulletin: its state, and its figures once built."""
        return _row(service.get_bulletin(session=db.session, bulletin_id=bulletin_id, viewer=current_user()))


@blp.route("/<int:bulletin_id>.xlsx")
class BulletinXlsx(MethodView):
    @auth_required(*READERS)
    @blp.doc(security=BEARER)
    @blp.response(200, BINARY, content_type=XLSX_MIMETYPE)
    def get(self, bulletin_id):
        """The bulletin as Excel: summary, ranking and list sheets."""
        from casework.bulletins.exports import bulletin_xlsx

        b = _done(bulletin_id)
        return Response(bulletin_xlsx(b.figures), mimetype=XLSX_MIMETYPE,
                        headers={"Content-Disposition": f"attachment; filename=bulletin-{b.id}.xlsx"})


@blp.route("/<int:bulletin_id>.pdf")
class BulletinPdf(MethodView):
    @auth_required(*READERS)
    @blp.doc(security=BEARER)
    @blp.response(200, BINARY, content_type="application/pdf")
    def get(self, bulletin_id):
        """The bulletin as a printable A4 PDF with charts."""
        from casework.bulletins.exports import bulletin_pdf

        b = _done(bulletin_id)
        return Response(bulletin_pdf(b.figures), mimetype="application/pdf",
                        headers={"Content-Disposition": f"attachment; filename=bulletin-{b.id}.pdf"})
