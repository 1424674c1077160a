"""The Gradio web UI: upload documents into a collection, ask questions, read the answer with its cited pages.

`QAService` is what the UI does, free of Gradio (one engine per collection, safe uploads, ingest, listing);
`build_app` lays the components out and wires them to it; `launch` starts the server (127.0.0.1 by default).
Every error a user can cause is shown as one line in the page; internal errors are logged with their traceback
on the server and shown as one line too.
"""
from __future__ import annotations

import functools
import html
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry calls from an offline tool

import gradio as gr  # noqa: E402

from app.answer import highlight  # noqa: E402
from ingest.errors import IngestError, StoreError  # noqa: E402

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_SIZE = "200mb"
MAX_UPLOAD_SIZE = 2**40  # the largest size limit taken (1 TB; four times it still fits Gradio's 64-bit sizes)
# Gradio refuses a whole upload, before any of it is stored, when one of its files is over this many times the
# size limit (a runaway upload never fills the disk); a file over the limit but under that is refused on its own,
# with its size said, and the others of its upload go on
GRADIO_UPLOAD_CAP_FACTOR = 4
DEFAULT_COLLECTION = "default"
MAX_HISTORY_TURNS = 6  # earlier turns kept for resolving follow-up questions
# Gradio's own copies of uploads and rendered page images: swept hourly once an hour old, and all when the server
# stops (the uploaded documents themselves are kept in the upload dir, which the page view re-reads)
GRADIO_CACHE_SWEEP = (3600, 3600)
_UNSAFE_NAME_RUN = re.compile("\0+")  # the characters safe_upload_name refuses, each run becoming one '_'
_MAX_NAME_CHARS = 120
_MAX_NAME_BYTES = 180  # with the extension, a '-N' suffix and '.partial' still under the usual 255-byte limit

CSS = """
mark { background: #ffe066; color: inherit; padding: 0 1px; }
.source { border-left: 3px solid #8aa4d6; padding: 4px 10px; margin: 10px 0; }
.source-head { font-weight: 600; margin-bottom: 4px; }
.source-text, .page-text { white-space: pre-wrap; font-size: 0.92em; }
.page-text { max-height: 640px; overflow-y: auto; border: 1px solid #ddd; padding: 8px; }
.ui-error { color: #b00020; font-weight: 600; }
#answer { border: 1px solid #ccd; border-radius: 6px; padding: 4px 12px; min-height: 2.5em; }
"""
# After the page view changes: scroll its box so the first highlighted sentence is in sight.
SCROLL_TO_MARK = """() => { setTimeout(() => {
  const mark = document.querySelector('#page-view mark'); const box = mark && mark.closest('.page-text');
  if (box) box.scrollTop = mark.offsetTop - box.offsetTop - 60; }, 50); }"""


class UserError(Exception):
    """Something the user can fix (empty question, bad collection name, file too large); shown as one line."""


def quiet_checks(component: gr.components.Component) -> gr.components.Component:
    """The component, but a value from an API call that fails Gradio's own check (out of a slider's range, not
    among a dropdown's choices) answers the caller with Gradio's one-line error and prints no traceback to the
    server's log. (A subclass would do it too, but Gradio writes a .pyi stub beside the module of every one.)"""
    check = component.preprocess

    def preprocess(payload):
        try:
            return check(payload)
        except gr.Error as error:
            raise gr.Error(error.message, print_exception=False) from None
    component.preprocess = preprocess
    return component


# --- upload names -------------------------------------------------------------------------------------------


def safe_upload_name(name: str) -> str:
    """A file name that cannot leave the upload directory (base name only, no control characters, not hidden, short
    enough for any file system) yet still reads as the user's name: 'résumé.pdf' and '日本語.txt' stay as they are."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name or ""))[-1]
    marked = "".join(char if _name_char_ok(char) else "\0" for char in base)
    base = _UNSAFE_NAME_RUN.sub("_", marked).strip(" .")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _clip_utf8(stem.strip(" ._")[:_MAX_NAME_CHARS], _MAX_NAME_BYTES).rstrip(" .") or "upload"
    ext = ext.strip(" ._")[:16].lower()
    return f"{stem}.{ext}" if ext else stem


def _name_char_ok(char: str) -> bool:
    """Letters and digits of any script (with their combining marks), space, '-', '_' and '.': nothing a shell,
    a path or a terminal reads specially."""
    return char.isalnum() or char in " -_." or unicodedata.category(char) in ("Mn", "Mc")


def _clip_utf8(text: str, max_bytes: int) -> str:
    """text cut to at most max_bytes of UTF-8 without splitting a character (file names are limited in bytes)."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def place_upload(temp_path: str | Path, original_name: str, upload_dir: Path) -> Path:
    """Copy an uploaded file into upload_dir under its sanitised name; the same bytes under the same name are reused."""
    upload_dir = upload_dir.resolve()
    upload_dir.mkdir(parents=True, exist_ok=True)
    name = safe_upload_name(original_name)
    stem, ext = os.path.splitext(name)
    target = upload_dir / name
    counter = 1
    while target.exists() and not _same_bytes(target, Path(temp_path)):
        target = upload_dir / f"{stem}-{counter}{ext}"
        counter += 1
    if target.resolve().parent != upload_dir:  # belt and braces: the name above cannot hold a separator
        raise UserError(f"refused upload name {original_name!r}")
    if not target.exists():
        partial = target.with_name(f".{target.name}.partial")
        try:
            shutil.copyfile(temp_path, partial)
            os.replace(partial, target)
        finally:  # a failed copy (disk full) leaves no half-written file behind
            partial.unlink(missing_ok=True)
    return target


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            block_a, block_b = fa.read(1 << 20), fb.read(1 << 20)
            if block_a != block_b:
                return False
            if not block_a:
                return True


