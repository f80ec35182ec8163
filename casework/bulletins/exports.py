"""Bulletins as Excel (summary, ranking, lists) and as a printable A4 PDF with charts."""
from __future__ import annotations

from datetime import datetime

from casework.common.vocab import KIND_NAMES
from casework.exports.xlsx import SHANGHAI, new_workbook, to_bytes, write_table

SUMMARY_ROWS = [
    ("received", "收件量", "0"), ("accepted", "受理量", "0"), ("not_accepted", "不予受理", "0"),
    ("on_time_acceptance_rate", "及时受理率", "0.0%"), ("closed", "办结量", "0"),
    ("on_time_closure_rate", "按期办结率", "0.0%"), ("overdue_now", "当前超期", "0"),
    ("avg_handling_days", "平均办理天数", "0.0"), ("median_handling_days", "办理天数中位数", "0.0"),
    ("return_rate", "回退率", "0.0%"), ("reopen_rate", "重办率", "0.0%"), ("repeat", "重复信访", "0"),
    ("group", "集体访", "0"), ("cross_level", "越级访", "0"), ("supervisions_opened", "新开督办", "0"),
    ("supervisions_closed", "办结督办", "0"), ("participation_rate", "参评率", "0.0%"),
    ("satisfaction_rate", "满意率", "0.0%"), ("leads_received", "问题线索收件", "0"),
    ("rect_due", "到期整改事项", "0"), ("rect_done_on_time", "按期整改", "0"), ("rect_overdue", "超期整改", "0"),
]
RANKING_HEADERS = ["排名", "单位", "代码", "综合得分", "收件量", "及时受理率", "按期办结率", "满意率", "回退率", "当前超期"]
LIST_HEADERS = ["编号", "类型", "承办单位", "超期天数", "督办层级"]
LEVEL_NAMES = {"ministry": "部级", "province": "省级", "city": "市级", "county": "县级", None: ""}
DISPOSAL_NAMES = {"inquiry": "谈话函询", "verification": "初步核实", "hold": "暂存待查", "close": "予以了结",
                  "investigation": "审查调查"}


def bulletin_xlsx(figures: dict) -> bytes:
    wb = new_workbook()
    ws = wb.create_sheet("汇总")
    ws.cell(row=1, column=1, value=figures["title"])
    summary = figures["summary"]
    rows = []
    formats = {}
    for i, (key, label, fmt) in enumerate(SUMMARY_ROWS, start=3):
        s = summary[key]
        rows.append([label, s["value"], s["previous"], s["mom"], s["last_year"], s["yoy"]])
        formats[i] = fmt
    last = write_table(ws, ["指标", "本期", "上期", "环比", "去年同期", "同比"], rows, start_row=2,
                       number_formats={4: "0.0%", 6: "0.0%"})
    for row_index, fmt in formats.items():
        for col in (2, 3, 5):
            ws.cell(row=row_index, column=col).number_format = fmt
    for title, key in (("类别", "by_category"), ("类型", "by_kind"), ("渠道", "by_channel")):
        last = write_table(ws, [title, "件数", "占比"], ([r["name"], r["count"], r["share"]] for r in figures[key]),
                           start_row=last + 2, number_formats={3: "0.0%"})
    write_table(ws, ["线索处置", "件数"], ([name, figures["leads_disposed"].get(k, 0)] for k, name in DISPOSAL_NAMES.items()),
                start_row=last + 2)
    ws.freeze_panes = "A3"
    rk = wb.create_sheet("排名")
    write_table(rk, RANKING_HEADERS, ([c["rank"], c["name"], c["code"], c["score"], c["figures"]["received"],
                                       c["figures"]["on_time_acceptance_rate"], c["figures"]["on_time_closure_rate"],
                                       c["figures"]["satisfaction_rate"], c["figures"]["return_rate"],
                                       c["figures"]["overdue_now"]] for c in figures["children"]),
                number_formats={4: "0.00", 6: "0.0%", 7: "0.0%", 8: "0.0%", 9: "0.0%"})
    for sheet, key in (("超期案件", "overdue"), ("督办案件", "supervised")):
        ws_list = wb.create_sheet(sheet)
        write_table(ws_list, LIST_HEADERS, ([r["number"], KIND_NAMES.get(r["kind"], r["kind"]),
                                             f"{r['unit_name']}({r['unit']})", r["days_overdue"],
                                             LEVEL_NAMES.get(r["supervision_level"], "")]
                                            for r in figures["lists"][key]))
    return to_bytes(wb)


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _percent_points(value):
    """A rate as chart points; an empty rate stays empty (无 on a bar, a gap in a line), never 0%."""
    return None if value is None else round(value * 100, 1)


