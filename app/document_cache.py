"""Arrays computed from one document's chunk texts (our span memory, an encoder's chunk vectors), cached per
document.

Each document is one .npz named by the hash of its chunk texts, in a directory named for what computed them (a
model fingerprint, an encoder's name), so another model's arrays are never read and a collection that gains or
loses a document computes only what is new.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

Arrays = dict[str, np.ndarray]


class DocumentCache:
    """One .npz per document in `directory`, keyed by the hash of the document's chunk texts."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def arrays(self, chunk_texts: list[str], compute: Callable[[list[str]], Arrays]) -> Arrays:
        """compute(chunk_texts), from the cache when this document was computed before, else computed and saved."""
        path = self.directory / f"{texts_hash(chunk_texts)}.npz"
        if path.is_file():
            try:
                with np.load(path) as saved:
                    return {name: saved[name] for name in saved.files}
            except (OSError, ValueError, KeyError):             # a corrupt cache file is recomputed, never fatal
                pass
        arrays = compute(chunk_texts)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.tmp.npz")
            np.savez(tmp, **arrays)
            tmp.replace(path)
        except OSError:
            pass                                                 # read-only location: work without a cache
        return arrays


def cached_or_computed(cache: DocumentCache | None, chunk_texts: list[str],
                       compute: Callable[[list[str]], Arrays]) -> Arrays:
    """compute(chunk_texts) through `cache`, or directly without one."""
    return cache.arrays(chunk_texts, compute) if cache is not None else compute(chunk_texts)


def documents_in_reading_order(table) -> Iterator[np.ndarray]:
    """The chunk-table rows of each document of a retrieval.ChunkTable, sorted by chunk_index (as `doc_rows` holds
    them)."""
    for rows in table.doc_rows.values():
        yield np.asarray(rows, dtype=np.int64)


def texts_hash(texts: list[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()[:32]
