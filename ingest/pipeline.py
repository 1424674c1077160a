"""Ingestion as one library call: discover -> parse + chunk (process pool) -> encode (model) -> store (Chroma).

`ingest_paths` serves the CLI and the UI's upload handler alike (progress through a callback);
`append_document` continues a stored document from its saved streaming state.

Each record keeps the fingerprint of the model that encoded it (NonAttnLM.fingerprint): after a model change an
unchanged file is re-encoded in place rather than skipped, and appending onto such a document is refused, so
embeddings of two models never share a collection or a document.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ingest import records
from ingest.documents import PAGE_SEPARATOR, ParsedDocument
from ingest.errors import IngestError
from ingest.parse import DEFAULT_MAX_BYTES, DiscoveredFiles, discover_files, parse_file, parser_version
from ingest.parse.source import SUPPORTED_EXTENSIONS
from ingest.processes import die_with_parent
from ingest.store import DEFAULT_COLLECTION, DocumentRecord, Store, chunk_id


@dataclass
class IngestOptions:
    """How to ingest: device, parser processes, context overlap, --sync, and the shard of files to take."""

    device: str = "auto"  # auto | cpu | cuda
    checkpoint: str | None = None  # model directory (None: the shipped default)
    parse_workers: int | None = None  # processes parsing files while the model encodes (None: CPU count)
    context_tokens: int = 32  # tokens before each chunk kept as its context_text
    sync: bool = False  # remove documents whose source file is gone
    password: str | None = None  # for encrypted PDFs
    max_bytes: int = DEFAULT_MAX_BYTES
    recursive: bool = True
    rank: int = 0  # this process's shard of the files (torchrun)
    world_size: int = 1
    recover: bool = True  # repair interrupted writes first (only one process of a sharded run should)


@dataclass
class ProgressEvent:
    """Where a run stands: files done of all, pages and tokens encoded, seconds since the start."""

    files_done: int
    files_total: int
    pages: int
    tokens: int
    seconds: float
    source: str = ""


@dataclass
class IngestSummary:
    """What a run did; `as_json()` is the --json output."""

    ingested: list[dict] = field(default_factory=list)  # {"source", "doc_id", "pages", "chunks", "tokens"[, "replaced"]}
    skipped: list[dict] = field(default_factory=list)  # {"source", "doc_id", "reason"}
    failed: list[dict] = field(default_factory=list)  # {"source", "error"}
    removed: list[dict] = field(default_factory=list)  # --sync: {"source", "doc_id", "chunks"}
    recovered: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def pages(self) -> int:
        return sum(entry["pages"] for entry in self.ingested)

    @property
    def tokens(self) -> int:
        return sum(entry["tokens"] for entry in self.ingested)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def as_json(self) -> dict:
        return {"ingested": self.ingested, "skipped": self.skipped, "failed": self.failed, "removed": self.removed}

    def merge(self, other: "IngestSummary") -> None:
        for name in ("ingested", "skipped", "failed", "removed", "recovered"):
            getattr(self, name).extend(getattr(other, name))
        self.seconds = max(self.seconds, other.seconds)

    def text(self) -> str:
        rate = f", {self.pages / self.seconds:.1f} pages/s, {self.tokens / self.seconds:.0f} tokens/s" if self.seconds else ""
        reencoded = sum(entry.get("replaced") == MODEL_CHANGED for entry in self.ingested)
        reparsed = sum(entry.get("replaced") == PARSER_CHANGED for entry in self.ingested)
        moved = sum(entry.get("replaced") == FILE_MOVED for entry in self.ingested)
        line = (f"ingested {len(self.ingested)} file(s) ({self.pages} pages, {self.tokens} tokens) in "
                f"{self.seconds:.1f} s{rate}; {self._skipped_text()}; failed {len(self.failed)}")
        line += f" (re-encoded {reencoded} for another model)" if reencoded else ""
        line += f" (parsed {reparsed} again with a newer parser)" if reparsed else ""
        line += f" (took over {moved} whose file is gone)" if moved else ""
        line += f"; removed {len(self.removed)}" if self.removed else ""
        if not (self.ingested or self.skipped or self.failed or self.removed):
            line += f"; found no documents (supported: {', '.join(SUPPORTED_EXTENSIONS)})"
        return line

    def _skipped_text(self) -> str:
        """'skipped 3 (2 unchanged, 1 unsupported file type)'"""
        if not self.skipped:
            return "skipped 0"
        reasons = Counter("same content as another file" if entry["reason"].startswith("same content as")
                          else entry["reason"] for entry in self.skipped)
        return f"skipped {len(self.skipped)} ({', '.join(f'{n} {reason}' for reason, n in reasons.most_common())})"


@dataclass
class PreparedDocument:
    """A parsed and chunked document, ready for the model (what a parser process sends back)."""

    doc: ParsedDocument
    tokens: list[int]
    chunks: list
    hold_token: int  # where the streaming state is saved (see ingest.encode.holdback_point)
    hold_char: int
    text_chars: int


Progress = Callable[[ProgressEvent], None]

# Short documents wait to be read side by side and are written together: one commit protocol (a few Chroma
# writes) per group instead of per file. A crash loses at most one group's encoding, never a half document.
SHORT_DOCUMENTS_PER_WRITE = 32

# Why an ingested document replaced a stored one ("replaced" in its summary entry).
FILE_CHANGED, MODEL_CHANGED = "file changed", "encoded by another model version"
PARSER_CHANGED = "parsed by an older version"
FILE_MOVED = "its file is gone; this file has the same content"


def shard_by_size(files: list[Path], rank: int, world_size: int) -> list[Path]:
    """This rank's share of the files, balanced by bytes (largest first to the least-loaded rank), same on every rank."""
    if world_size <= 1:
        return list(files)
    loads = [0] * world_size
    mine = []
    for path in sorted(files, key=lambda p: (-_size_or_zero(p), str(p))):
        least = loads.index(min(loads))
        loads[least] += max(_size_or_zero(path), 1)
        if least == rank:
            mine.append(path)
    return sorted(mine, key=str)


