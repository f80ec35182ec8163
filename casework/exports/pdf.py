"""A4 PDF documents with Chinese text: title, headings, paragraphs, tables and vector charts (fpdf2).

The font is Noto Sans SC from a Python package (see fonts.py), embedded as a subset, so a report
carries only the glyphs it uses (tens of KB, not the 8 MB font). Charts are drawn with the PDF's
own lines, rectangles and text: no matplotlib, and the labels stay selectable text.
"""
from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any, Callable, Iterable, Sequence

from fpdf import FPDF
from fpdf.enums import WrapMode
from fpdf.fonts import FontFace

from casework.common.vocab import KIND_NAMES
from casework.exports.fonts import FAMILY, cjk_font_path
from casework.exports.xlsx import SHANGHAI
from casework.workflow.definitions import WORKFLOWS

PDF_MIMETYPE = "application/pdf"
MARGIN = 15  # mm
TEXT_PT, TABLE_PT, SMALL_PT = 10.5, 8.5, 7.5
INK, MUTED, GRID, HEADER_FILL = (33, 37, 41), (108, 117, 125), (222, 226, 230), (221, 235, 247)
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127)]


def cell_text(value: Any) -> str:
    """One table cell as text; datetimes in Beijing time, as on the Excel sheets."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        moment = value.astimezone(SHANGHAI) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return number_text(value)
    return str(value)


def number_text(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if not float(value).is_integer() else str(int(value))


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round axis ticks covering [low, high] (0, 20, 40 ... rather than 0, 19.6, 39.2 ...)."""
    if high <= low:
        high = low + (abs(low) or 1)
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw - 1e-12)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


class _PDF(FPDF):
    def __init__(self, title: str, landscape: bool):
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="A4")
        self.doc_title = title

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FAMILY, size=SMALL_PT)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"{self.doc_title}  第 {self.page_no()} 页 / 共 {{nb}} 页", align="C")


