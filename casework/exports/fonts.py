"""The CJK font for PDF exports, found among the installed Python packages.

The font arrives with ``pip install -e .``: the ``pylopdf-fonts-zh-cn`` package ships Noto Sans SC
(Adobe / Google, SIL Open Font License 1.1), an OpenType font with CFF outlines that fpdf2 embeds
as a subset. Nothing is looked up among system fonts and nothing is downloaded at run time, so a
machine with only Python gets the same PDFs as production. ``CASEWORK_PDF_FONT`` may point at
another TrueType/OpenType file (a different 中文 face); it must cover Simplified Chinese.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

FONT_ENV = "CASEWORK_PDF_FONT"
FONT_PACKAGE = "pylopdf_fonts_zh_cn"
FONT_FILE = "NotoSansSC-Regular.otf"
FAMILY = "NotoSansSC"


class FontNotFound(RuntimeError):
    """The PDF font is missing: a broken install, not a bad request."""


def cjk_font_path() -> Path:
    """The font file to embed: the override if set, else Noto Sans SC from the font package."""
    override = os.environ.get(FONT_ENV)
    if override:
        path = Path(override)
        if not path.is_file():
            raise FontNotFound(f"{FONT_ENV}={override} is not a font file")
        return path
    try:
        path = Path(str(resources.files(FONT_PACKAGE).joinpath(FONT_FILE)))
    except ModuleNotFoundError as exc:
        raise FontNotFound(f"the font package {FONT_PACKAGE} is not installed; run `pip install -e .`") from exc
    if not path.is_file():
        raise FontNotFound(f"{FONT_FILE} is missing from {FONT_PACKAGE}; reinstall it")
    return path
