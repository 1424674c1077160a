"""Our model's memory at span resolution over a collection: each document read whole by the model
(`NonAttnLM.encode_spans`), and each chunk ranked by its best span.

A chunk embedding averages 256 tokens, and a question usually asks about one sentence of them. Spans of 64 tokens
every 16 score that sentence's neighbourhood instead. The index is built from the stored chunk texts: each
chunk's text is tokenized on its own and the document's chunks are read in order, so every span belongs to the
chunk it starts in. Each document's spans are cached on disk under the model's fingerprint and the hash of the
document's chunk texts, so a collection that gains or loses a document reads only what is new.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

SPAN_TOKENS = 64
SPAN_STRIDE = 16


def document_spans(chunk_texts: list[str], model, tokenizer) -> tuple[np.ndarray, np.ndarray]:
    """One document's chunks, in reading order, read whole: span embeddings (n, E) float16 and, per span, the
    position in `chunk_texts` of the chunk it starts in."""
    tokens, token_owner = [], []
    for position, text in enumerate(chunk_texts):
        chunk_tokens = tokenizer.encode(text)
        tokens += chunk_tokens
        token_owner += [position] * len(chunk_tokens)
    if not tokens:
        return np.zeros((0, model.config.embed_dim), np.float16), np.zeros(0, np.int32)
    spans = model.encode_spans(tokens, SPAN_TOKENS, SPAN_STRIDE).numpy().astype(np.float16)
    return spans, np.asarray(token_owner[::SPAN_STRIDE], dtype=np.int32)


class DocumentSpanCache:
    """Each document's spans in `directory`, one .npz named by the hash of its chunk texts (the directory is the
    model's: another model's spans are never read)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def spans(self, chunk_texts: list[str], model, tokenizer) -> tuple[np.ndarray, np.ndarray]:
        """document_spans, from the cache when this document was read before, else read and saved."""
        path = self.directory / f"{_texts_hash(chunk_texts)}.npz"
        if path.is_file():
            try:
                with np.load(path) as saved:
                    return saved["spans"], saved["owners"]
            except (OSError, ValueError, KeyError):             # a corrupt cache file is rebuilt, never fatal
                pass
        spans, owners = document_spans(chunk_texts, model, tokenizer)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.tmp.npz")
            np.savez(tmp, spans=spans, owners=owners)
            tmp.replace(path)
        except OSError:
            pass                                                 # read-only location: work without a cache
        return spans, owners


def _texts_hash(texts: list[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()[:32]


class SpanIndex:
    """Span embeddings (n, E) and, per span, the chunk-table row of the chunk it starts in. Cached as float16, kept
    in memory as float32 (numpy multiplies float16 without BLAS, ~10x slower)."""

    def __init__(self, spans: np.ndarray, owners: np.ndarray, n_rows: int):
        self.spans, self.owners, self.n_rows = spans.astype(np.float32), owners, n_rows

    @classmethod
    def build(cls, table, model, tokenizer, cache: DocumentSpanCache | None = None) -> "SpanIndex":
        """Every document of a retrieval.ChunkTable, chunks in chunk_index order: read by the model, or taken from
        `cache` where the document was read before."""
        spans, owners = [np.zeros((0, model.config.embed_dim), np.float16)], [np.zeros(0, np.int32)]
        for rows in table.doc_rows.values():
            rows = np.asarray(sorted(rows, key=lambda r: int(table.metadatas[r].get("chunk_index", 0))))
            texts = [table.texts[r] for r in rows]
            doc_spans, positions = cache.spans(texts, model, tokenizer) if cache else \
                document_spans(texts, model, tokenizer)
            spans.append(doc_spans)
            owners.append(rows[positions].astype(np.int32))
        return cls(np.concatenate(spans), np.concatenate(owners), len(table))

    def chunk_scores(self, query: np.ndarray) -> np.ndarray:
        """Each chunk-table row's best span cosine to the (normalised) query embedding; -inf for rows without spans."""
        scores = np.full(self.n_rows, -np.inf, dtype=np.float32)
        if len(self.owners):
            span_scores = self.spans @ query.astype(np.float32)
            runs = np.flatnonzero(np.r_[True, self.owners[1:] != self.owners[:-1]])   # a chunk's spans are adjacent
            scores[self.owners[runs]] = np.maximum.reduceat(span_scores, runs)
        return scores