def _built_at(figures: dict) -> str:
    """The build time in Beijing time (figures keep the aware ISO time, normally UTC)."""
    return datetime.fromisoformat(figures["built_at"]).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _num(value) -> str:
    return "—" if value is None else (f"{value:.1f}" if isinstance(value, float) else str(value))


def bulletin_pdf(figures: dict) -> bytes:
    from casework.exports.pdf import Document

    doc = Document(title=figures["title"])
    doc.paragraph(f"统计周期：{figures['period']['label']}（{figures['period']['start']} 至 {figures['period']['end']}，"
                  f"不含末日）。生成时间：{_built_at(figures)}。")
    doc.heading("一、总体情况")
    summary = figures["summary"]
    rows = []
    for key, label, fmt in SUMMARY_ROWS:
        s = summary[key]
        show = _pct if fmt.endswith("%") else _num
        rows.append([label, show(s["value"]), show(s["previous"]), _pct(s["mom"]), show(s["last_year"]),
                     _pct(s["yoy"])])
    doc.table(["指标", "本期", "上期", "环比", "去年同期", "同比"], rows)
    top = figures["top_categories"]
    doc.paragraph("主要诉求类别：" + ("、".join(f"{r['name']}{r['count']}件（{_pct(r['share'])}）" for r in top
                                           if r["count"]) or "本期无收件。"))
    for title, key in (("收件类型", "by_kind"), ("收件渠道", "by_channel")):
        doc.paragraph(f"{title}：" + ("、".join(f"{r['name']}{r['count']}件（{_pct(r['share'])}）"
                                               for r in figures[key] if r["count"]) or "无。"))
    # In DISPOSAL_NAMES' order: PostgreSQL's JSONB does not keep the keys' order.
    doc.paragraph("问题线索处置：" + "、".join(f"{name}{figures['leads_disposed'].get(k, 0)}件"
                                         for k, name in DISPOSAL_NAMES.items()))
    children = figures["children"]
    if children:
        doc.heading("二、下级单位办理情况", keep=60)  # with the chart's title and first bars
        doc.bar_chart("下级单位按期办结率", [c["name"] for c in children],
                      [_percent_points(c["figures"]["on_time_closure_rate"]) for c in children], unit="%")
        doc.table(["排名", "单位", "得分", "收件", "及时受理率", "按期办结率", "满意率", "超期"],
                  [[_num(c["rank"]), c["name"], _num(c["score"]), _num(c["figures"]["received"]),
                    _pct(c["figures"]["on_time_acceptance_rate"]), _pct(c["figures"]["on_time_closure_rate"]),
                    _pct(c["figures"]["satisfaction_rate"]), _num(c["figures"]["overdue_now"])] for c in children])
        doc.paragraph("红榜：" + "、".join(c["name"] for c in figures["ranking"]["top"]))
        doc.paragraph("黑榜：" + "、".join(c["name"] for c in figures["ranking"]["bottom"]))
    doc.heading("三、按期办结率走势", keep=105)  # with its line chart (92 mm), not alone at a page's foot
    doc.line_chart("近期按期办结率", [h["period"] for h in figures["history"]],
                   {"按期办结率": [_percent_points(h["on_time_closure_rate"]) for h in figures["history"]]},
                   unit="%")
    for heading, key in (("四、超期案件", "overdue"), ("五、督办案件", "supervised")):
        doc.heading(heading)
        items = figures["lists"][key]
        if items:
            doc.table(LIST_HEADERS, [[r["number"], KIND_NAMES.get(r["kind"], r["kind"]), r["unit_name"],
                                      _num(r["days_overdue"]), LEVEL_NAMES.get(r["supervision_level"], "")]
                                     for r in items])
        else:
            doc.paragraph("无。")
    return doc.to_bytes()
