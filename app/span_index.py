"""Our model's memory at span resolution over a collection: each document read whole by the model
(`NonAttnLM.encode_spans`), and each chunk ranked by its best span.

A chunk embedding averages 256 tokens, and a question usually asks about one sentence of them. Spans of 64 tokens
every 16 score that sentence's neighbourhood instead. The index is built on first use from the stored chunk
texts: each chunk's text is tokenized on its own and the document's chunks are read in order, so every span
belongs to the chunk it starts in. It is cached next to the BM25 index, per collection version.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SPAN_TOKENS = 64
SPAN_STRIDE = 16


class SpanIndex:
    """Span embeddings (n, E) and, per span, the chunk-table row of the chunk it starts in. Saved as float16, kept
    in memory as float32 (numpy multiplies float16 without BLAS, ~10x slower)."""

    def __init__(self, spans: np.ndarray, owners: np.ndarray, n_rows: int):
        self.spans, self.owners, self.n_rows = spans.astype(np.float32), owners, n_rows

    @classmethod
    def build(cls, table, model, tokenizer) -> "SpanIndex":
        """Read every document of a retrieval.ChunkTable with the model, chunks in chunk_index order."""
        spans, owners = [], []
        for rows in table.doc_rows.values():
            rows = sorted(rows, key=lambda r: int(table.metadatas[r].get("chunk_index", 0)))
            tokens, token_owner = [], []
            for row in rows:
                chunk_tokens = tokenizer.encode(table.texts[row])
                tokens += chunk_tokens
                token_owner += [row] * len(chunk_tokens)
            if not tokens:
                continue
            spans.append(model.encode_spans(tokens, SPAN_TOKENS, SPAN_STRIDE).numpy().astype(np.float16))
            owners.append(np.asarray(token_owner[::SPAN_STRIDE], dtype=np.int32))
        if not spans:
            return cls(np.zeros((0, model.config.embed_dim), np.float16), np.zeros(0, np.int32), len(table))
        return cls(np.concatenate(spans), np.concatenate(owners), len(table))

    @classmethod
    def load_or_build(cls, path: Path | None, table, model, tokenizer) -> "SpanIndex":
        """From `path` (an .npz) when it is there and fits the table, else built (and saved there)."""
        if path is not None and path.is_file():
            try:
                saved = np.load(path)
                if int(saved["n_rows"]) == len(table):
                    return cls(saved["spans"], saved["owners"], len(table))
            except (OSError, ValueError, KeyError):             # a corrupt cache file is rebuilt, never fatal
                pass
        index = cls.build(table, model, tokenizer)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{path.stem}.tmp.npz")
                np.savez(tmp, spans=index.spans.astype(np.float16), owners=index.owners, n_rows=index.n_rows)
                tmp.replace(path)
            except OSError:
                pass                                             # read-only location: work without a cache
        return index

    def chunk_scores(self, query: np.ndarray) -> np.ndarray:
        """Each chunk-table row's best span cosine to the (normalised) query embedding; -inf for rows without spans."""
        scores = np.full(self.n_rows, -np.inf, dtype=np.float32)
        if len(self.owners):
            span_scores = self.spans @ query.astype(np.float32)
            runs = np.flatnonzero(np.r_[True, self.owners[1:] != self.owners[:-1]])   # a chunk's spans are adjacent
            scores[self.owners[runs]] = np.maximum.reduceat(span_scores, runs)
        return scores
