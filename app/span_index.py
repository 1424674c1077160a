"""Our model's memory at span resolution over a collection: each document read whole by the model
(`NonAttnLM.encode_spans`), and each chunk ranked by its best span.

A chunk embedding averages 256 tokens, and a question usually asks about one sentence of them. Spans of 64 tokens
every 16 score that sentence's neighbourhood instead. The index is built from the stored chunk texts: each
chunk's text is tokenized on its own and the document's chunks are read in order, so every span belongs to the
chunk it starts in. Each document's spans are cached on disk (app.document_cache) under the model's fingerprint and
the hash of the document's chunk texts, so a collection that gains or loses a document reads only what is new.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from app.document_cache import DocumentCache, cached_or_computed, documents_in_reading_order

SPAN_TOKENS = 64
SPAN_STRIDE = 16


def document_spans(chunk_texts: list[str], model, tokenizer) -> dict[str, np.ndarray]:
    """One document's chunks, in reading order, read whole: "spans", the span embeddings (n, E) float16, and
    "owners", per span the position in `chunk_texts` of the chunk it starts in."""
    tokens, token_owner = [], []
    for position, text in enumerate(chunk_texts):
        chunk_tokens = tokenizer.encode(text)
        tokens += chunk_tokens
        token_owner += [position] * len(chunk_tokens)
    if not tokens:
        return {"spans": np.zeros((0, model.config.embed_dim), np.float16), "owners": np.zeros(0, np.int32)}
    spans = model.encode_spans(tokens, SPAN_TOKENS, SPAN_STRIDE).numpy().astype(np.float16)
    return {"spans": spans, "owners": np.asarray(token_owner[::SPAN_STRIDE], dtype=np.int32)}


class SpanIndex:
    """Span embeddings (n, E) and, per span, the chunk-table row of the chunk it starts in; a chunk scores as its best
    span. Our model's span memory, and a sentence encoder's windows of sentences (app.retrieval). Cached as float16
    by the span memory, kept in memory as float32 (numpy multiplies float16 without BLAS, ~10x slower)."""

    def __init__(self, spans: np.ndarray, owners: np.ndarray, n_rows: int):
        self.spans, self.owners, self.n_rows = spans.astype(np.float32), owners, n_rows
        self._runs = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]) if len(owners) else np.zeros(0, np.int64)
        self._run_ends = np.append(self._runs[1:], len(owners))   # a chunk's spans are adjacent: one run per row
        self._run_of_row = np.full(n_rows, -1, dtype=np.int64)
        self._run_of_row[owners[self._runs]] = np.arange(len(self._runs))

    @classmethod
    def build(cls, table, model, tokenizer, cache: DocumentCache | None = None,
              progress: Callable[[int, int], None] | None = None) -> "SpanIndex":
        """Every document of a retrieval.ChunkTable, chunks in chunk_index order: read by the model, or taken from
        `cache` (the model's directory) where the document was read before."""
        return cls.from_documents(table, lambda texts: document_spans(texts, model, tokenizer), model.config.embed_dim,
                                  cache, progress)

    @classmethod
    def from_documents(cls, table, compute, dim: int, cache: DocumentCache | None = None,
                       progress: Callable[[int, int], None] | None = None) -> "SpanIndex":
        """Every document of a retrieval.ChunkTable: compute(its chunk texts in reading order) -> {"spans": (n, dim),
        "owners": (n,) positions in those texts}, or the arrays saved in `cache` for the same texts.
        `progress(documents done, documents in all)` after each document."""
        spans, owners = [np.zeros((0, dim), np.float32)], [np.zeros(0, np.int32)]
        documents = len(table.doc_rows)
        for done, rows in enumerate(documents_in_reading_order(table), start=1):
            document = cached_or_computed(cache, [table.texts[r] for r in rows], compute)
            spans.append(document["spans"])
            owners.append(rows[document["owners"]].astype(np.int32))
            if progress is not None:
                progress(done, documents)
        return cls(np.concatenate(spans), np.concatenate(owners), len(table))

    def chunk_scores(self, query: np.ndarray) -> np.ndarray:
        """Each chunk-table row's best span cosine to the (normalised) query embedding; -inf for rows without spans."""
        scores = np.full(self.n_rows, -np.inf, dtype=np.float32)
        if len(self.owners):
            span_scores = _products(self.spans, query)
            scores[self.owners[self._runs]] = np.maximum.reduceat(span_scores, self._runs)
        return scores

    def scores_of(self, query: np.ndarray, rows: list[int]) -> np.ndarray:
        """chunk_scores of these rows only (-inf for a row without spans), reading only their spans: a rerank of 30
        candidates need not score a whole collection's spans."""
        scores = np.full(len(rows), -np.inf, dtype=np.float32)
        runs = self._run_of_row[np.asarray(rows, dtype=np.int64)] if len(rows) else np.zeros(0, np.int64)
        have = np.flatnonzero(runs >= 0)
        if len(have):
            starts, ends = self._runs[runs[have]], self._run_ends[runs[have]]
            picked = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)])
            offsets = np.r_[0, np.cumsum(ends - starts)[:-1]]
            scores[have] = np.maximum.reduceat(_products(self.spans[picked], query), offsets)
        return scores


def _products(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """vectors @ query, computed by torch: numpy's OpenBLAS threads spin for a while after each product, and on
    two cores they took both from our model's torch threads, which encode the question next (bench corpus: the
    span memory's question 6 ms alone, 12-105 ms right after these products in numpy)."""
    return (torch.from_numpy(vectors) @ torch.from_numpy(query.astype(np.float32))).numpy()
