"""Arrays computed from one document's chunk texts (our span memory, an encoder's chunk vectors), cached per
document.

Each document is one .npz named by the hash of its chunk texts, in a directory named for what computed them (a
model fingerprint, an encoder's name), so another model's arrays are never read and a collection that gains or
loses a document computes only what is new.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import zipfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np

Arrays = dict[str, np.ndarray]


class CacheWriteError(OSError):
    """A cache file could not be written where writing it was the point (`prepare`)."""


def save_atomically(path: Path, write: Callable[[BinaryIO], None], required: bool = False) -> None:
    """write(an open temporary file), then rename it to `path`, so no reader sees half a file.

    A failure (a DB only readable to this user, a full disk) removes the temporary file and is skipped, so that
    `ask` works without a cache; when the file is `required` it is a CacheWriteError naming the file and why.
    """
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            write(f)
        tmp.replace(path)
    except OSError as error:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if required:
            raise CacheWriteError(f"cannot write the cache file {path} ({error.strerror or error})") from None


class DocumentCache:
    """One .npz per document in `directory`, keyed by the hash of the document's chunk texts; `required`: a file
    that cannot be written is a CacheWriteError (see save_atomically)."""

    def __init__(self, directory: Path, required: bool = False):
        self.directory = Path(directory)
        self.required = required

    def arrays(self, chunk_texts: list[str], compute: Callable[[list[str]], Arrays]) -> Arrays:
        """compute(chunk_texts), from the cache when this document was computed before, else computed and saved."""
        path = self.directory / f"{texts_hash(chunk_texts)}.npz"
        if path.is_file():
            try:
                with np.load(path) as saved:
                    return {name: saved[name] for name in saved.files}
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # a corrupt cache file is
                pass                                                                # recomputed, never fatal
        arrays = compute(chunk_texts)
        save_atomically(path, lambda f: np.savez(f, **arrays), self.required)
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