def _size_or_zero(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # reported as unreadable by the rank that owns it
        return 0


def ingest_paths(
    paths: list[str],
    store: Store,
    collection: str = DEFAULT_COLLECTION,
    options: IngestOptions | None = None,
    progress: Progress | None = None,
    encoder=None,
    discovered: DiscoveredFiles | None = None,
) -> IngestSummary:
    """Ingest files, directories and globs into a collection; never raises for a bad file (see summary.failed).

    `discovered`: discover_files(paths) already run by the caller (the CLI looks before it creates a database),
    so that a large tree is not walked twice.
    """
    options = options or IngestOptions()
    started = time.perf_counter()
    if discovered is None:
        discovered = discover_files(list(paths), recursive=options.recursive)
    summary = discovery_summary(discovered)
    store.ensure_collection(collection)
    if options.recover:
        summary.recovered = records.recover(store, collection)
    files = shard_by_size(discovered.files, options.rank, options.world_size)

    known = records.load_records(store, collection)
    by_source: dict[str, list[str]] = {}
    for doc_id, metadata in known.items():
        by_source.setdefault(metadata["source"], []).append(doc_id)

    def loaded_encoder():
        nonlocal encoder
        if encoder is None:  # loaded once a stored document needs comparing with it, or a file needs encoding
            from ingest.encode import Encoder

            encoder = Encoder(options.device, options.checkpoint)
        return encoder

    todo = []
    first_with_content: dict[str, str] = {}
    why_redone: dict[str, str] = {}  # doc id -> why its stored document is parsed and encoded again (its summary says)
    for path in files:
        source = os.path.abspath(path)
        try:
            digest = _sha256(path)
        except OSError as error:
            summary.failed.append({"source": str(path), "error": f"cannot read file ({error.strerror or error})"})
            continue
        stored = known.get(digest)
        if stored and stored["source"] == source:
            outdated = _outdated(stored, lambda: loaded_encoder().fingerprint)
        elif stored and digest not in first_with_content and _moved_here(stored):
            outdated = FILE_MOVED
        else:
            outdated = None
        if outdated == MODEL_CHANGED and stored.get("revision", 1) > 1:  # appended text is not in this file
            summary.failed.append({"source": str(path), "error": _appended_under_other_model(digest)})
            continue
        if outdated is None:  # else parsed and encoded again, in place (see ingest.records)
            other = stored["source"] if stored else first_with_content.get(digest)
            if other is not None:  # stored already, or an earlier file of this run has the same bytes
                reason = "unchanged" if other == source else f"same content as {other}"
                summary.skipped.append({"source": str(path), "doc_id": digest, "reason": reason})
                continue
        first_with_content[digest] = source
        if outdated is not None:
            why_redone[digest] = outdated
        todo.append(path)

    state = ProgressEvent(0, len(todo), 0, 0, 0.0)

    def report(source: str) -> None:
        state.files_done += 1
        state.seconds = time.perf_counter() - started
        state.source = source
        if progress:
            progress(ProgressEvent(**asdict(state)))

    if progress:
        progress(ProgressEvent(**asdict(state)))
    if todo:
        loaded_encoder()
    waiting: list[tuple[str, PreparedDocument]] = []  # short documents to be read side by side

    def encode_waiting() -> None:
        encoded = []
        for start in range(0, len(waiting), encoder.batch_documents):
            batch = waiting[start:start + encoder.batch_documents]
            encoded += encoder.encode_many([(p.tokens, p.hold_token) for _, p in batch])
        written = [_new_document(prepared, result, by_source.get(prepared.doc.source, []), encoder.fingerprint,
                                 known.get(prepared.doc.doc_id), why_redone.get(prepared.doc.doc_id))
                   for (_, prepared), result in zip(waiting, encoded)]
        records.commit_documents(store, collection, [document for document, _ in written])
        for (source, _), (_, entry) in zip(waiting, written):
            summary.ingested.append(entry)
            state.pages += entry["pages"]
            state.tokens += entry["tokens"]
            report(source)
        waiting.clear()

    for path, prepared in _prepare_all(todo, encoder.chunk_size if encoder else 256, options):
        if isinstance(prepared, IngestError):
            summary.failed.append({"source": str(path), "error": prepared.reason})
            report(str(path))
            continue
        short = encoder.is_short(prepared.tokens)
        if waiting and not short:
            encode_waiting()  # a long document is read alone
        waiting.append((str(path), prepared))
        if len(waiting) >= SHORT_DOCUMENTS_PER_WRITE or not short:
            encode_waiting()
    if waiting:
        encode_waiting()

    if options.sync:
        summary.removed = sync_collection(store, collection)
    summary.seconds = time.perf_counter() - started
    return summary


def discovery_summary(discovered: DiscoveredFiles) -> IngestSummary:
    """What discovery alone reports (paths that failed, files of unknown type): the start of every run's summary,
    and all of it when no file is left to ingest."""
    summary = IngestSummary()
    for problem in discovered.problems:
        source, _, reason = problem.partition(": ")
        summary.failed.append({"source": source, "error": reason})
    for path in discovered.skipped_unknown:
        summary.skipped.append({"source": str(path), "doc_id": "", "reason": "unsupported file type"})
    return summary


def sync_collection(store: Store, collection: str) -> list[dict]:
    """Delete the documents whose source file no longer exists."""
    removed = []
    for doc_id, metadata in sorted(records.load_records(store, collection).items()):
        if not os.path.exists(metadata["source"]):
            chunks = records.delete_document(store, collection, doc_id)
            removed.append({"source": metadata["source"], "doc_id": doc_id, "chunks": chunks})
    return removed


# ---- parsing (in worker processes) -----------------------------------------------------------------------

_TOKENIZER = None


def prepare_document(path, chunk_size: int, context_tokens: int, password=None, max_bytes=DEFAULT_MAX_BYTES,
                     parse_workers: int | None = 1):
    """Parse, tokenize and chunk one file; returns a PreparedDocument or the IngestError (picklable)."""
    global _TOKENIZER
    from ingest.chunk import chunk_document, default_tokenizer
    from ingest.encode import holdback_point

    try:
        doc = parse_file(path, password=password, max_bytes=max_bytes, workers=parse_workers)
    except IngestError as error:
        return error
    except Exception as error:  # a parser library's own failure on a damaged file: one line, the run goes on
        return IngestError(path, f"cannot parse file ({type(error).__name__}: {error})")
    if _TOKENIZER is None:
        _TOKENIZER = default_tokenizer()
    tokens, chunks = chunk_document(doc, _TOKENIZER, chunk_tokens=chunk_size, overlap_tokens=context_tokens)
    text = doc.full_text()
    hold_token, hold_char = holdback_point(text, tokens, _TOKENIZER.encoding)
    return PreparedDocument(doc, tokens, chunks, hold_token, hold_char, len(text))


def _prepare_all(paths: list, chunk_size: int, options: IngestOptions):
    """(path, PreparedDocument | IngestError) in order; files parse in a process pool while the caller encodes.

    While parser processes are busy the model gets one CPU thread: torch's OpenMP threads spin while they wait,
    and beside busy processes they stall one another (2-core Xeon, bf16: two threads next to one busy core 6.4K
    tokens/s, one thread 11.4K). Once parsing is done it gets all of them again (idle: 18-20K vs 13.1K). libgomp's
    passive waiting would avoid the stalls but costs more than it saves on an idle machine (7-8K)."""
    workers = options.parse_workers or os.cpu_count() or 1
    arguments = (chunk_size, options.context_tokens, options.password, options.max_bytes)
    if len(paths) <= 1 or workers <= 1:
        for path in paths:  # one file: the PDF parser spreads its pages over processes itself
            yield path, prepare_document(path, *arguments, parse_workers=workers)
        return
    import torch

    model_threads = torch.get_num_threads()
    with ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent) as pool:
        window = workers * 2
        futures = [pool.submit(prepare_document, path, *arguments) for path in paths[:window]]
        try:
            for index, path in enumerate(paths):
                result = futures[index].result()
                futures[index] = None  # free the parsed document once used
                if index + window < len(paths):
                    futures.append(pool.submit(prepare_document, paths[index + window], *arguments))
                parsing = any(f is not None and not f.done() for f in futures)
                torch.set_num_threads(1 if parsing else model_threads)
                yield path, result
        finally:
            torch.set_num_threads(model_threads)


