"""PDF with pypdf: text per page, printed page labels, sections from the outline (bookmarks).

Text extraction is pypdf's slow part (~60 pages/s per core), so long PDFs are read by a pool of worker
processes; the pages still come back in order. Workers are forked when the caller is single-threaded
(they inherit the opened reader), else spawned, which needs the usual `if __name__ == "__main__":` guard
in a calling script.
"""
from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from ingest.documents import Page, SectionStart
from ingest.errors import IngestError
from ingest.parse.content import DocumentContent
from ingest.parse.normalize import normalize_text
from ingest.parse.source import DEFAULT_MAX_BYTES, read_file_bytes
from ingest.processes import die_with_parent
from ingest.parse.running_lines import strip_running_lines

logger = logging.getLogger(__name__)

PARALLEL_MIN_PAGES = 64  # below this, starting worker processes costs more than it saves
PAGES_PER_TASK = 16
MAX_WORKERS = 8
ProgressCallback = Callable[[int, int], None]  # (pages done, pages in all)

# An outline title found at a line start, optionally after its numbering ("2.3 ", "A.1 ", "IV. ").
_HEADING_NUMBER = r"(?:(?:\d+|[A-Z]|[IVXLCDM]+)(?:\.\d+)*\.?[ \t]+)?"


class PdfFile:
    """An opened (and if needed decrypted) PDF: page count, labels, outline, and its pages' text."""

    def __init__(self, data: bytes, source: object, password: str | None = None):
        self.data = data
        self.source = source
        self.password = password
        self.reader = _open_reader(data, source, password)
        try:
            self.page_count = len(self.reader.pages)
        except Exception as error:  # pypdf raises many types on a broken page tree
            raise IngestError(source, f"cannot read PDF page tree ({_describe(error)})") from None
        if self.page_count == 0:
            raise IngestError(source, "PDF has no pages")

    def title(self) -> str | None:
        """The document information's title, if it has a non-empty one."""
        try:
            title = self.reader.metadata.title if self.reader.metadata else None
        except Exception:  # broken info dictionary: the title is optional
            return None
        title = " ".join(str(title or "").split())
        return title or None

    def page_labels(self) -> list[str]:
        """Printed label of every page (/PageLabels), str(physical number) where there is none."""
        try:
            labels = list(self.reader.page_labels)
        except Exception:  # a broken /PageLabels tree: fall back to physical numbers
            labels = []
        if len(labels) != self.page_count:
            labels = [""] * self.page_count
        return [label.strip() or str(index + 1) for index, label in enumerate(labels)]

    def outline_starts(self) -> list[tuple[int, str]]:
        """(0-based page index, title) of every outline entry that resolves to a page, in outline order."""
        try:
            outline = self.reader.outline
        except Exception:  # a broken outline loses section names, not text
            return []
        starts: list[tuple[int, str]] = []
        pending = [iter(outline)]
        while pending:  # depth-first without recursion: outlines can nest deeply
            item = next(pending[-1], None)
            if item is None:
                pending.pop()
            elif isinstance(item, list):
                pending.append(iter(item))
            else:
                try:
                    index = self.reader.get_destination_page_number(item)
                    title = " ".join(str(item.title or "").split())
                except Exception:
                    continue
                if title and index is not None and 0 <= index < self.page_count:
                    starts.append((index, title))
        return starts

    def iter_pages(self, workers: int | None = None) -> Iterator[Page]:
        """Pages in order with text and label (sections are set by parse_pdf); a broken page has empty text."""
        labels = self.page_labels()
        for index, text in enumerate(self._page_texts(workers)):
            yield Page(number=index + 1, label=labels[index], text=normalize_text(text))

    def _page_texts(self, workers: int | None) -> Iterator[str]:
        workers = default_workers(self.page_count) if workers is None else workers
        done = 0
        if workers > 1 and self.page_count >= PARALLEL_MIN_PAGES and _can_use_processes():
            try:
                for text in _extract_in_processes(self, workers):
                    yield text
                    done += 1
                return
            except (BrokenProcessPool, OSError, RuntimeError) as error:  # e.g. no fork in a daemon process
                reason = " ".join(str(error).split())[:200]
                logger.warning("%s: parallel PDF reading failed (%s); reading sequentially", self.source, reason)
        for index in range(done, self.page_count):
            yield extract_page_text(self.reader, index, self.source)


