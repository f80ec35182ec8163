from flask import Response, current_app, request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from casework.auth.current import auth_required, current_user
from casework.cases.presenter import present_case
from casework.cases.schemas import CaseSchema
from casework.common.fields import BINARY
from casework.db import utcnow
from casework.exports.xlsx import XLSX_MIMETYPE, new_workbook, to_bytes, write_table
from casework.extensions import db
from casework.problem import Invalid
from casework.rectification import service
from casework.rectification.evidence import ALLOWED, path_of
from casework.rectification.schemas import (LedgerQuerySchema, LedgerSchema, ProgressFormSchema, ProgressSchema,
                                            RectificationCreateSchema)

blp = Blueprint("rectifications", __name__, url_prefix="/api/v1/rectifications",
                description="Rectification ledger items (整改台账)")
BEARER = [{"bearerAuth": []}]
LEDGER_HEADERS = ["编号", "问题来源", "发现日期", "整改任务", "整改举措", "整改时限", "责任人", "责任单位", "状态",
                  "进度(%)", "超期天数", "是否督办"]


@blp.route("")
class Rectifications(MethodView):
    @auth_required("supervisor", "inspector", "admin")
    @blp.doc(security=BEARER)
    @blp.arguments(RectificationCreateSchema)
    @blp.response(201, CaseSchema)
    def post(self, body):
        """Create a ledger item from an inspection finding, assigned to the responsible unit."""
        case = service.create_item(session=db.session, data=body, actor=current_user(), now=utcnow())
        return present_case(session=db.session, case=case, viewer=current_user())


@blp.route("/ledger")
class Ledger(MethodView):
    @auth_required()
    @blp.doc(security=BEARER)
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.response(200, LedgerSchema, content_type="application/json")
    @blp.alt_response(200, schema=BINARY, content_type=XLSX_MIMETYPE, description="the ledger as Excel (format=xlsx)")
    def get(self, args):
        """The ledger (台账): one row per item with its state and days overdue; JSON or Excel."""
        rows = service.ledger(session=db.session, viewer=current_user(), unit=args.get("unit"), now=utcnow())
        if args["format"] == "xlsx":
            wb = new_workbook()
            ws = wb.create_sheet("整改台账")
            write_table(ws, LEDGER_HEADERS, ([r["number"], r["source_text"], r["finding_date"], r["task"], r["measures"],
                                              r["deadline"], r["responsible_person"],
                                              f"{r['responsible_unit_name']}({r['responsible_unit']})", r["status"],
                                              r["progress_percent"], r["days_overdue"],
                                              "是" if r["supervised"] else "否"] for r in rows))
            return Response(to_bytes(wb), mimetype=XLSX_MIMETYPE,
                            headers={"Content-Disposition": "attachment; filename=ledger.xlsx"})
        return {"items": rows, "total": len(rows)}


@blp.route("/<int:case_id>/progress")
class Progress(MethodView):
    @auth_required("clerk", "supervisor")
    @blp.doc(security=BEARER)
    @blp.arguments(ProgressFormSchema, location="form")
    @blp.response(201, ProgressSchema)
    def post(self, form, case_id):
        """A progress report (multipart form: text, date, percent, files[] as evidence)."""
        files = [(f.filename, f.mimetype, f.read()) for f in request.files.getlist("files")]
        if len(files) > 10:
            raise Invalid("at most 10 files per report", errors={"files": ["at most 10"]})
        report = service.add_progress(session=db.session, case_id=case_id, actor=current_user(), text=form["text"],
                                      report_date=form["date"], percent=form["percent"], files=files,
                                      evidence_dir=current_app.config["EVIDENCE_DIR"],
                                      max_bytes=current_app.config["EVIDENCE_MAX_BYTES"], now=utcnow())
        from casework.rectification.models import EvidenceFile
        import sqlalchemy as sa

        stored = db.session.scalars(sa.select(EvidenceFile).where(EvidenceFile.report_id == report.id))
        return {"id": report.id, "case_id": report.case_id, "text": report.text, "report_date": report.report_date,
                "percent": report.percent, "created_at": report.created_at,
                "files": [{"id": f.id, "filename": f.filename, "content_type": f.content_type, "size": f.size,
                           "sha256": f.sha256} for f in stored]}


@blp.route("/<int:case_id>/evidence/<int:file_id>")
class Evidence(MethodView):
    @auth_required()
    @blp.doc(security=BEARER)
    @blp.response(200, content_type="application/octet-stream")
    def get(self, case_id, file_id):
        """Download one evidence file, always as an attachment and never with an executable type."""
        row = service.evidence_of(session=db.session, case_id=case_id, file_id=file_id, viewer=current_user())
        path = path_of(folder=current_app.config["EVIDENCE_DIR"], sha256=row.sha256)
        # Only a type from the upload allow-list is ever served as itself (defence in depth against odd rows).
        mimetype = row.content_type if row.content_type in ALLOWED else "application/octet-stream"
        response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=row.filename)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response
