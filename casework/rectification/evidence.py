"""Evidence files: size and type limits, content sniffing, stored outside the database by content hash."""
from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from casework.problem import Invalid

# Declared type → (extensions, a check of the first bytes). A file whose content does not
# match what it claims to be is refused: evidence must open as what it says it is.
ALLOWED = {
    "application/pdf": ((".pdf",), lambda b: b.startswith(b"%PDF-")),
    "image/png": ((".png",), lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    "image/jpeg": ((".jpg", ".jpeg"), lambda b: b.startswith(b"\xff\xd8\xff")),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ((".docx",), None),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ((".xlsx",), None),
}
_OOXML_PART = {"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "word/",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xl/"}


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    data: bytes
    sha256: str


def check_file(*, filename: str, content_type: str, data: bytes, max_bytes: int, field: str = "files") -> CheckedFile:
    """Validate one upload; raises Invalid naming the file."""
    name = os.path.basename(filename or "").strip()
    where = f"{field}.{name or 'unnamed'}"
    if not name:
        raise Invalid("a file needs a name", errors={field: ["missing file name"]})
    if not data:
        raise Invalid(f"{name} is empty", errors={where: ["the file is empty (0 bytes)"]})
    if len(data) > max_bytes:
        raise Invalid(f"{name} is too large", errors={where: [f"larger than {max_bytes} bytes"]})
    content_type = (content_type or "").split(";")[0].strip().lower()
    if content_type not in ALLOWED:
        raise Invalid(f"{name}: type not accepted", errors={where: [f"type must be one of {', '.join(ALLOWED)}"]})
    extensions, sniff = ALLOWED[content_type]
    if not name.lower().endswith(extensions):
        raise Invalid(f"{name}: extension does not match its type", errors={where: [f"expected {extensions}"]})
    if not _content_matches(content_type, sniff, data):
        raise Invalid(f"{name}: content is not {content_type}", errors={where: ["content does not match its type"]})
    return CheckedFile(name, content_type, data, hashlib.sha256(data).hexdigest())


def _content_matches(content_type: str, sniff, data: bytes) -> bool:
    if sniff is not None:
        return sniff(data)
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        return False
    return "[Content_Types].xml" in names and any(n.startswith(_OOXML_PART[content_type]) for n in names)


def store(*, folder: str, checked: CheckedFile) -> Path:
    """Write the bytes under their hash (idempotent); the database keeps only the hash and metadata."""
    root = Path(folder)
    path = root / checked.sha256[:2] / checked.sha256
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(checked.data)
        os.replace(tmp, path)
    return path


def path_of(*, folder: str, sha256: str) -> Path:
    return Path(folder) / sha256[:2] / sha256
