#!/usr/bin/env bash
# Render a bulletin PDF's pages to PNG, for a human to look at the charts and the Chinese text.
#
#   scripts/render_bulletin_png.sh [BULLETIN.pdf] [OUT_DIR]
#
# Without a PDF, it first builds the November 2026 bulletin of 吉安市 from the hand-counted fixture
# (tests/bulletins/fixture.py, on SQLite unless TEST_DATABASE_URL is set) and renders that one.
# Writes OUT_DIR/bulletin-1.png, -2.png, ... (default OUT_DIR: ./bulletin-png). Needs pdftoppm
# (Debian/Ubuntu: apt-get install -y poppler-utils).
set -euo pipefail
cd "$(dirname "$0")/.."
pdf=${1:-}
out=${2:-bulletin-png}
DPI=${DPI:-110}
command -v pdftoppm >/dev/null || { echo "pdftoppm not found: apt-get install -y poppler-utils" >&2; exit 1; }
mkdir -p "$out"
if [ -z "$pdf" ]; then
    pdf="$out/bulletin.pdf"
    BULLETIN_PDF_OUT="$(realpath "$pdf")" .venv/bin/python -m pytest -q -p no:logging \
        tests/bulletins/test_exports.py -k test_pdf_title_and_period >/dev/null
fi
[ -s "$pdf" ] || { echo "no PDF at $pdf" >&2; exit 1; }
rm -f "$out"/bulletin-*.png
pdftoppm -r "$DPI" -png "$pdf" "$out/bulletin"
ls -1 "$out"/bulletin-*.png
