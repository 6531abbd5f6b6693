"""Attachments: size and type checked by the file's own bytes (not the name or the browser's word), stored under
a random name below MEDIA_ROOT/cases/ (never served as static; the views check access and send it as a download).
"""

import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from sbyt.core.errors import DomainError

# detected type → (content type, allowed name endings)
TYPES = {
    "pdf": ("application/pdf", (".pdf",)),
    "jpeg": ("image/jpeg", (".jpg", ".jpeg")),
    "png": ("image/png", (".png",)),
    "tiff": ("image/tiff", (".tif", ".tiff")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
}
ALLOWED_ENDINGS = ", ".join(ending for _type, (_ct, endings) in TYPES.items() for ending in endings)
MAX_NAME = 200


def max_bytes() -> int:
    return int(getattr(settings, "SBYT_CASE_ATTACHMENT_MAX_MB", 10)) * 1024 * 1024


def max_files() -> int:
    return int(getattr(settings, "SBYT_CASE_ATTACHMENT_MAX_FILES", 5))


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content: bytes
    kind: str
    content_type: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def stored_name(self) -> str:
        return f"{uuid.uuid4().hex}{TYPES[self.kind][1][0]}"


def detect(head: bytes, content: bytes) -> str | None:
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return "docx"
    return None


def _clean_name(name: str) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[-MAX_NAME:] or "file"


def check_files(files) -> list[CheckedFile]:
    """Read and check uploaded files (``UploadedFile``-like: ``name``, ``size``, ``read``/``chunks``). Raises a
    DomainError naming the file that is refused, before anything is saved."""
    files = [f for f in files or () if f is not None]
    if len(files) > max_files():
        raise DomainError(_("You can attach at most %(count)s files.") % {"count": max_files()})
    limit = max_bytes()
    checked = []
    for upload in files:
        name = _clean_name(getattr(upload, "name", ""))
        size = getattr(upload, "size", None)
        if size is not None and size > limit:
            raise DomainError(
                _("The file «%(name)s» is too large: at most %(mb)s MB per file.")
                % {"name": name, "mb": limit // (1024 * 1024)}
            )
        content = upload.read(limit + 1) if hasattr(upload, "read") else bytes(upload)
        if hasattr(upload, "seek"):
            upload.seek(0)
        if len(content) > limit:
            raise DomainError(
                _("The file «%(name)s» is too large: at most %(mb)s MB per file.")
                % {"name": name, "mb": limit // (1024 * 1024)}
            )
        if not content:
            raise DomainError(_("The file «%(name)s» is empty.") % {"name": name})
        kind = detect(content[:16], content)
        if kind is None or not name.lower().endswith(TYPES[kind][1]):
            raise DomainError(
                _("The file «%(name)s» cannot be accepted: attach PDF, JPEG, PNG, TIFF or DOCX files (%(endings)s).")
                % {"name": name, "endings": ALLOWED_ENDINGS}
            )
        checked.append(
            CheckedFile(
                name=name,
                content=content,
                kind=kind,
                content_type=TYPES[kind][0],
                sha256=hashlib.sha256(content).hexdigest(),
            )
        )
    return checked