def parse_size(size: str | int) -> int:
    """'200mb' / '1 gb' / 1024 -> bytes (the format Gradio's max_file_size takes), from 1 byte to MAX_UPLOAD_SIZE."""
    if isinstance(size, int):
        amount = size
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*", size.lower())
        if not match:
            raise ValueError(f"bad size {size[:40]!r}: use e.g. 200mb")
        units = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
        amount = float(match.group(1)) * units[match.group(2)[:1] if match.group(2) else ""]
    if not 1 <= amount <= MAX_UPLOAD_SIZE:
        raise ValueError(f"size {str(size)[:40]!r}: give 1 byte to {human_size(MAX_UPLOAD_SIZE)}")
    return int(amount)


def human_size(size: int) -> str:
    """Bytes as people read them ('512 bytes', '1.5 KB', '200 MB'): a 1 KB limit must not read as '0 MB'."""
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    amount, unit = float(size), "bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        amount /= 1024
        if round(amount, 1) < 1024:
            break
    return f"{amount:.1f}".removesuffix(".0") + f" {unit}"


def too_large_reason(size: int, limit: int) -> str:
    """Why a file over the limit is refused, in units that show the difference (exact bytes when rounding hides it)."""
    shown, cap = human_size(size), human_size(limit)
    if shown == cap:
        shown, cap = f"{size:,} bytes", f"{limit:,} bytes"
    return f"too large ({shown}; the limit is {cap})"


# --- the service behind the UI ------------------------------------------------------------------------------


