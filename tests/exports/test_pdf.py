"""PDF exports: Chinese text that survives extraction, an embedded subset CJK font, tables, charts, and the
linked-case report over the API."""
from __future__ import annotations

import io
import re
from datetime import datetime, timezone

import pytest
from pypdf import PdfReader

from casework.exports import fonts
from casework.exports.pdf import Document, cell_text, linked_report_pdf, nice_ticks
from tests.cases.conftest import petition_body

CITIES = ["南昌市", "景德镇市", "萍乡市", "九江市", "吉安市"]


def page_texts(data: bytes) -> list[str]:
    # fpdf2 writes CFF fonts with an embedded code→CID CMap as /Encoding. pypdf does not read such CMaps
    # ("advanced encoding"), splits the 2-byte codes into single bytes and returns NUL or a space before
    # each character it then finds in /ToUnicode; poppler's pdftotext reads the same PDF cleanly.
    # So: compare without NULs and whitespace.
    return [re.sub(r"[\s\x00]+", "", page.extract_text()) for page in PdfReader(io.BytesIO(data)).pages]


def embedded_fonts(data: bytes) -> dict[str, dict]:
    """BaseFont → its FontDescriptor, for every font on every page (composite fonts via DescendantFonts)."""
    found = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            for leaf in [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]:
                found[str(leaf["/BaseFont"])] = leaf["/FontDescriptor"].get_object()
    return found


def font_file(descriptor: dict):
    for key in ("/FontFile2", "/FontFile3", "/FontFile"):
        if key in descriptor:
            return descriptor[key].get_object()
    return None


@pytest.fixture(scope="module")
def bulletin_pdf() -> bytes:
    doc = Document("2026年第三季度信访工作通报")
    doc.heading("一、总体情况")
    doc.paragraph("本季度全省共受理信访件1234件，同比下降5.2%，按期办结率97.5%。")
    doc.table(["单位", "受理件数", "按期办结率", "备注"],
              [["遂川县民政局", 120, 98.5, "无"], ["双清区民政局", 87, 91.25, "部分案件涉及多部门协调，办理周期较长，已督办。" * 3]],
              widths=[3, 1, 1, 4])
    doc.bar_chart("各设区市按期办结率", CITIES, [98.1, 95, None, 100, 76.4])
    doc.line_chart("月度受理量", [f"{m}月" for m in range(1, 7)],
                   {"信访件": [120, 130, 90, None, 160, 140], "群众诉求": [300, 280, 310, 290, 305, 320]})
    return doc.to_bytes()


def test_chinese_text_is_extractable(bulletin_pdf):
    assert bulletin_pdf.startswith(b"%PDF-")
    text = "".join(page_texts(bulletin_pdf))
    for expected in ["2026年第三季度信访工作通报", "一、总体情况", "按期办结率97.5%",  # title, heading, paragraph
                     "遂川县民政局", "91.25", "已督办",  # table cells, the long one wrapped
                     "各设区市按期办结率", *CITIES, "98.1%", "76.4%",  # bar chart labels and values
                     "月度受理量", "6月", "信访件", "群众诉求",  # line chart axis and legend
                     "第1页/共1页"]:  # footer with the total page count filled in
        assert expected in text, expected


def test_cjk_font_is_embedded_as_a_subset(bulletin_pdf):
    found = embedded_fonts(bulletin_pdf)
    cjk = {name: desc for name, desc in found.items() if "NotoSansSC" in name}
    assert len(cjk) == 1, found.keys()
    (name, descriptor), = cjk.items()
    assert re.fullmatch(r"/[A-Z]{6}\+NotoSansSC", name), name  # the subset tag of ISO 32000 §9.6.4
    stream = font_file(descriptor)
    assert stream is not None, descriptor
    # The font file is 8 MB; the page needs a few dozen glyphs.
    assert 1_000 < len(stream.get_data()) < 200_000
    assert all(font_file(d) is not None for d in found.values()), "every font is embedded"


def test_long_tables_repeat_their_header_on_every_page():
    doc = Document("长表格", landscape=True)
    doc.table(["编号", "标题"], [[f"XF-360827-2026-{i:06d}", f"第{i}件 低保待遇申请"] for i in range(1, 121)])
    pages = page_texts(doc.to_bytes())
    assert len(pages) >= 3
    assert all("编号标题" in p for p in pages)
    assert "XF-360827-2026-000120" in pages[-1] and f"共{len(pages)}页" in pages[-1]


def test_long_bar_charts_continue_on_the_next_page():
    labels = [f"单位{i:02d}" for i in range(60)]
    doc = Document("柱状图")
    doc.bar_chart("办结率", labels, [float(i) for i in range(60)])
    pages = page_texts(doc.to_bytes())
    assert len(pages) >= 2 and "单位00" in pages[0] and "单位59" in pages[-1] and "59%" in pages[-1]


def test_empty_inputs_say_so():
    doc = Document("空")
    doc.table(["编号", "标题"], [])
    doc.bar_chart("空柱图", [], [])
    doc.line_chart("空折线图", ["1月"], {"信访件": [None]})
    text = page_texts(doc.to_bytes())[0]
    assert text.count("（无）") == 1 and text.count("（无数据）") == 2


