"""Reading a document file safely and deciding its format from its name and its first bytes."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ingest.errors import IngestError

DEFAULT_MAX_BYTES = 512 * 1024 * 1024

FORMAT_BY_EXTENSION = {
    ".pdf": "pdf",
    ".epub": "epub",
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
}
SUPPORTED_EXTENSIONS = tuple(FORMAT_BY_EXTENSION)

_PDF_MAGIC = b"%PDF-"
_PDF_MAGIC_WINDOW = 1024  # the PDF spec tolerates junk before the header
_ZIP_MAGIC = b"PK\x03\x04"
_EPUB_MIMETYPE = b"application/epub+zip"
_HTML_STARTS = (b"<!doctype html", b"<html")


def is_supported(path: str | Path) -> bool:
    """True when the file's extension names a format we parse."""
    return Path(path).suffix.lower() in FORMAT_BY_EXTENSION


def unsupported_type_reason(path: str | Path) -> str:
    """Why a file with this name is not parsed, listing what is."""
    extension = Path(path).suffix or "(no extension)"
    return f"unsupported file type '{extension}' (supported: {', '.join(SUPPORTED_EXTENSIONS)})"


def read_file_bytes(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The file's bytes, or IngestError for a missing, special, empty, oversized or unreadable file."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise IngestError(path, "no such file") from None
    except OSError as error:
        raise IngestError(path, f"cannot read file ({error.strerror or error})") from None
    if stat.S_ISDIR(info.st_mode):
        raise IngestError(path, "is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):  # opening a FIFO would block forever
        raise IngestError(path, "not a regular file (device, pipe or socket)")
    if info.st_size == 0:
        raise IngestError(path, "empty file")
    if info.st_size > max_bytes:
        raise IngestError(path, f"file too large ({_megabytes(info.st_size)} > limit {_megabytes(max_bytes)})")
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except PermissionError:
        raise IngestError(path, "permission denied") from None
    except OSError as error:
        raise IngestError(path, f"cannot read file ({error.strerror or error})") from None
    if not data:
        raise IngestError(path, "empty file")
    if len(data) > max_bytes:  # grew while we looked
        raise IngestError(path, f"file too large (> limit {_megabytes(max_bytes)})")
    return data


def detect_format(path: str | Path, data: bytes) -> str:
    """Format name for the file: its content's magic bytes win over its extension, within reason."""
    extension = Path(path).suffix.lower()
    claimed = FORMAT_BY_EXTENSION.get(extension)
    if claimed is None:
        raise IngestError(path, unsupported_type_reason(path))
    sniffed = sniff_format(data)
    if sniffed in ("pdf", "epub"):
        return sniffed
    if claimed == "pdf" and _PDF_MAGIC in data[:_PDF_MAGIC_WINDOW]:
        return "pdf"
    if claimed == "epub" and sniffed == "zip":  # mimetype entry missing or misplaced: the EPUB parser decides
        return "epub"
    if claimed == "pdf":
        raise IngestError(path, f"not a valid PDF file ({_describe_non_pdf(sniffed)})")
    if claimed == "epub":
        raise IngestError(path, "not a valid EPUB file (not a ZIP archive)")
    if sniffed == "html" and claimed == "txt":
        return "html"
    return claimed


def sniff_format(data: bytes) -> str | None:
    """'pdf', 'epub', 'zip' or 'html' when the first bytes say so, else None."""
    if data.startswith(_PDF_MAGIC):
        return "pdf"
    if data.startswith(_ZIP_MAGIC) and _EPUB_MIMETYPE in data[:200]:
        return "epub"
    if data.startswith(_ZIP_MAGIC):
        return "zip"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(_HTML_STARTS):
        return "html"
    return None


def _describe_non_pdf(sniffed: str | None) -> str:
    if sniffed == "html":
        return "its content is HTML"
    if sniffed == "zip":
        return "its content is a ZIP archive"
    return "no %PDF- header"


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