@dataclass
class QAService:
    """The UI's operations on one store: collections, documents, uploads + ingest, questions."""

    store: Any
    upload_dir: Path
    engine_factory: Callable[[str], Any] | None = None  # collection -> QAEngine; default QAEngine(store, name)
    max_upload_bytes: int = parse_size(DEFAULT_MAX_FILE_SIZE)
    _engines: dict[str, Any] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _ingest_lock: threading.Lock = field(default_factory=threading.Lock)

    def engine(self, collection: str, progress: Callable | None = None) -> Any:
        """The collection's engine, up to date with the store (documents may come from the CLI meanwhile);
        `progress(index, documents done, documents in all)` while it computes what its cache lacks."""
        with self._lock:
            engine = self._engines.get(collection)
            if engine is None:
                engine = self._engines[collection] = self._new_engine(collection, progress)
            else:
                engine.refresh(progress)
            return engine

    def _new_engine(self, collection: str, progress: Callable | None = None) -> Any:
        if self.engine_factory is not None:
            return self.engine_factory(collection)
        from app.engine import QAEngine

        loaded = next(iter(self._engines.values()), None)  # share the models an earlier engine loaded
        shared = {name: getattr(loaded, name) for name in ("model", "tokenizer", "encoders", "reranker")} if loaded else {}
        return QAEngine(self.store, collection, progress=progress, **shared)

    def collections(self) -> list[str]:
        return self.store.collections()

    def documents(self, collection: str) -> list[Any]:
        if not collection or collection not in self.collections():
            return []
        return list(self.store.documents(collection))

    def delete_document(self, collection: str, doc_id: str) -> Any | None:
        """Delete a document and its uploaded file; -> its record, or None when the collection has no such document
        (another session deleted it, or the id belongs to another collection): nothing deleted is no success."""
        with self._ingest_lock:
            record = self.document(collection, doc_id)
            if record is not None:
                self.store.delete_document(collection, doc_id)
                self._remove_unreferenced_uploads([record.source])
            return record

    def document(self, collection: str, doc_id: str) -> Any | None:
        """The collection's document of that id, or None."""
        return next((record for record in self.documents(collection) if record.doc_id == doc_id), None)

    def ingest(self, files: list[tuple[str, str]], collection: str, progress: Callable | None = None) -> Any:
        """files: (temporary path, original name) pairs, as Gradio hands them over. -> IngestSummary.

        A file of the wrong type, over the size limit or unreadable is reported in summary.failed and the others
        go on; an uploaded copy that ends up in no document (failed, or a duplicate of another) is removed."""
        from ingest.pipeline import IngestSummary

        checked_collection_name(collection)
        if not files:
            raise UserError("choose one or more files to upload first")
        summary, accepted = IngestSummary(), []
        for temp_path, name in files:
            reason = self._refusal(temp_path, name)
            if reason:
                summary.failed.append({"source": safe_upload_name(name), "error": reason})
            else:
                accepted.append((temp_path, name))
        if accepted:  # only refused files: no ingest, so no empty collection is created
            with self._ingest_lock:  # one write at a time; questions go on meanwhile (engines refresh by version)
                summary.merge(self._place_and_ingest(accepted, collection, progress))
        return summary

    def _refusal(self, temp_path: str, name: str) -> str | None:
        """Why an uploaded file is not ingested at all (None: it is): checked per file, so one bad file of a
        multi-file upload does not stop the others."""
        from ingest.parse.source import is_supported, unsupported_type_reason

        if not is_supported(safe_upload_name(name)):            # the formats ingest parses, said as it says it
            return unsupported_type_reason(safe_upload_name(name))
        try:
            size = os.path.getsize(temp_path)
        except OSError as error:
            return f"cannot read the uploaded file ({error.strerror or error})"
        return too_large_reason(size, self.max_upload_bytes) if size > self.max_upload_bytes else None

    def _place_and_ingest(self, files: list[tuple[str, str]], collection: str, progress: Callable | None) -> Any:
        """Copy the files into the upload dir (the page view re-reads them there) and ingest the copies."""
        from ingest.pipeline import IngestSummary, ingest_paths

        summary, placed = IngestSummary(), {}  # placed: stored path -> the name it was uploaded under
        for temp_path, name in files:
            try:
                path = str(place_upload(temp_path, name, self.upload_dir))
            except (OSError, UserError) as error:
                log.warning("cannot keep upload %r: %s", name, error)
                summary.failed.append({"source": safe_upload_name(name), "error": "cannot store the upload "
                                       f"({getattr(error, 'strerror', None) or error})"})
                continue
            if path in placed:  # the same bytes under the same name: one document, and the user is told so
                summary.skipped.append({"source": path, "doc_id": "", "reason": "chosen twice in this upload"})
            placed.setdefault(path, safe_upload_name(name))
        try:
            if placed:
                summary.merge(ingest_paths(list(placed), self.store, collection=collection, progress=progress))
        finally:
            self._remove_unreferenced_uploads(list(placed))
        for entry in summary.ingested:
            uploaded_as = placed.get(entry["source"])
            if uploaded_as and Path(entry["source"]).name != uploaded_as:   # 'notes.md' stored as 'notes-1.md'
                entry["uploaded_as"] = uploaded_as
        return summary

    def _remove_unreferenced_uploads(self, paths: list[str]) -> None:
        """Remove those of the paths that lie in the upload dir and that no document of any collection refers to
        (a failed or duplicate upload, a deleted document's file): the upload dir keeps only what the page view
        re-reads, and a file outside it is never touched. When the documents cannot be listed, all are kept."""
        upload_dir = self.upload_dir.resolve()
        candidates = {Path(path).resolve() for path in paths if path}
        candidates = {path for path in candidates if path.parent == upload_dir}
        if not candidates:
            return
        try:
            referenced = {Path(record.source).resolve() for name in self.collections()
                          for record in self.store.documents(name) if record.source}
            for path in candidates - referenced:
                path.unlink(missing_ok=True)
        except Exception:  # the upload itself went fine: a leftover file is only logged
            log.warning("cannot clean up uploads %s", sorted(map(str, candidates)), exc_info=True)


# --- rendering ----------------------------------------------------------------------------------------------


def pages_text(page_start: Any, page_end: Any = None, label: Any = None) -> str:
    """'p. 12' / 'pp. 12-13', with the printed label when it differs ('p. xii (12)')."""
    if page_start is None:
        return ""
    if page_end is not None and page_end != page_start:
        return f"pp. {page_start}-{page_end}"
    if label and str(label) != str(page_start):
        return f"p. {label} ({page_start})"
    return f"p. {page_start}"


def _display_source(source: str) -> str:
    return Path(source).name if source else "unknown source"


def passage_record(passage: Any) -> dict:
    """A retrieved passage as a plain dict (kept in the page's State between events)."""
    spans = getattr(passage, "highlights", None) or getattr(passage, "spans", None) or []
    page_at = getattr(passage, "page_at", None)     # where its first marked sentence is: the page to show
    marked_page, marked_label = page_at(min(spans)[0]) if spans and page_at else (None, None)
    return {
        "source": getattr(passage, "source", "") or "",
        "page": getattr(passage, "page_start", None),
        "page_end": getattr(passage, "page_end", None),
        "page_label": getattr(passage, "page_label_start", None),
        "section": getattr(passage, "section", None),
        "score": float(getattr(passage, "score", 0.0) or 0.0),
        "text": getattr(passage, "text", "") or "",
        "spans": [(int(s), int(e)) for s, e in spans],
        "marked_page": marked_page,
        "marked_label": marked_label,
    }