def parse_pdf(
    data: bytes,
    source: object,
    password: str | None = None,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> DocumentContent:
    """Pages, page labels, outline sections and title of a PDF; IngestError for unreadable or text-less files."""
    pdf = PdfFile(data, source, password)
    pages = []
    for page in pdf.iter_pages(workers):
        pages.append(page)
        if progress:
            progress(len(pages), pdf.page_count)
    if not any(page.text.strip() for page in pages):
        raise IngestError(source, "no extractable text (scanned or image-only PDF?), needs OCR first")
    pages = strip_running_lines(pages)
    return DocumentContent(title=pdf.title(), pages=pages, sections=locate_sections(pdf.outline_starts(), pages))


def iter_pdf_pages(
    path: str | Path, password: str | None = None, workers: int | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[Page]:
    """Stream a PDF file's pages (text and label) in order, e.g. to show progress; see PdfFile for more."""
    return PdfFile(read_file_bytes(path, max_bytes), path, password).iter_pages(workers)


def locate_sections(outline_starts: list[tuple[int, str]], pages: list[Page]) -> list[SectionStart]:
    """Section starts from outline entries; each title is looked up in its page's text for an exact offset
    (offsets never go backwards among a page's entries, so outline order is kept)."""
    sections: list[SectionStart] = []
    for index, title in outline_starts:
        page = pages[index]
        previous = sections[-1] if sections else None
        not_before = previous.offset if previous and previous.page_number == page.number else 0
        sections.append(SectionStart(page.number, _title_offset(page.text, title, not_before), title))
    return sections


def extract_page_text(reader: PdfReader, index: int, source: object = "PDF") -> str:
    """One page's text; a page pypdf cannot read yields "" (logged) instead of failing the whole file."""
    try:
        return reader.pages[index].extract_text()
    except Exception as error:  # pypdf raises many types on one broken page; the rest of the file is fine
        logger.warning("%s: page %d unreadable, kept empty (%s)", source, index + 1, _describe(error))
        return ""


def default_workers(page_count: int) -> int:
    """Worker processes worth starting for a PDF of this length on this machine."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS, page_count // PAGES_PER_TASK))


def _open_reader(data: bytes, source: object, password: str | None) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except Exception as error:  # pypdf raises many types on corrupt input
        raise IngestError(source, f"cannot read PDF, file is corrupt or truncated ({_describe(error)})") from None
    if reader.is_encrypted:
        try:
            result = reader.decrypt(password or "")
        except DependencyError:
            raise IngestError(
                source, "PDF is AES-encrypted; decrypting it needs the 'cryptography' package (pip install cryptography)"
            ) from None
        except Exception as error:
            raise IngestError(source, f"cannot decrypt PDF ({_describe(error)})") from None
        if result == PasswordType.NOT_DECRYPTED:
            if password is None:
                raise IngestError(source, "PDF is encrypted; give its password with --password")
            raise IngestError(source, "wrong password for encrypted PDF")
    return reader


def _title_offset(text: str, title: str, not_before: int) -> int:
    """Offset of the heading line for title in the page text (at or after not_before), else not_before."""
    words = title.split()
    if not words:
        return not_before
    title_pattern = r"\s+".join(re.escape(word) for word in words)
    at_line_start = re.compile(rf"^[ \t]*{_HEADING_NUMBER}(?i:{title_pattern})", re.MULTILINE)
    match = at_line_start.search(text, not_before) or re.compile(title_pattern, re.IGNORECASE).search(text, not_before)
    return match.start() if match else not_before


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


# Worker side: each worker process holds one reader of the PDF and extracts batches of pages.
_worker_pdf: tuple[PdfReader, str] | None = None


def _adopt_reader(reader: PdfReader, source: str) -> None:
    """Forked worker: reuse the parent's reader, page tree already loaded."""
    global _worker_pdf
    die_with_parent()
    _worker_pdf = (reader, source)


def _open_copy_in_worker(copy_path: str, source: str, password: str | None) -> None:
    """Spawned worker: open the PDF again; file-level warnings were already reported by the parent."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    with open(copy_path, "rb") as copy:
        data = copy.read()
    _adopt_reader(_open_reader(data, source, password), source)


def _extract_batch(page_range: tuple[int, int]) -> list[str]:
    reader, source = _worker_pdf
    return [extract_page_text(reader, index, source) for index in range(*page_range)]


def _can_use_processes() -> bool:
    """Not from inside a worker process: pools must not nest (and a spawned child must not spawn again)."""
    return multiprocessing.parent_process() is None


def _extract_in_processes(pdf: PdfFile, workers: int) -> Iterator[str]:
    count = pdf.page_count
    batches = [(start, min(start + PAGES_PER_TASK, count)) for start in range(0, count, PAGES_PER_TASK)]
    with contextlib.ExitStack() as cleanup:
        if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
            # fork copies the opened reader for free; it is only safe while no other thread could hold a lock
            context, initializer, initargs = "fork", _adopt_reader, (pdf.reader, str(pdf.source))
        else:  # spawn needs the caller's main module to be import-safe (the usual __main__ guard)
            # The PDF travels as a file: a large spawn argument deadlocks the parent if a child dies early.
            scratch = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="ingest-pdf-"))
            copy_path = os.path.join(scratch, "document.pdf")
            with open(copy_path, "wb") as copy:
                copy.write(pdf.data)
            context, initializer, initargs = "spawn", _open_copy_in_worker, (copy_path, str(pdf.source), pdf.password)
        pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context(context), initializer=initializer, initargs=initargs
        )
        # also when the consumer stops early: drop the batches not started yet (before the copy is deleted)
        cleanup.callback(pool.shutdown, wait=True, cancel_futures=True)
        for texts in pool.map(_extract_batch, batches):
            yield from texts