class Document:
    """An A4 document built top to bottom; ``to_bytes()`` finishes it."""

    def __init__(self, title: str, *, landscape: bool = False, subject: str | None = None):
        self.title = title
        self._pdf = pdf = _PDF(title, landscape)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_auto_page_break(True, margin=MARGIN)
        pdf.add_font(FAMILY, fname=str(cjk_font_path()))
        pdf.set_title(title)
        pdf.set_subject(subject or title)
        pdf.set_creator("casework")
        pdf.set_lang("zh-CN")
        pdf.add_page()
        pdf.set_text_color(*INK)
        pdf.set_font(FAMILY, size=18)
        pdf.multi_cell(0, 10, title, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        self._done: bytes | None = None

    @property
    def width(self) -> float:
        """The usable width between the margins (mm)."""
        return self._pdf.epw

    def _open(self) -> FPDF:
        if self._done is not None:
            raise RuntimeError("the document is finished; to_bytes() was called")
        return self._pdf

    def _room(self, height: float) -> None:
        """Start a new page unless ``height`` mm still fits on this one."""
        pdf = self._pdf
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()

    def heading(self, text: str, keep: float = 20) -> None:
        """``keep``: mm that must fit under the heading's top, or it starts a new page (a chart's height)."""
        pdf = self._open()
        self._room(keep)  # a heading is never the last line of a page
        pdf.ln(2)
        pdf.set_font(FAMILY, size=13.5)
        pdf.set_text_color(*INK)
        pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(*GRID)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
        pdf.ln(2)

    def paragraph(self, text: str) -> None:
        pdf = self._open()
        pdf.set_font(FAMILY, size=TEXT_PT)
        pdf.set_text_color(*INK)
        # Chinese breaks between any two characters: wrapping at spaces only would leave half-empty lines
        # before every long run of 汉字, and justifying would stretch just the few spaces.
        pdf.multi_cell(0, 6, text, align="L", wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[float] | None = None,
              *, empty: str = "（无）") -> None:
        """A bordered table; ``widths`` are relative (2, 1, 1 = half, quarter, quarter). Long cells wrap and
        the header row repeats on every page."""
        pdf = self._open()
        if widths is not None and len(widths) != len(headers):
            raise ValueError(f"{len(widths)} widths for {len(headers)} columns")
        body = [list(r) for r in rows]
        for i, row in enumerate(body):
            if len(row) != len(headers):
                raise ValueError(f"row {i} has {len(row)} cells for {len(headers)} columns")
        pdf.set_font(FAMILY, size=TABLE_PT)
        pdf.set_text_color(*INK)
        pdf.set_draw_color(170, 178, 186)
        pdf.set_line_width(0.2)
        # fpdf2 takes the body cells' style, fill colour included, from the current state: after a chart's
        # bars every body cell came out filled in the bar colour. Its default fill (gray 0) means "no fill".
        pdf.set_fill_color(0)
        style = FontFace(emphasis="", fill_color=HEADER_FILL)  # the font has no bold face
        with pdf.table(col_widths=tuple(widths) if widths else None, headings_style=style, line_height=4.6,
                       text_align="LEFT", padding=(1, 1.2), width=pdf.epw, wrapmode=WrapMode.CHAR) as table:
            head = table.row()
            for title in headers:
                head.cell(str(title), align="C")
            for row in body:
                line = table.row()
                for value in row:
                    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
                    line.cell(cell_text(value), align="R" if numeric else "L")
            if not body:
                table.row().cell(empty, colspan=len(headers), align="C")
        pdf.ln(3)

    # -- charts ---------------------------------------------------------------------------------------
    def _chart_title(self, title: str) -> None:
        pdf = self._pdf
        pdf.set_font(FAMILY, size=11)
        pdf.set_text_color(*INK)
        pdf.multi_cell(0, 7, title, align="C", new_x="LMARGIN", new_y="NEXT")

    def _fit(self, text: str, width: float) -> str:
        """``text`` shortened with an ellipsis to fit ``width`` mm in the current font."""
        pdf = self._pdf
        if pdf.get_string_width(text) <= width:
            return text
        while text and pdf.get_string_width(text + "…") > width:
            text = text[:-1]
        return text + "…"

    def bar_chart(self, title: str, labels: Sequence[str], values: Sequence[float | None], unit: str = "%") -> None:
        """Horizontal bars, one row per label (long unit names fit on the left); ``None`` is shown as 无."""
        pdf = self._open()
        if len(labels) != len(values):
            raise ValueError(f"{len(labels)} labels for {len(values)} values")
        self._room(30)
        self._chart_title(title)
        known = [float(v) for v in values if v is not None]
        if not known:
            self.paragraph("（无数据）")
            return
        ticks = nice_ticks(min(0.0, *known), max(0.0, *known))
        pdf.set_font(FAMILY, size=TABLE_PT)
        label_w = min(pdf.epw * 0.3, max(pdf.get_string_width(str(lb)) for lb in labels) + 3)
        value_w = max(pdf.get_string_width(number_text(v) + unit) for v in known) + 3
        x0 = pdf.l_margin + label_w
        plot_w = pdf.epw - label_w - value_w
        lo, hi = ticks[0], ticks[-1]

        def x_of(v: float) -> float:
            return x0 + (v - lo) / (hi - lo) * plot_w

        row_h, i = 7.0, 0
        while i < len(labels):
            # As many rows as fit here, then the axis under them; the rest goes on the next page.
            fit = max(1, int((pdf.page_break_trigger - pdf.get_y() - 8) // row_h))
            chunk = range(i, min(len(labels), i + fit))
            top, bottom = pdf.get_y() + 1, pdf.get_y() + 1 + len(chunk) * row_h
            pdf.set_draw_color(*GRID)
            pdf.set_line_width(0.15)
            pdf.set_font(FAMILY, size=SMALL_PT)
            pdf.set_text_color(*MUTED)
            for tick in ticks:
                pdf.line(x_of(tick), top, x_of(tick), bottom)
                text = number_text(tick) + unit
                pdf.text(x_of(tick) - pdf.get_string_width(text) / 2, bottom + 3.5, text)
            for n, k in enumerate(chunk):
                y = top + n * row_h
                pdf.set_font(FAMILY, size=TABLE_PT)
                pdf.set_text_color(*INK)
                label = self._fit(str(labels[k]), label_w - 3)
                pdf.text(x0 - 2 - pdf.get_string_width(label), y + row_h / 2 + 1.3, label)
                value = values[k]
                if value is None:
                    pdf.set_text_color(*MUTED)
                    pdf.text(x_of(0) + 1, y + row_h / 2 + 1.3, "无")
                    continue
                start, end = sorted((x_of(0), x_of(float(value))))
                pdf.set_fill_color(*PALETTE[0])
                pdf.rect(start, y + 1.2, max(end - start, 0.3), row_h - 2.4, style="F")
                pdf.text(end + 1, y + row_h / 2 + 1.3, number_text(float(value)) + unit)
            pdf.set_draw_color(*MUTED)
            pdf.line(x_of(0), top, x_of(0), bottom)
            pdf.set_y(bottom + 6)
            i = chunk.stop
            if i < len(labels):
                pdf.add_page()
        pdf.set_text_color(*INK)
        pdf.ln(2)

    def line_chart(self, title: str, labels: Sequence[str], series: dict[str, Sequence[float | None]],
                   unit: str = "") -> None:
        """One line per series over the labels (periods); ``None`` leaves a gap."""
        pdf = self._open()
        for name, points in series.items():
            if len(points) != len(labels):
                raise ValueError(f"series {name!r} has {len(points)} points for {len(labels)} labels")
        height = 70.0
        self._room(height + 22)
        self._chart_title(title)
        known = [float(v) for points in series.values() for v in points if v is not None]
        if not labels or not known:
            self.paragraph("（无数据）")
            return
        ticks = nice_ticks(min(0.0, *known), max(known))
        lo, hi = ticks[0], ticks[-1]
        pdf.set_font(FAMILY, size=SMALL_PT)
        axis_w = max(pdf.get_string_width(number_text(t) + unit) for t in ticks) + 3
        x0, y0 = pdf.l_margin + axis_w, pdf.get_y() + 3
        plot_w, plot_h = pdf.epw - axis_w - 4, height - 14
        step = plot_w / len(labels)

        def at(k: int, v: float) -> tuple[float, float]:
            return x0 + step * (k + 0.5), y0 + plot_h - (v - lo) / (hi - lo) * plot_h

        pdf.set_line_width(0.15)
        pdf.set_text_color(*MUTED)
        for tick in ticks:
            y = at(0, tick)[1]
            pdf.set_draw_color(*(MUTED if tick == lo else GRID))
            pdf.line(x0, y, x0 + plot_w, y)
            text = number_text(tick) + unit
            pdf.text(x0 - 1.5 - pdf.get_string_width(text), y + 1.2, text)
        # Label every k-th period so the x labels never overlap.
        widest = max(pdf.get_string_width(str(lb)) for lb in labels) + 2
        every = max(1, math.ceil(widest / step))
        for k in range(0, len(labels), every):
            text = str(labels[k])
            pdf.text(at(k, lo)[0] - pdf.get_string_width(text) / 2, y0 + plot_h + 4, text)
        pdf.set_line_width(0.5)
        for n, (name, points) in enumerate(series.items()):
            color = PALETTE[n % len(PALETTE)]
            pdf.set_draw_color(*color)
            pdf.set_fill_color(*color)
            run: list[tuple[float, float]] = []
            for k, v in enumerate([*points, None]):
                if v is not None:
                    run.append(at(k, float(v)))
                    continue
                if len(run) > 1:
                    pdf.polyline(run, style="D")
                for x, y in run:
                    pdf.circle(x, y, 0.8, style="F")
                run = []
        # Legend under the axis: a short stroke in the series' colour, then its name.
        x, y = x0, y0 + plot_h + 9
        pdf.set_font(FAMILY, size=TABLE_PT)
        pdf.set_text_color(*INK)
        for n, name in enumerate(series):
            width = pdf.get_string_width(str(name)) + 12
            if x + width > pdf.l_margin + pdf.epw:
                x, y = x0, y + 5
            pdf.set_draw_color(*PALETTE[n % len(PALETTE)])
            pdf.line(x, y - 1.2, x + 6, y - 1.2)
            pdf.text(x + 7.5, y, str(name))
            x += width + 4
        pdf.set_line_width(0.2)
        pdf.set_y(y + 5)

    def to_bytes(self) -> bytes:
        if self._done is None:
            self._done = bytes(self._pdf.output())
        return self._done


# -- the linked-case report -------------------------------------------------------------------------
STATUS_NAMES = {
    "registered": "已登记", "assigned": "已交办", "accepted": "已受理", "not_accepted": "不予受理",
    "in_progress": "办理中", "suspended": "已中止", "responded": "已答复", "under_review": "复查中",
    "reviewed": "已复查", "under_re_review": "复核中", "closed": "已办结", "merged": "已合并",
    "contacted": "已联系", "handled": "已办理", "visited_back": "已回访", "received": "已接收",
    "inquiry": "谈话函询", "verification": "初步核实", "held": "暂存待查", "investigation": "审查调查",
    "transferred": "已移送", "submitted": "已提交销号", "verified": "已销号",
}
# Actions written outside the workflow tables (intake, side effects).
ACTION_NAMES = {"register": "登记", "forward": "转送", "link_repeat": "关联重复件", "flag_returns": "退回标记",
                "notice": "告知", "progress": "整改进展"}


def _table_action_names() -> dict[str, str]:
    """The Chinese name that opens each transition's description in the workflow tables (交办, 受理 ...)."""
    names: dict[str, str] = {}
    for workflow in WORKFLOWS.values():
        for tr in workflow.transitions:
            head = tr.description.split(":")[0].split(" ")[0]
            if head and all("\u4e00" <= ch <= "\u9fff" for ch in head):
                names.setdefault(tr.action, head)
    return names


ACTION_NAMES = {**_table_action_names(), **ACTION_NAMES}


def _name(names: dict[str, str], code: str | None) -> str:
    return names.get(code, code) if code else ""


def linked_report_pdf(report: dict, person: Callable[[dict], str]) -> bytes:
    """The linked-case report (casework.reports.linked) as landscape A4; ``person`` tells what may be shown
    of a case's petitioner or reporter, already masked for the viewer."""
    start = next((c for c in report["cases"] if c["id"] == report["case_id"]), None)
    number = start["number"] if start else str(report["case_id"])
    doc = Document(f"关联案件报告（{number}）", landscape=True, subject="关联案件报告")
    doc.paragraph(f"案件编号：{number}　　关联深度：{report['depth']}　　"
                  f"关联案件：{report['total_connected']} 件（本报告列出 {len(report['cases'])} 件）　　"
                  f"生成时间：{cell_text(datetime.now(SHANGHAI))}")
    doc.heading("关联案件")
    doc.table(["编号", "类型", "状态", "标题", "承办单位", "距离", "是否超期", "信访人/举报人"],
              ([c["number"], _name(KIND_NAMES, c["kind"]), _name(STATUS_NAMES, c["status"]), c["title"],
                f"{c['handling_unit_name'] or ''}（{c['handling_unit']}）", c["distance"], bool(c["overdue"]),
                person(c)] for c in report["cases"]),
              widths=[30, 12, 12, 60, 28, 8, 11, 20])
    doc.paragraph(f"权限范围外关联案件：{report['outside_scope']} 件（不列明细）")
    doc.heading("合并时间线")
    doc.table(["时间", "编号", "序号", "动作", "原状态", "新状态", "单位", "操作人"],
              ([e["at"], e["number"], e["seq"], _name(ACTION_NAMES, e["action"]), _name(STATUS_NAMES, e["from_state"]),
                _name(STATUS_NAMES, e["to_state"]), e["unit"], e["actor"]] for e in report["timeline"]),
              widths=[22, 30, 6, 20, 15, 15, 14, 18])
    return doc.to_bytes()