def answer_markdown(result: Any) -> str:
    """The answer with its citations, or a plain statement that the documents do not say."""
    resolved = getattr(result, "resolved_question", None)
    understood = f"*Understood as: {resolved}*\n\n" if resolved and resolved != result.question else ""
    where = result.part_text() if hasattr(result, "part_text") else None
    understood += f"*{where}*\n\n" if where else ""
    if result.answer is None:
        unmentioned = getattr(result, "unmentioned", None)
        why = f": they never mention {result.unmentioned_text()}" if unmentioned else ""
        return (f"{understood}**No answer found in these documents{why}.** The closest passages are listed under "
                "Sources; try rephrasing the question.")
    cites = "; ".join(
        f"{_display_source(c.get('source', ''))}, {pages_text(c.get('page'), None, c.get('page_label'))}"
        for c in result.citations or []
    )
    text = understood + result.answer.strip()
    if getattr(result, "prose", None):
        text = f"{result.prose.strip()}\n\nFrom the document: {text}"
    return f"{text}\n\n*Source: {cites}*" if cites else text


def sources_html(records: list[dict]) -> str:
    """Each passage: its file, pages and section, and its text with the answering sentences highlighted."""
    if not records:
        return "<p>No passages retrieved.</p>"
    parts = []
    for rank, rec in enumerate(records, 1):
        where = pages_text(rec["page"], rec["page_end"], rec["page_label"])
        section = f" · {html.escape(rec['section'])}" if rec.get("section") else ""
        parts.append(
            f"<div class='source'><div class='source-head'>[{rank}] {html.escape(_display_source(rec['source']))}"
            f", {where}{section} <small>(score {rec['score']:.3f})</small></div>"
            f"<div class='source-text'>{highlight(rec['text'], rec['spans'])}</div></div>"
        )
    return "\n".join(parts)


def error_html(message: str) -> str:
    return f"<p class='ui-error'>{html.escape(message)}</p>"


def _sentence_pattern(sentence: str) -> re.Pattern | None:
    """The sentence's words in order with anything between them: matches across line breaks and hyphens."""
    tokens = re.findall(r"\w+", sentence)
    if not tokens:
        return None
    # Closing punctuation after the last word belongs to the sentence ('q()', 'end.').
    return re.compile(r"\W+".join(re.escape(t) for t in tokens[:60]) + r"[^\w\s]*", re.IGNORECASE)


def find_sentence(page_text: str, sentence: str) -> tuple[int, int] | None:
    """Char span of the sentence in the page text, else of its longest matching opening (page breaks)."""
    tokens = re.findall(r"\w+", sentence)
    for n in (len(tokens), 12, 6):
        pattern = _sentence_pattern(" ".join(tokens[:n])) if n <= len(tokens) else None
        match = pattern.search(page_text) if pattern else None
        if match:
            return match.span()
    return None


@functools.lru_cache(maxsize=8)
def _opened(source: str, mtime: float, size: int):
    """The source re-opened for the page view: a PdfFile (pages read on demand) or the parsed document."""
    from ingest.parse import parse_file
    from ingest.parse.pdf import PdfFile
    from ingest.parse.source import detect_format, read_file_bytes

    data = read_file_bytes(source)
    if detect_format(source, data) == "pdf":
        return PdfFile(data, source)
    return parse_file(source)


def page_text(source: str, page: int) -> tuple[str, str] | None:
    """(printed label, text) of physical page `page` of the source file, as ingest read it; None if unavailable."""
    from ingest.parse.normalize import normalize_text
    from ingest.parse.pdf import PdfFile, extract_page_text

    try:
        stat = os.stat(source)
        opened = _opened(source, stat.st_mtime, stat.st_size)
        if isinstance(opened, PdfFile):  # one page, the same way ingest reads it: no need to read the book
            if not 1 <= page <= opened.page_count:
                return None
            return opened.page_labels()[page - 1], normalize_text(extract_page_text(opened.reader, page - 1, source))
        return next(((p.label, p.text) for p in opened.pages if p.number == page), None)
    except Exception:  # moved, deleted or unreadable since ingest: the caller falls back to the passage
        log.info("cannot re-read %s for the page view", source, exc_info=True)
        return None


def page_image(source: str, page: int, dpi: int = 80):
    """The page rendered by pdftoppm (poppler-utils) as a PIL image, or None without it or for non-PDFs."""
    if not source.lower().endswith(".pdf") or shutil.which("pdftoppm") is None or not os.path.isfile(source):
        return None
    from PIL import Image

    with tempfile.TemporaryDirectory() as scratch:
        prefix = os.path.join(scratch, "page")
        result = subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), "-png",
                                 "-singlefile", source, prefix], capture_output=True, timeout=60)
        if result.returncode != 0 or not os.path.exists(prefix + ".png"):
            return None
        with Image.open(prefix + ".png") as image:
            return image.copy()