# ---- encoding and writing --------------------------------------------------------------------------------


def chunk_metadata(doc_id: str, source: str, title: str, chunk) -> dict:
    """The metadata stored with a chunk (Chroma takes no None: a missing section is "")."""
    return {
        "source": source,
        "doc_id": doc_id,
        "title": title,
        "chunk_index": chunk.index,
        "page_start": chunk.page_start,
        "page_end": chunk.page_end,
        "page_label_start": chunk.page_label_start,
        "page_label_end": chunk.page_label_end,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "token_start": chunk.token_start,
        "token_end": chunk.token_end,
        "section": chunk.section or "",
        "inner_sections": json.dumps(chunk.inner_sections) if chunk.inner_sections else "",
        "context_text": chunk.context_text,
    }


def _rows(doc_id, source, title, chunks, embeddings) -> dict:
    return {
        "ids": [chunk_id(doc_id, chunk.index) for chunk in chunks],
        "embeddings": embeddings,
        "documents": [chunk.text for chunk in chunks],
        "metadatas": [chunk_metadata(doc_id, source, title, chunk) for chunk in chunks],
    }


def _tail_pages(doc: ParsedDocument, from_char: int) -> list[dict]:
    """The pages whose text reaches past from_char, with their offsets (what an append needs to know)."""
    pages = []
    for page, (start, end) in zip(doc.pages, doc.page_offsets()):
        if end + len(PAGE_SEPARATOR) > from_char or page is doc.pages[-1]:
            pages.append({"number": page.number, "label": page.label, "section": page.section or "",
                          "char_start": start})
    return pages


