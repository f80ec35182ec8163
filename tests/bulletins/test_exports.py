"""The November bulletin of the hand-counted world as Excel and PDF, served by the API and read back.

The expected values are test_figures.py's hand counts, not the JSON the files were made from.
Set BULLETIN_PDF_OUT=/some/file.pdf to keep the PDF (scripts/render_bulletin_png.sh renders it to PNG).
"""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess

import openpyxl
import pytest
from pypdf import PdfReader

from tests.bulletins.fixture import SC, SPECS, WA, YX, world  # noqa: F401  (world: the fixture)
from tests.bulletins.test_figures import BY_CATEGORY, BY_CHANNEL, BY_KIND, CHILDREN, IDLE_COUNTIES, NOV, OVERDUE, \
    SUPERVISED

TITLE = "吉安市民政局2026年11月民政领域群众诉求办理情况通报"
# The summary sheet's rows, in order, by their Chinese label.
LABELS = {"收件量": "received", "受理量": "accepted", "不予受理": "not_accepted", "及时受理率": "on_time_acceptance_rate",
          "办结量": "closed", "按期办结率": "on_time_closure_rate", "当前超期": "overdue_now",
          "平均办理天数": "avg_handling_days", "办理天数中位数": "median_handling_days", "回退率": "return_rate",
          "重办率": "reopen_rate", "重复信访": "repeat", "集体访": "group", "越级访": "cross_level",
          "新开督办": "supervisions_opened", "办结督办": "supervisions_closed", "参评率": "participation_rate",
          "满意率": "satisfaction_rate", "问题线索收件": "leads_received", "到期整改事项": "rect_due",
          "按期整改": "rect_done_on_time", "超期整改": "rect_overdue"}
DAYS = {"avg_handling_days", "median_handling_days"}
NAMES = {SC: "遂川县", WA: "万安县", YX: "永新县"}
KIND_NAMES = {"petition": "信访件", "complaint": "群众诉求", "rectification": "整改事项"}
KINDS = {spec.key: spec.kind for spec in SPECS}


def fmt_of(figure: str) -> str:
    return "0.0%" if figure.endswith("_rate") else "0.0" if figure in DAYS else "0"


@pytest.fixture(scope="module")
def files(world, app):
    """(xlsx, pdf) as GET /api/v1/bulletins/<id>.xlsx and .pdf answer them to the city's supervisor."""
    from tests.factories import auth_headers

    client, headers = app.test_client(), auth_headers(world.user("supervisor@360800"))
    bulletin_id = world.bulletins["2026-11"]
    xlsx = client.get(f"/api/v1/bulletins/{bulletin_id}.xlsx", headers=headers)
    pdf = client.get(f"/api/v1/bulletins/{bulletin_id}.pdf", headers=headers)
    assert (xlsx.status_code, pdf.status_code) == (200, 200)
    assert pdf.mimetype == "application/pdf" and xlsx.mimetype.endswith("spreadsheetml.sheet")
    if os.environ.get("BULLETIN_PDF_OUT"):
        with open(os.environ["BULLETIN_PDF_OUT"], "wb") as fh:
            fh.write(pdf.data)
    return xlsx.data, pdf.data


@pytest.fixture(scope="module")
def book(files):
    return openpyxl.load_workbook(io.BytesIO(files[0]))


@pytest.fixture(scope="module")
def pdf_text(files) -> str:
    # pypdf puts NULs/spaces between CID glyphs (see tests/exports/test_pdf.py): compare without them.
    return "".join(re.sub(r"[\s\x00]+", "", p.extract_text()) for p in PdfReader(io.BytesIO(files[1])).pages)


# -- Excel --------------------------------------------------------------------------------------------------
def test_sheets_and_frozen_header_rows(book):
    assert book.sheetnames == ["汇总", "排名", "超期案件", "督办案件"]
    # 汇总 has the title in row 1 and the header in row 2; the others start with their header.
    assert [book[name].freeze_panes for name in book.sheetnames] == ["A3", "A2", "A2", "A2"]
    assert book["汇总"]["A1"].value == TITLE


