"""Small openpyxl helpers: a sheet is a header row (frozen, bold) and typed rows."""
from __future__ import annotations

from datetime import date, datetime
from io import BytesIO
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cell_value(value: Any) -> Any:
    """Excel has no time zones: datetimes are written in Beijing time, without offset."""
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).replace(tzinfo=None)
    if isinstance(value, (list, tuple, set)):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return value


def write_table(ws, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
                number_formats: dict[int, str] | None = None, start_row: int = 1) -> int:
    """Write a header and rows; freezes the header, sets formats and widths; returns the last row index."""
    for col, title in enumerate(headers, start=1):
        cell = ws.cell(row=start_row, column=col, value=title)
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = ws.cell(row=start_row + 1, column=1)
    widths = [max(8, len(str(h)) * 2 + 2) for h in headers]
    r = start_row
    for r, row in enumerate(rows, start=start_row + 1):
        for col, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=col, value=cell_value(value))
            fmt = (number_formats or {}).get(col)
            if fmt:
                cell.number_format = fmt
            elif isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            widths[col - 1] = min(60, max(widths[col - 1], len(str(cell.value or "")) + 2))
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    return r


def new_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def to_bytes(wb: Workbook) -> bytes:
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