def _new_document(prepared: PreparedDocument, encoded, replaces: list[str], model: str,
                  stored: dict | None, why_redone: str | None) -> tuple[records.NewDocument, dict]:
    """What an encoded document writes (chunks, record, saved state; see ingest.records) and its summary entry.

    replaces: the doc_ids stored for its source; stored: the record of this very content when it is re-encoded, and
    why_redone why (MODEL_CHANGED, PARSER_CHANGED, FILE_MOVED: ingest_paths decided it)."""
    doc = prepared.doc
    if len(encoded.embeddings) != len(prepared.chunks):
        raise RuntimeError(f"{doc.source}: {len(encoded.embeddings)} embeddings for {len(prepared.chunks)} chunks")
    record = DocumentRecord(
        doc_id=doc.doc_id, source=doc.source, title=doc.title, format=doc.format, pages=len(doc.pages),
        chunks=len(prepared.chunks), tokens=len(prepared.tokens), ingested_at=_now(), sha256=doc.doc_id, revision=1,
        model=model, parser=parser_version(doc.format),
    )
    payload = {"state": encoded.state, "position": prepared.hold_token, "char_position": prepared.hold_char,
               "text_chars": prepared.text_chars, "tail_pages": _tail_pages(doc, prepared.hold_char)}
    rows = _rows(doc.doc_id, doc.source, doc.title, prepared.chunks, encoded.embeddings)
    others = [d for d in replaces if d != doc.doc_id]
    new = records.NewDocument(record, rows, payload, others, stored["chunks"] if stored else 0)
    entry = {"source": doc.source, "doc_id": doc.doc_id, "pages": record.pages, "chunks": record.chunks,
             "tokens": record.tokens}
    if why_redone or others:        # the stored document of this content, or another one of this file's path
        entry["replaced"] = why_redone or FILE_CHANGED
    return new, entry