def test_summary_sheet_numbers_and_formats(book):
    ws = book["汇总"]
    assert [c.value for c in ws[2]] == ["指标", "本期", "上期", "环比", "去年同期", "同比"]
    rows = list(ws.iter_rows(min_row=3, max_row=2 + len(LABELS)))
    assert [r[0].value for r in rows] == list(LABELS)
    for row in rows:
        figure = LABELS[row[0].value]
        assert [c.value for c in row[1:]] == [NOV[figure][0], NOV[figure][1], NOV[figure][2], None, None], figure
        assert [c.number_format for c in row[1:]] == [fmt_of(figure)] * 2 + ["0.0%", fmt_of(figure), "0.0%"], figure


def _table(ws, title: str, width: int) -> list[tuple]:
    """The rows (``width`` cells) under the header cell ``title`` in column A, up to the next empty row."""
    start = next(c.row for c in ws["A"] if c.value == title)
    out = []
    for row in ws.iter_rows(min_row=start + 1, max_col=width):
        if row[0].value is None:
            break
        out.append(tuple(c.value for c in row))
        assert [c.number_format for c in row[2:]] == ["0.0%"] * (width - 2)  # shares
    return out


@pytest.mark.parametrize("title, expected, names", [
    ("类别", BY_CATEGORY, {"dibao": "低保", "tekun": "特困供养", "temporary_aid": "临时救助", "disability": "残疾人",
                          "unsupported_children": "事实无人抚养儿童", "left_behind": "农村留守人员",
                          "elderly_care": "养老服务", "social_org": "社会组织", "charity": "慈善",
                          "community": "城乡社区", "customs": "婚丧移风易俗", "place_names": "区划地名", "other": "其他"}),
    ("类型", BY_KIND, {"petition": "信访件", "complaint": "群众诉求"}),
    ("渠道", BY_CHANNEL, {"letter": "来信", "visit": "来访", "online": "网上信访", "phone": "来电", "hotline": "热线",
                        "inspection": "巡视", "audit": "审计", "transfer": "转办"}),
])
def test_breakdown_tables(book, title, expected, names):
    assert _table(book["汇总"], title, 3) == [(names[k], *v) for k, v in expected.items()]


def test_lead_disposal_table(book):
    assert _table(book["汇总"], "线索处置", 2) == [("谈话函询", 1), ("初步核实", 1), ("暂存待查", 1), ("予以了结", 0),
                                                 ("审查调查", 0)]