def page_view_html(rec: dict, sentence: str | None) -> str:
    """The cited page's text with the answer sentence (or the passage's highlighted sentences) marked."""
    page = rec.get("page")
    header = f"<div class='source-head'>{html.escape(_display_source(rec['source']))}, "
    found = page_text(rec["source"], page) if page is not None else None
    if found is None:
        note = "the source file is no longer readable; showing the retrieved passage"
        return (header + f"{pages_text(page, rec['page_end'], rec['page_label'])} <small>({note})</small></div>"
                f"<div class='page-text'>{highlight(rec['text'], rec['spans'])}</div>")
    label, text = found
    wanted = [sentence] if sentence else [rec["text"][s:e] for s, e in rec["spans"]]
    spans = [span for span in (find_sentence(text, w) for w in wanted if w) if span]
    return (header + f"{pages_text(page, None, label)}</div>"
            f"<div class='page-text'>{highlight(text, spans)}</div>")


# --- the app ------------------------------------------------------------------------------------------------


def page_views(result: Any, records: list[dict]) -> list[tuple[str, dict, str | None]]:
    """What the page view can show, as (label, passage record, sentence to mark): the answer's cited pages
    first, then each passage's page (the one its first marked sentence is on)."""
    views = []
    for citation in result.citations or []:
        cited_page = citation.get("page")
        for rec in records:
            last = rec["page_end"] if rec["page_end"] is not None else rec["page"]
            if rec["source"] == citation.get("source") and rec["page"] is not None and cited_page is not None \
                    and rec["page"] <= cited_page <= last:
                where = pages_text(cited_page, None, citation.get("page_label"))
                views.append((f"Answer: {_display_source(rec['source'])}, {where}", dict(rec, page=cited_page),
                              citation.get("text")))
                break
    for rank, rec in enumerate(records, 1):
        if rec.get("marked_page") is not None:      # a passage over two pages: the one its marked sentence is on
            rec = dict(rec, page=rec["marked_page"], page_label=rec["marked_label"])
        where = pages_text(rec["page"], None, rec["page_label"])
        views.append((f"[{rank}] {_display_source(rec['source'])}, {where}", rec, None))
    return views


def _document_label(record: Any) -> str:
    title = getattr(record, "title", "") or _display_source(getattr(record, "source", ""))
    return f"{title} ({_display_source(getattr(record, 'source', ''))}, {getattr(record, 'pages', '?')} pages)"


def _documents_table(records: list[Any]) -> list[list[Any]]:
    return [[r.title, _display_source(r.source), r.format, r.pages, r.chunks, r.tokens,
             str(getattr(r, "ingested_at", ""))[:19], r.doc_id[:12]] for r in records]


DOCUMENT_COLUMNS = ["title", "file", "format", "pages", "chunks", "tokens", "ingested", "id"]