def _outdated(stored: dict, fingerprint) -> str | None:
    """Why the stored record of an unchanged file must be made again (MODEL_CHANGED, PARSER_CHANGED), else None.
    `fingerprint()` gives the model's (loaded only when asked). A document extended with --append is not parsed
    again: its file lacks the appended text."""
    if stored.get("model", "") != fingerprint():
        return MODEL_CHANGED
    if stored.get("parser", 0) < parser_version(stored.get("format", "")) and stored.get("revision", 1) == 1:
        return PARSER_CHANGED
    return None


def _moved_here(stored: dict) -> bool:
    """Whether a stored document with this file's content lost its own file (moved, renamed or deleted), so that
    this file takes it over, encoded again under its own path: --sync would otherwise drop the content (its file is
    gone) while this file is skipped as a copy. A document extended with --append is not: this file lacks the
    appended text."""
    return not os.path.exists(stored["source"]) and stored.get("revision", 1) == 1


def _appended_under_other_model(doc_id: str) -> str:
    return (f"document {doc_id[:12]} was encoded by another model version and extended with --append, and this "
            f"file lacks the appended text: delete it (docs delete {doc_id[:12]}) and ingest its whole text again")


# ---- appending -------------------------------------------------------------------------------------------


def resolve_doc_id(store: Store, collection: str, doc_id_or_prefix: str) -> str:
    """The full doc_id for a unique prefix of it (IngestError otherwise)."""
    matches = [d for d in records.load_records(store, collection) if d.startswith(doc_id_or_prefix)]
    if len(matches) != 1:
        why = "no document" if not matches else f"{len(matches)} documents"
        raise IngestError(doc_id_or_prefix, f"{why} with this id in collection '{collection}'")
    return matches[0]