@pytest.mark.parametrize("build, message", [
    (lambda d: d.table(["a", "b"], [], widths=[1]), "1 widths for 2 columns"),
    (lambda d: d.table(["a", "b"], [["x"]]), "row 0 has 1 cells"),
    (lambda d: d.bar_chart("t", ["a", "b"], [1]), "2 labels for 1 values"),
    (lambda d: d.line_chart("t", ["a", "b"], {"s": [1]}), "series 's' has 1 points"),
])
def test_mismatched_shapes_are_refused(build, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build(Document("x"))


def test_a_finished_document_cannot_grow():
    doc = Document("一次")
    first = doc.to_bytes()
    assert doc.to_bytes() is first
    with pytest.raises(RuntimeError):
        doc.paragraph("再写")


@pytest.mark.parametrize("low, high, ticks", [
    (0, 98.1, [0, 20, 40, 60, 80, 100]),
    (0, 340, [0, 100, 200, 300, 400]),
    (-5, 12, [-5, 0, 5, 10, 15]),
    (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1]),  # all zero: still an axis
    (0, 3, [0, 1, 2, 3]),
])
def test_nice_ticks(low, high, ticks):
    assert nice_ticks(low, high) == ticks


@pytest.mark.parametrize("value, text", [
    (None, ""), (True, "是"), (False, "否"), (3, "3"), (3.0, "3"), (91.250, "91.25"), (1 / 3, "0.33"),
    (datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc), "2026-03-02 00:30"),  # Beijing time
])
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_font_comes_from_the_installed_package(monkeypatch):
    from fontTools.ttLib import TTFont

    monkeypatch.delenv(fonts.FONT_ENV, raising=False)
    path = fonts.cjk_font_path()
    assert path.name == "NotoSansSC-Regular.otf" and path.parent.name == fonts.FONT_PACKAGE
    face = TTFont(path, lazy=True)
    assert face["name"].getDebugName(1) == "Noto Sans SC" and 0x6848 in face.getBestCmap()  # 案
    monkeypatch.setenv(fonts.FONT_ENV, "/nonexistent/font.otf")
    with pytest.raises(fonts.FontNotFound):
        fonts.cjk_font_path()


def test_linked_report_pdf_from_a_report_dict():
    at = datetime(2026, 5, 6, 1, 2, tzinfo=timezone.utc)
    case = {"id": 7, "number": "XF-360827-2026-000007", "kind": "petition", "status": "in_progress",
            "title": "低保待遇申请未获答复", "handling_unit": "360827", "handling_unit_name": "遂川县", "distance": 0,
            "overdue": True, "petitioner": {"name": "张*"}, "reporter": None}
    report = {"case_id": 7, "depth": 3, "total_connected": 3, "outside_scope": 2, "cases": [case],
              "timeline": [{"at": at, "number": case["number"], "seq": 1, "action": "accept", "from_state": "assigned",
                            "to_state": "accepted", "unit": "360827", "actor": "王科员"}]}
    text = "".join(page_texts(linked_report_pdf(report, person=lambda c: "【可见】" + c["petitioner"]["name"])))
    for expected in ["关联案件报告（XF-360827-2026-000007）", "信访件", "办理中", "遂川县（360827）", "是",
                     "【可见】张*",  # what the caller's person() allows, nothing more
                     "权限范围外关联案件：2件", "2026-05-0609:02", "受理", "已交办", "已受理", "王科员"]:
        assert expected in text, expected


def test_linked_report_pdf_over_the_api(client, make_user):
    _, clerk = make_user(role="clerk", unit="360827")
    case = client.post("/api/v1/cases", json=petition_body(), headers=clerk).get_json()
    r = client.post(f"/api/v1/cases/{case['id']}/actions/spin_off_lead", headers=clerk,
                    json={"version": case["version"], "title": "反映干部问题", "content": "xx",
                          "accused": {"name": "李七", "unit": "360827"}})
    assert r.status_code == 200, r.get_json()
    _, supervisor = make_user(role="supervisor", unit="360827")
    url = f"/api/v1/cases/{case['id']}/linked-report"
    r = client.get(f"{url}?format=pdf", headers=supervisor)
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"] == f"attachment; filename=linked-{case['id']}.pdf"
    text = "".join(page_texts(r.data))
    # The lead went to the discipline unit, outside a civil-affairs supervisor's scope: counted, not listed.
    assert case["number"] in text and "权限范围外关联案件：1件" in text and "反映干部问题" not in text
    assert "张*" in text and "13812345678" not in text and "138****5678" not in text  # the name, masked
    assert "登记" in text and "交办" in text and "移交问题线索" in text  # the timeline, in Chinese
    # The JSON form of the same report keeps the contract's ISO 8601 times.
    at = client.get(url, headers=supervisor).get_json()["timeline"][0]["at"]
    assert datetime.fromisoformat(at).utcoffset() is not None
    assert client.get(f"{url}?format=pdf", headers=clerk).status_code == 403