def build_app(store: Any, *, engine_factory: Callable[[str], Any] | None = None, upload_dir: str | Path | None = None,
              max_file_size: str | int = DEFAULT_MAX_FILE_SIZE, default_collection: str = DEFAULT_COLLECTION,
              default_k: int = 5) -> gr.Blocks:
    """The Gradio Blocks app over a Store. engine_factory(collection) -> QAEngine (default: QAEngine(store, c))."""
    service = QAService(store=store, engine_factory=engine_factory,
                        upload_dir=Path(upload_dir) if upload_dir else default_upload_dir(),
                        max_upload_bytes=parse_size(max_file_size))

    def collection_choices(current: str | None = None) -> gr.Dropdown:
        names = service.collections()
        value = current or (default_collection if default_collection in names or not names else names[0])
        if value not in names:
            names = [value, *names]
        return gr.Dropdown(choices=names, value=value)

    def document_views(collection: str):
        """The documents as a table, as the ask filter's choices and as the delete list's choices."""
        try:
            records = service.documents(collection)
        except Exception as error:  # an unreachable Chroma server, a corrupt database
            log.exception("listing documents of %s", collection)
            return [], gr.Dropdown(choices=[], value=[]), gr.Dropdown(choices=[], value=None), error_html(
                f"Cannot list documents: {error}")
        choices = [(_document_label(r), r.doc_id) for r in records]
        note = f"{len(records)} document(s) in collection '{html.escape(collection or '')}'."
        return (_documents_table(records), gr.Dropdown(choices=choices, value=[]),
                gr.Dropdown(choices=choices, value=None), f"<p>{note}</p>")

    def on_collection(collection: str):
        return document_views(_collection_name(collection))

    def on_refresh(collection: str):
        collection = _collection_name(collection)
        return (collection_choices(collection), *document_views(collection))

    def on_upload(files, collection: str, progress=gr.Progress()):
        collection = _collection_name(collection)     # ' notes ' is stored as 'notes': shown and asked so too
        try:
            pairs = [(_upload_path(f), _upload_name(f)) for f in (files or [])]
            progress(0.0, desc="Starting")
            summary = service.ingest(pairs, collection, progress=_progress_adapter(progress))
            message = summary_html(summary)
            if summary.ingested:
                _prepare_engine(service, collection, progress)
        except UserError as error:
            message = error_html(str(error))
        except Exception as error:
            message = _one_line_error("Ingest failed", error)
        return (collection_choices(collection), *document_views(collection)[:3], message, None)

    def on_delete(collection: str, doc_id: str | None):
        collection = _collection_name(collection)
        if not doc_id:
            return (*document_views(collection)[:3], error_html("Choose a document to delete."))
        try:
            deleted = service.delete_document(collection, doc_id)
            message = deleted_html(deleted) if deleted else error_html(
                f"No document {str(doc_id)[:12]} in collection '{collection}' (already deleted?).")
        except Exception as error:
            message = _one_line_error("Delete failed", error)
        return (*document_views(collection)[:3], message)

    def on_ask(question: str, collection: str, doc_ids: list[str] | None, k: float,
               history: list | None, progress=gr.Progress()) -> Iterator[tuple]:
        """Streams the answer word by word, then its sources; the turn joins `history` for follow-ups. The first
        question of a collection the server has not opened yet shows the indexes being computed."""
        no_pages = gr.Dropdown(choices=[], value=None)
        history, collection = list(history or []), _collection_name(collection)
        try:
            if not (question or "").strip():
                raise UserError("Type a question first.")
            if collection not in service.collections():
                checked_collection_name(collection)       # a name no upload can make is not 'not yet' there
                raise UserError(f"Collection '{collection}' does not exist yet: upload documents into it first.")
            if not service.documents(collection):
                raise UserError(f"Collection '{collection}' has no documents: upload some first.")
            check_documents(collection, doc_ids)
            engine = service.engine(collection, progress=_index_progress(progress))
            result = None
            for item in engine.ask_stream(question.strip(), k=int(k), doc_ids=doc_ids or None,
                                          history=_turns_in(history, collection)):
                if isinstance(item, str):  # the answer so far
                    yield _markdown_to_html(item), "<p>Searching...</p>", no_pages, "", {}, history
                else:
                    result = item
            if result is None:
                raise RuntimeError("the engine returned no result")
        except UserError as error:
            yield error_html(str(error)), "", no_pages, "", {}, history
            return
        except Exception as error:
            yield _one_line_error("Question failed", error), "", no_pages, "", {}, history
            return
        records = [passage_record(p) for p in result.passages]
        views = page_views(result, records)
        first_page = page_view_html(views[0][1], views[0][2]) if views else ""
        picker = gr.Dropdown(choices=[(label, i) for i, (label, _, _) in enumerate(views)],
                             value=0 if views else None)
        state = {"views": [[rec, sentence] for _, rec, sentence in views]}
        history = (history + [[question.strip(), result.answer, collection]])[-MAX_HISTORY_TURNS:]
        yield (_markdown_to_html(answer_markdown(result)), sources_html(records), picker, first_page, state,
               history)

    def check_documents(collection: str, doc_ids: list[str] | None) -> None:
        """The API may send any ids (the dropdown accepts values it has not shown this session): name an unknown one."""
        known = {record.doc_id for record in service.documents(collection)} if doc_ids else set()
        unknown = [str(doc_id) for doc_id in doc_ids or [] if doc_id not in known]
        if unknown:
            raise UserError(f"No document {unknown[0][:12]} in collection '{collection}': refresh the document list.")

    def on_new_conversation():
        """The history, the answer, its sources and its cited page all cleared."""
        return ([], "", "<p>New conversation: the next question stands alone.</p>",
                gr.Dropdown(choices=[], value=None), "", {})

    def on_pick_page(index: int | None, state: dict | None):
        view = _view(index, state)
        if view is None:
            return ""
        try:
            return page_view_html(*view)
        except Exception as error:
            return _one_line_error("Cannot show the page", error)

    def on_image(index: int | None, state: dict | None):
        view = _view(index, state)
        return page_image(view[0]["source"], view[0]["page"]) if view and view[0].get("page") else None

    with gr.Blocks(title="nonattn-qa", delete_cache=GRADIO_CACHE_SWEEP) as app:
        gr.Markdown("## nonattn-qa: ask your documents\nAnswers are sentences copied from the documents, "
                    "with the page they come from.")
        with gr.Row():
            collection = gr.Dropdown(label="Collection (type a new name to create one)", allow_custom_value=True,
                                     interactive=True, scale=4, elem_id="collection")
            refresh = gr.Button("Refresh", scale=1)
        with gr.Tab("Ask"):
            with gr.Row():
                question = gr.Textbox(label="Question", placeholder="e.g. How do you quit R?", scale=5,
                                      elem_id="question")
                k = quiet_checks(gr.Slider(1, 20, value=default_k, step=1, label="Passages", scale=1))
            # allow_custom_value: an API caller's doc ids are checked by on_ask, not against the choices this
            # session happened to be shown (none before it lists the documents)
            only_docs = gr.Dropdown(label="Only these documents (empty: all)", multiselect=True, choices=[],
                                    allow_custom_value=True)
            with gr.Row():
                ask = gr.Button("Ask", variant="primary", elem_id="ask", scale=4)
                new_conversation = gr.Button("New conversation", elem_id="new-conversation", scale=1)
            answer = gr.HTML(elem_id="answer")
            with gr.Row():
                with gr.Column(scale=1):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(elem_id="sources")
                with gr.Column(scale=1):
                    gr.Markdown("### Cited page")
                    page_pick = quiet_checks(gr.Dropdown(label="Show page", choices=[], interactive=True))
                    page_view = gr.HTML(elem_id="page-view")
                    if shutil.which("pdftoppm"):
                        with gr.Accordion("Page image", open=False):
                            show_image = gr.Button("Render page image")
                            image = gr.Image(label="Page", type="pil", interactive=False)
            state = gr.State({})
            history = gr.State([])  # [question, answer, collection] turns of this browser session, for follow-ups
        with gr.Tab("Documents"):
            # No file_types: Gradio would refuse a whole multi-file upload for one file of another type before
            # on_upload runs; QAService checks each file, reports the bad ones and ingests the rest.
            upload = gr.File(label="Upload documents (PDF, EPUB, TXT, MD, HTML)", file_count="multiple",
                             elem_id="upload")
            ingest = gr.Button("Ingest into collection", variant="primary")
            upload_status = gr.HTML(elem_id="upload-status")
            documents = gr.Dataframe(headers=DOCUMENT_COLUMNS, interactive=False, label="Documents")
            with gr.Row():
                to_delete = gr.Dropdown(label="Document", choices=[], scale=4,
                                        allow_custom_value=True)  # as only_docs: on_delete names an unknown id
                delete = gr.Button("Delete document", variant="stop", scale=1)
            delete_status = gr.HTML()
        doc_outputs = [documents, only_docs, to_delete, delete_status]

        app.load(on_refresh, [collection], [collection, *doc_outputs], api_name="refresh")
        refresh.click(on_refresh, [collection], [collection, *doc_outputs], api_visibility="private")
        collection.change(on_collection, [collection], doc_outputs, api_name="documents")
        ingest.click(on_upload, [upload, collection], [collection, documents, only_docs, to_delete, upload_status,
                                                       upload], api_name="upload")
        delete.click(on_delete, [collection, to_delete], [documents, only_docs, to_delete, delete_status],
                     api_name="delete")
        ask_inputs = [question, collection, only_docs, k, history]
        ask_outputs = [answer, sources, page_pick, page_view, state, history]
        new_conversation.click(on_new_conversation, [], [history, sources, answer, page_pick, page_view, state],
                               api_name="new_conversation")
        ask.click(on_ask, ask_inputs, ask_outputs, api_name="ask").then(None, js=SCROLL_TO_MARK)
        question.submit(on_ask, ask_inputs, ask_outputs, api_visibility="private").then(None, js=SCROLL_TO_MARK)
        page_pick.input(on_pick_page, [page_pick, state], [page_view], api_name="page").then(None, js=SCROLL_TO_MARK)
        if shutil.which("pdftoppm"):
            show_image.click(on_image, [page_pick, state], [image], api_visibility="private")
    app.qa_service = service  # for tests and callers that need the service behind the page
    return app