def append_document(
    store: Store, collection: str, doc_id: str, path, options: IngestOptions | None = None, encoder=None
) -> dict:
    """Continue a stored document with the text of another file, from its saved state: the earlier text is
    not read again. The result equals ingesting the whole text at once (old pages, then the new file's pages).

    IngestError when the document was encoded by another model version (its state would not fit this model)."""
    from ingest.chunk import _token_char_offsets
    from ingest.documents import Chunk
    from ingest.encode import Encoder, holdback_point

    options = options or IngestOptions()
    if options.recover:
        records.recover(store, collection)
    doc_id = resolve_doc_id(store, collection, doc_id)
    metadata, payload = records.load_saved_state(store, collection, doc_id)
    encoder = encoder or Encoder(options.device, options.checkpoint)
    if metadata.get("model", "") != encoder.fingerprint:
        raise IngestError(f"document {doc_id[:12]} ({metadata['source']})",
                          "was encoded by another model version and must be re-ingested before appending "
                          "(ingest its file again with this model)")
    if os.path.abspath(path) == metadata["source"]:     # its text would be read twice
        raise IngestError(str(path), f"is the source of document {doc_id[:12]} itself: to take in what was added "
                          "to it, ingest it again (that replaces the document); --append takes another file")
    addition = parse_file(path, password=options.password, max_bytes=options.max_bytes, workers=1)
    C = encoder.chunk_size
    chunks_collection = store.collection(collection)

    position, hold_char = payload["position"], payload["char_position"]
    first = position // C
    previous_chunks = metadata["chunks"]
    old_ids = [chunk_id(doc_id, i) for i in range(first, previous_chunks)]
    old = store.get_rows(chunks_collection, old_ids)
    old_text = "".join(old[i]["document"] for i in old_ids)
    first_start = old[old_ids[0]]["metadata"]["char_start"] if old_ids else hold_char
    head_text, tail_text = old_text[: hold_char - first_start], old_text[hold_char - first_start:]
    memory_ids = [chunk_id(doc_id, i) for i in range(first)]
    memory_rows = store.get_rows(chunks_collection, memory_ids, include=("embeddings",))
    memory = [memory_rows[i]["embedding"] for i in memory_ids]

    segment = tail_text + PAGE_SEPARATOR + addition.full_text()
    tokens = encoder.tokenizer.encode(segment)
    hold_token, segment_hold_char = holdback_point(segment, tokens, encoder.tokenizer.encoding)
    import numpy as np

    encoded = encoder.resume(payload["state"], np.asarray(memory, dtype=np.float32).reshape(-1, encoder.embed_dim),
                             tokens, hold_token)

    # Pages and sections of the segment, in document characters.
    page_count = metadata["pages"]
    pages = [dict(page) for page in payload["tail_pages"]]
    addition_start = hold_char + len(tail_text) + len(PAGE_SEPARATOR)
    for page, (start, _) in zip(addition.pages, addition.page_offsets()):
        number = page.number + page_count
        label = str(number) if page.label == str(page.number) else page.label
        pages.append({"number": number, "label": label, "section": page.section or "",
                      "char_start": addition_start + start})
    page_starts = [page["char_start"] for page in pages]
    sections = [(page["char_start"], page["section"]) for page in payload["tail_pages"] if page["section"]]
    sections += [(addition_start + offset, title) for offset, title in addition.section_offsets()]
    from ingest.chunk import _section_at, sections_inside

    section_positions = [offset for offset, _ in sections]
    char_at = _token_char_offsets(segment, tokens, encoder.tokenizer.encoding) + hold_char
    total_tokens = position + len(tokens)
    new_chunks = []
    for index in range(first, -(-total_tokens // C)):
        token_start, token_end = index * C, min(index * C + C, total_tokens)
        local_start, local_end = max(token_start - position, 0), token_end - position
        char_start, char_end = int(char_at[local_start]), int(char_at[local_end])
        text = segment[char_start - hold_char: char_end - hold_char]
        context = segment[int(char_at[max(local_start - options.context_tokens, 0)]) - hold_char: char_start - hold_char]
        if index == first and old_ids:
            meta = old[old_ids[0]]["metadata"]
            text, char_start, context = head_text + text, meta["char_start"], meta["context_text"]
        first_page = pages[max(bisect.bisect_right(page_starts, char_start) - 1, 0)]
        last_page = pages[max(bisect.bisect_right(page_starts, max(char_end - 1, char_start)) - 1, 0)]
        section = _section_at(sections, section_positions, char_start, char_end, first_page["section"] or None)
        inner = sections_inside(sections, section_positions, char_start, char_end, section)
        if index == first and old_ids:
            meta = old[old_ids[0]]["metadata"]
            first_page = {"number": meta["page_start"], "label": meta["page_label_start"]}
            section = meta["section"]
            earlier = [tuple(entry) for entry in json.loads(meta.get("inner_sections") or "[]")]
            in_force = earlier[-1][1] if earlier else section
            inner = earlier + sections_inside(sections, section_positions, char_start, char_end, in_force)
        new_chunks.append(Chunk(index, text, context, token_start, token_end, char_start, char_end,
                                first_page["number"], last_page["number"], first_page["label"], last_page["label"],
                                section, inner))
    if len(encoded.embeddings) != len(new_chunks) or encoded.first_chunk != first:
        raise RuntimeError(f"append: {len(encoded.embeddings)} embeddings for {len(new_chunks)} chunks")

    record = DocumentRecord(**{**DocumentRecord.from_metadata(metadata).__dict__,
                               "pages": page_count + len(addition.pages), "chunks": first + len(new_chunks),
                               "tokens": total_tokens, "ingested_at": _now(),
                               "revision": metadata.get("revision", 1) + 1})
    new_hold_char = hold_char + segment_hold_char
    new_payload = {"state": encoded.state, "position": position + hold_token, "char_position": new_hold_char,
                   "text_chars": hold_char + len(segment),
                   "tail_pages": [p for i, p in enumerate(pages)
                                  if i + 1 == len(pages) or pages[i + 1]["char_start"] > new_hold_char]}
    rows = _rows(doc_id, metadata["source"], metadata["title"], new_chunks, encoded.embeddings)
    restore = {"ids": old_ids, "embeddings": [old[i]["embedding"] for i in old_ids],
               "documents": [old[i]["document"] for i in old_ids], "metadatas": [old[i]["metadata"] for i in old_ids]}
    records.commit_append(store, collection, record, rows, new_payload, previous_chunks, restore)
    return {"source": str(path), "doc_id": doc_id, "pages": len(addition.pages), "chunks": record.chunks,
            "tokens": total_tokens - metadata["tokens"]}


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
