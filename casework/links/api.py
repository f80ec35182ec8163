from datetime import datetime

import marshmallow as ma
from flask import Response, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from casework.auth.current import auth_required, current_user
from casework.exports.xlsx import XLSX_MIMETYPE
from casework.extensions import db
from casework.links import service
from casework.links.models import LINK_TYPES
from casework.reports.linked import PAGE_SIZE
from casework.common.fields import BINARY, LocalDateTime, json_default

blp = Blueprint("links", __name__, url_prefix="/api/v1/cases", description="Case links and the linked-case report")
BEARER = [{"bearerAuth": []}]
STAFF = ("clerk", "supervisor", "inspector", "admin")


class LinkCreateSchema(ma.Schema):
    target = ma.fields.Integer(required=True, strict=True)
    type = ma.fields.String(required=True, validate=validate.OneOf(LINK_TYPES))
    note = ma.fields.String(validate=validate.Length(max=1000))


class LinkedCaseSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String()


class LinkSchema(ma.Schema):
    id = ma.fields.Integer()
    type = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    auto = ma.fields.Boolean()
    dismissed = ma.fields.Boolean()
    created_at = LocalDateTime()
    case = ma.fields.Nested(LinkedCaseSchema)


class LinkListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(LinkSchema))
    total = ma.fields.Integer()
    outside_scope = ma.fields.Integer()


class ReportQuerySchema(ma.Schema):
    depth = ma.fields.Integer(load_default=3, validate=validate.Range(min=1, max=6))
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx", "pdf"]))
    # Pages the JSON's cases (nearest first); xlsx and pdf always hold the whole component.
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = ma.fields.Integer(load_default=PAGE_SIZE, validate=validate.Range(min=1, max=200))


@blp.route("/<int:case_id>/links")
class Links(MethodView):
    @auth_required(*STAFF)
    @blp.doc(security=BEARER)
    @blp.arguments(LinkCreateSchema)
    @blp.response(201, LinkListSchema)
    def post(self, body, case_id):
        """Link this case to another (both directions are visible; no self-links, no duplicates)."""
        service.add_link(session=db.session, case_id=case_id, target_id=body["target"], type_=body["type"],
                         note=body.get("note"), actor=current_user())
        return service.links_of(session=db.session, case_id=case_id, viewer=current_user())

    @auth_required()
    @blp.doc(security=BEARER)
    @blp.response(200, LinkListSchema)
    def get(self, case_id):
        """The links of this case; linked cases outside the caller's scope are only counted."""
        return service.links_of(session=db.session, case_id=case_id, viewer=current_user())


@blp.route("/<int:case_id>/links/<int:link_id>/dismiss")
class DismissLink(MethodView):
    @auth_required("inspector", "supervisor")
    @blp.doc(security=BEARER)
    @blp.response(200, LinkListSchema)
    def post(self, case_id, link_id):
        """Dismiss an automatic link (it is kept, marked dismissed, and no longer followed by reports)."""
        service.dismiss_link(session=db.session, case_id=case_id, link_id=link_id, actor=current_user())
        return service.links_of(session=db.session, case_id=case_id, viewer=current_user())


@blp.route("/<int:case_id>/linked-report")
class LinkedReport(MethodView):
    @auth_required("inspector", "supervisor")
    @blp.doc(security=BEARER)
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, content_type="application/json")
    @blp.alt_response(200, schema=BINARY, content_type=XLSX_MIMETYPE, description="format=xlsx")
    @blp.alt_response(200, schema=BINARY, content_type="application/pdf", description="format=pdf")
    def get(self, args, case_id):
        """Connected cases up to a depth with their clocks and timelines, and a merged timeline.

        JSON pages the visible cases, nearest first (``page``, ``page_size`` 50, up to 200): ``total`` counts the
        visible cases of the whole component and ``next`` links the next page (null on the last); the
        timeline merges the page's cases. xlsx and pdf hold the whole component.
        """
        from casework.reports.linked import linked_report

        paged = args["format"] == "json"
        report = linked_report(session=db.session, case_id=case_id, viewer=current_user(), depth=args["depth"],
                               page=args["page"] if paged else 1, page_size=args["page_size"] if paged else None)
        if args["format"] == "xlsx":
            from casework.reports.linked_export import report_xlsx

            return Response(report_xlsx(report), mimetype=XLSX_MIMETYPE,
                            headers={"Content-Disposition": f"attachment; filename=linked-{case_id}.xlsx"})
        if args["format"] == "pdf":
            from casework.reports.linked_export import report_pdf

            return Response(report_pdf(report), mimetype="application/pdf",
                            headers={"Content-Disposition": f"attachment; filename=linked-{case_id}.pdf"})
        report["next"] = None if report["next_page"] is None else url_for(
            "links.LinkedReport", case_id=case_id, depth=args["depth"], page=report["next_page"],
            page_size=args["page_size"])
        return _iso_times(report)


def _iso_times(value):
    """Flask would write datetimes as RFC 1123 in GMT; the contract wants ISO 8601 in Asia/Shanghai (was UTC)."""
    if isinstance(value, datetime):
        return json_default(value)
    if isinstance(value, dict):
        return {k: _iso_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso_times(v) for v in value]
    return value
