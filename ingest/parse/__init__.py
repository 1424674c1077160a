"""Document files -> ParsedDocument (text per page, page labels, sections), one function per format.

`parse_file` is the entry point; `discover_files` expands what a user names into files to parse.
Every problem a user can cause raises IngestError with a one-line message.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ingest.documents import ParsedDocument
from ingest.errors import IngestError
from ingest.parse.content import DocumentContent, fill_page_sections
from ingest.parse.decode import decode_text
from ingest.parse.discover import DiscoveredFiles, discover_files
from ingest.parse.epub import parse_epub
from ingest.parse.html import parse_html
from ingest.parse.htmltext import decode_html
from ingest.parse.markdown import parse_markdown
from ingest.parse.pdf import PdfFile, ProgressCallback, iter_pdf_pages, parse_pdf
from ingest.parse.source import DEFAULT_MAX_BYTES, SUPPORTED_EXTENSIONS, detect_format, read_file_bytes
from ingest.parse.text import parse_text

# Each format's parser version, raised whenever a change alters what an unchanged file of that format becomes (its
# text, pages or sections): documents parsed by an older version are parsed and encoded again on their next ingest,
# those of other formats are not. txt 1: headings no longer taken from paragraphs that open like one (Moby-Dick's
# 'BOOK I. (FOLIO), CHAPTER I. (SPERM WHALE).--This whale'); txt 2: a Project Gutenberg file is its book alone,
# without the header and licence around it, titled as its header declares.
PARSER_VERSIONS = {"txt": 2, "html": 2, "epub": 2}  # html, epub 1: permalink marks left out; 2: navigation


def parser_version(document_format: str) -> int:
    """The version of the parser of this format (0 for a format whose parser never changed what it makes)."""
    return PARSER_VERSIONS.get(document_format, 0)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_EXTENSIONS",
    "DiscoveredFiles",
    "IngestError",
    "PdfFile",
    "discover_files",
    "iter_pdf_pages",
    "parse_file",
]


def parse_file(
    path: str | Path,
    password: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> ParsedDocument:
    """Parse a PDF, EPUB, plain-text, Markdown or HTML file (format from its extension, checked against its
    content). password opens encrypted PDFs; workers caps PDF reader processes (1: none); progress is called
    with (pages done, pages in all)."""
    data = read_file_bytes(path, max_bytes)
    document_format = detect_format(path, data)
    content = _parse_content(document_format, data, path, password, workers, progress)
    if not any(page.text.strip() for page in content.pages):
        raise IngestError(path, "no text found in file")
    fill_page_sections(content.pages, content.sections)
    if progress and document_format != "pdf":
        progress(len(content.pages), len(content.pages))
    return ParsedDocument(
        source=os.path.abspath(path),
        doc_id=hashlib.sha256(data).hexdigest(),
        format=document_format,
        title=content.title or Path(path).stem,
        pages=content.pages,
        sections=content.sections,
    )


def _parse_content(document_format, data, path, password, workers, progress) -> DocumentContent:
    if document_format == "pdf":
        return parse_pdf(data, path, password, workers=workers, progress=progress)
    if document_format == "epub":
        return parse_epub(data, path)
    if document_format == "html":
        return parse_html(decode_html(data, path))
    text = decode_text(data, path)
    return parse_markdown(text) if document_format == "md" else parse_text(text)