def test_ranking_sheet(book):
    ws = book["排名"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    expected = [[e["rank"], NAMES[code], code, e["score"], e["received"], e["on_time_acceptance_rate"],
                 e["on_time_closure_rate"], e["satisfaction_rate"], e["return_rate"], e["overdue_now"]]
                for code, e in CHILDREN.items()]
    assert rows[:3] == expected
    assert [(r[0], r[2], r[3], r[4]) for r in rows[3:]] == [(None, code, None, 0) for code in IDLE_COUNTIES]
    assert [c.number_format for c in ws[2]][3:9] == ["0.00", "General", "0.0%", "0.0%", "0.0%", "0.0%"]


@pytest.mark.parametrize("sheet, expected", [("超期案件", OVERDUE), ("督办案件", SUPERVISED)])
def test_list_sheets(book, world, sheet, expected):
    rows = [[c.value for c in r] for r in book[sheet].iter_rows(min_row=1)]
    assert rows[0] == ["编号", "类型", "承办单位", "超期天数", "督办层级"]
    assert rows[1:] == [[world.numbers[key], KIND_NAMES[KINDS[key]], f"{NAMES[unit]}({unit})", days, "市级"]
                        for key, unit, days in expected]


# -- PDF ----------------------------------------------------------------------------------------------------
def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _shown(figure: str, value) -> str:
    if value is None:
        return "—"
    return _pct(value) if figure.endswith("_rate") else f"{value:.1f}" if figure in DAYS else str(value)


def test_pdf_title_and_period(pdf_text, files):
    assert pdf_text.startswith(TITLE)
    assert "统计周期：2026年11月（2026-11-01至2026-12-01，不含末日）。生成时间：2026-12-0102:00。" in pdf_text
    assert PdfReader(io.BytesIO(files[1])).metadata.title == TITLE


@pytest.mark.parametrize("label", LABELS)
def test_pdf_summary_rows(pdf_text, label):
    value, previous, mom = NOV[LABELS[label]]
    figure = LABELS[label]
    row = f"{label}{_shown(figure, value)}{_shown(figure, previous)}{_pct(mom)}——"
    assert row in pdf_text


def test_pdf_breakdowns_ranking_and_lists(pdf_text, world):
    assert "主要诉求类别：低保12件（38.7%）、养老服务9件（29.0%）、特困供养3件（9.7%）、城乡社区2件（6.5%）、婚丧移风易俗1件（3.2%）" \
        in pdf_text
    assert "收件类型：信访件18件（58.1%）、群众诉求13件（41.9%）" in pdf_text
    assert "收件渠道：来信9件（29.0%）、来访6件（19.4%）、网上信访3件（9.7%）、来电3件（9.7%）、热线10件（32.3%）" in pdf_text
    assert "问题线索处置：谈话函询1件、初步核实1件、暂存待查1件、予以了结0件、审查调查0件" in pdf_text
    # The ranking table: rank, unit, score (one decimal), received, rates, overdue.
    for code, e in CHILDREN.items():
        row = (f"{e['rank']}{NAMES[code]}{e['score']:.1f}{e['received']}{_pct(e['on_time_acceptance_rate'])}"
               f"{_pct(e['on_time_closure_rate'])}{_pct(e['satisfaction_rate'])}{e['overdue_now']}")
        assert row in pdf_text
    assert "—吉州区—0———0" in pdf_text  # an idle county: unranked, its rates empty, not 0%
    assert "红榜：遂川县、万安县、永新县黑榜：永新县、万安县、遂川县" in pdf_text
    # The bar chart labels every county; the idle ones say 无 instead of drawing a 0% bar.
    assert "遂川县100%万安县71.4%永新县66.7%吉州区无" in pdf_text
    for key, unit, days in SUPERVISED:
        assert f"{world.numbers[key]}" in pdf_text and f"{NAMES[unit]}{'—' if days is None else days}市级" in pdf_text


def _page_fonts(data: bytes) -> dict[str, dict]:
    """BaseFont → FontDescriptor for every font of every page (Type0 fonts through DescendantFonts)."""
    found = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            for leaf in [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]:
                found[str(leaf["/BaseFont"])] = leaf["/FontDescriptor"].get_object()
    return found


def test_pdf_embeds_a_subset_cjk_font(files):
    fonts = _page_fonts(files[1])
    cjk = {name: d for name, d in fonts.items() if "NotoSansSC" in name}
    assert cjk, fonts
    for name, descriptor in cjk.items():
        stream = next(descriptor[k].get_object() for k in ("/FontFile2", "/FontFile3") if k in descriptor)
        # Embedded (the program is in the file) and subset (tag+name; far smaller than the 8 MB font).
        assert 1_000 < len(stream.get_data()) < 1_000_000
        assert re.fullmatch(r"/?[A-Z]{6}\+NotoSansSC.*", name), name


def test_pdf_bars_and_table_fills(files):
    # Content streams: the bar chart draws one filled rectangle per county with a rate (3, not 13 with 0-width
    # bars for the idle ones), and table cells are filled only with the header colour (a chart's bar colour
    # used to leak into every body cell drawn after it).
    header_fill = "0.8667 0.9216 0.9686 rg"
    bars, cells = 0, 0
    for page in PdfReader(io.BytesIO(files[1])).pages:
        ops = re.findall(r"[\d.]+ [\d.]+ [\d.]+ rg|re [fB]", page.get_contents().get_data().decode("latin-1"))
        colour = None
        for op in ops:
            if op.endswith("rg"):
                colour = op
            elif op == "re f":
                bars += 1
            else:
                cells += 1
                assert colour == header_fill
    assert bars == 3
    assert cells == 6 + 8 + 5 + 5  # the header cells of the four tables: summary, ranking, two lists


@pytest.mark.skipif(not shutil.which("pdftoppm") and os.environ.get("CASEWORK_REQUIRE_PDFTOPPM") != "1",
                    reason="needs poppler-utils (pdftoppm); .ci/run installs it and requires this test")
def test_pdf_pages_render_with_the_charts(files, tmp_path):
    from PIL import Image

    (tmp_path / "b.pdf").write_bytes(files[1])
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(tmp_path / "b.pdf"), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(PdfReader(io.BytesIO(files[1])).pages)

    def bar_blue(path) -> int:
        image = Image.open(path).convert("RGB")
        return sum(n for n, (r, g, b) in image.getcolors(1 << 24) if abs(r - 31) + abs(g - 119) + abs(b - 180) < 60)

    # Blue pixels: the bars (and the line of the trend chart) are drawn somewhere in the document.
    assert sum(bar_blue(p) for p in pages) > 200