def checked_collection_name(name: str) -> str:
    """The name, or UserError saying why Chroma would refuse it ('3-512 characters: ...')."""
    from ingest.store import check_collection_name

    try:
        return check_collection_name(name)
    except StoreError as error:
        raise UserError(str(error)) from None


def _collection_name(typed: str | None) -> str:
    """A collection's name as typed into the picker, without the spaces around it."""
    return (typed or "").strip()


def _turns_in(history: list, collection: str) -> list[tuple[str, str | None]]:
    """The (question, answer) turns asked of `collection`: a question about another collection's documents is no
    context for a follow-up here."""
    return [(question, answer) for question, answer, asked_of in history if asked_of == collection]


def _view(index: Any, state: dict | None) -> tuple[dict, str | None] | None:
    views = (state or {}).get("views") or []
    if index is None or not 0 <= int(index) < len(views):
        return None
    rec, sentence = views[int(index)]
    return rec, sentence


def _upload_path(file: Any) -> str:
    return file if isinstance(file, str) else getattr(file, "name", None) or file["path"]


def _upload_name(file: Any) -> str:
    """The name the user's file had: Gradio keeps it as the last path component of its temporary copy."""
    orig = getattr(file, "orig_name", None) or (file.get("orig_name") if isinstance(file, dict) else None)
    return orig or os.path.basename(_upload_path(file))


def _progress_adapter(progress: Callable) -> Callable:
    """ingest_paths' ProgressEvents -> the Gradio progress bar (files done of all, pages and tokens so far)."""

    def update(event: Any) -> None:
        desc = f"{event.files_done}/{event.files_total} file(s), {event.pages} pages, {event.tokens} tokens read"
        if event.source:
            desc += f" (last: {_display_source(event.source)})"
        progress((event.files_done, event.files_total or 1), desc=desc, unit="files")

    return update


