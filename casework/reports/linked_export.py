"""Excel and PDF renderings of the linked-case report."""
from __future__ import annotations

from casework.exports.xlsx import new_workbook, to_bytes, write_table

STATUS_HEADERS = ["编号", "类型", "状态", "标题", "承办单位", "距离", "收件时间", "是否超期", "是否督办", "信访人/举报人"]
TIMELINE_HEADERS = ["时间", "编号", "序号", "动作", "原状态", "新状态", "单位", "操作人"]


def _person(case: dict) -> str:
    if case.get("reporter") is not None:
        return "有举报人" if case["reporter"].get("exists") else "匿名"
    petitioner = case.get("petitioner") or {}
    return petitioner.get("name") or ""


def report_xlsx(report: dict) -> bytes:
    wb = new_workbook()
    ws = wb.create_sheet("关联案件")
    write_table(ws, STATUS_HEADERS, ([c["number"], c["kind"], c["status"], c["title"],
                                      f"{c['handling_unit_name']}({c['handling_unit']})", c["distance"],
                                      c["received_at"], "是" if c["overdue"] else "否",
                                      "是" if c["supervised"] else "否", _person(c)] for c in report["cases"]))
    ws.cell(row=len(report["cases"]) + 3, column=1, value=f"权限范围外关联案件：{report['outside_scope']} 件")
    tl = wb.create_sheet("时间线")
    write_table(tl, TIMELINE_HEADERS, ([e["at"], e["number"], e["seq"], e["action"], e["from_state"], e["to_state"],
                                        e["unit"], e["actor"]] for e in report["timeline"]))
    return to_bytes(wb)


def report_pdf(report: dict) -> bytes:
    from casework.exports.pdf import linked_report_pdf

    return linked_report_pdf(report, person=_person)