def prepare_collection(app: gr.Blocks, collection: str) -> None:
    """Open the engine of the collection the page starts on before serving (a bar on stderr per index while it
    computes what its cache lacks, app.index_progress), so that the page's first question does not wait for it;
    nothing for a collection without documents. A failure is one warning line: the questions will say more."""
    from app.index_progress import index_progress_bar

    service = app.qa_service
    try:
        if service.documents(collection):
            with index_progress_bar() as progress:
                service.engine(collection, progress=progress)
    except Exception as error:
        print(f"warning: could not open collection {collection!r} before serving: {_error_text(error)}",
              file=sys.stderr)


def _prepare_engine(service: QAService, collection: str, progress: Callable) -> None:
    """Compute the indexes the engine reads for the documents just ingested (our model's span memory, the fallback's
    vectors: a minute or more for a book on a CPU) while the upload's progress bar is up, instead of at the first
    question. A failure here is logged and left to that question, which computes them again."""
    try:
        service.engine(collection, progress=_index_progress(progress))
    except Exception as error:                   # the upload itself succeeded: say so, and let the question retry
        log.warning("could not prepare the engine of collection %r after an upload: %s", collection, error)


def _index_progress(progress: Callable) -> Callable:
    """The engine's index loads (app.index_progress: index, documents done, documents in all) -> the Gradio
    progress bar."""
    def update(index: str, done: int, total: int) -> None:
        progress((done, total or 1), desc=f"Preparing to answer: {index}, {done}/{total} document(s)", unit="documents")

    return update


def summary_html(summary: Any) -> str:
    """What an upload did: counts, then one line per skipped or failed file (file names only, never paths)."""
    parts = [f"<p>{html.escape(summary.text().capitalize())}.</p>"]
    for entry in summary.ingested:
        renamed = (f" (uploaded as {entry['uploaded_as']}; a different file of that name was uploaded before)"
                   if entry.get("uploaded_as") else "")
        parts.append(f"<p>Ingested {html.escape(_display_source(entry['source']) + renamed)}: {entry['pages']} "
                     f"pages, {entry['chunks']} chunks.</p>")
    for entry in summary.skipped:
        reason = entry["reason"]
        if reason.startswith("same content as "):  # names the other file by its server path: keep the name only
            reason = "same content as " + _display_source(reason.removeprefix("same content as "))
        parts.append(f"<p>Skipped {html.escape(_display_source(entry['source']))}: {html.escape(reason)}.</p>")
    for entry in summary.failed:
        parts.append(error_html(f"Ingest failed: {_display_source(entry['source'])}: {entry['error']}"))
    return "".join(parts)


def deleted_html(record: Any) -> str:
    return f"<p>Deleted document {html.escape(record.doc_id[:12])} ({html.escape(_display_source(record.source))}).</p>"


def _one_line_error(what: str, error: Exception) -> str:
    """One line for the page; the traceback goes to the server log unless the error is the user's to fix."""
    if not isinstance(error, (UserError, IngestError, StoreError, FileNotFoundError)):
        log.exception(what)
    return error_html(f"{what}: {_error_text(error)}")


def _error_text(error: Exception) -> str:
    """The error's message on one line, or its type's name when it has none."""
    return " ".join(str(error).split()) or type(error).__name__


def _markdown_to_html(text: str) -> str:
    """The answer block: escaped text, **bold** and *italic* only, paragraphs kept."""
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escaped)
    escaped = re.sub(r"\*(.+?)\*", r"<i>\1</i>", escaped)
    return "".join(f"<p>{para}</p>" for para in escaped.split("\n\n"))


def default_upload_dir(db: str | Path | None = None) -> Path:
    """Where uploaded files are kept (the page view re-reads them): $NONATTN_QA_UPLOADS, else DB/uploads for an
    embedded DB, else next to the default DB directory."""
    if os.environ.get("NONATTN_QA_UPLOADS"):
        return Path(os.environ["NONATTN_QA_UPLOADS"]).expanduser()
    if db:
        return Path(db).expanduser() / "uploads"
    from ingest.store import default_db_dir

    return default_db_dir().parent / "uploads"


def theme() -> gr.themes.Base:
    """The default theme with system fonts: nothing is fetched from a font CDN, so the page works offline."""
    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                             font_mono=["ui-monospace", "monospace"])


def launch(app: gr.Blocks, *, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           inbrowser: bool = False, prevent_thread_lock: bool = False, quiet: bool = False):
    """Start the server: local only unless host says otherwise; the app's own size limit on uploads is checked
    file by file, Gradio's (GRADIO_UPLOAD_CAP_FACTOR times it) on the whole upload."""
    upload_cap = app.qa_service.max_upload_bytes * GRADIO_UPLOAD_CAP_FACTOR
    return app.queue(default_concurrency_limit=4).launch(
        server_name=host, server_port=port, auth=auth, max_file_size=upload_cap, inbrowser=inbrowser,
        prevent_thread_lock=prevent_thread_lock, quiet=quiet, show_error=False, ssr_mode=False, share=False,
        theme=theme(), css=CSS, footer_links=["api", "settings"],
    )
