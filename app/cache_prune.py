"""Pruning a DB's answer-side cache (<db>/.qa-cache): what no collection of the DB reads any more.

The per-document arrays (app.document_cache) of a document that was replaced or deleted stay behind, as do the
lexical index of a deleted collection, leftovers of interrupted writes and files of older cache formats; on a DB
that is re-ingested often they add up. A file is kept when its name is one some collection reads, in whatever
directory (model or encoder) it lies: arrays of a live document computed by another model or encoder stay, since
another engine configuration may read them. Only an embedded DB's own cache is pruned: a server's lives in a
per-user directory that other DBs may share.
"""
from __future__ import annotations

from pathlib import Path

from app.document_cache import documents_in_reading_order, texts_hash
from app.retrieval import cache_key, default_cache_dir, load_lexical_index


def owns_its_cache(store) -> bool:
    """Whether `store`'s cache directory belongs to it alone (an embedded DB's <db>/.qa-cache)."""
    location = str(getattr(store, "location", "") or "")
    return bool(location) and default_cache_dir(store) == Path(location) / ".qa-cache"


def files_in_use(store, cache_dir: Path) -> set[str]:
    """Names of the cache files some collection of `store` reads: each collection's lexical index, and the arrays
    of each of its documents (named by the hash of the document's chunk texts)."""
    names = set()
    for collection in store.collections():
        table, _, _ = load_lexical_index(store, collection, cache_dir)
        names.add(f"{cache_key(str(store.location), collection)}.lexical.pkl")
        names.update(f"{texts_hash([table.texts[r] for r in rows])}.npz" for rows in documents_in_reading_order(table))
    return names


def prune_cache(store, cache_dir: Path) -> tuple[int, int]:
    """Delete every file under `cache_dir` that no collection of `store` reads, then empty directories.
    -> (files removed, bytes freed)."""
    keep = files_in_use(store, cache_dir)
    removed = freed = 0
    for path in sorted(Path(cache_dir).rglob("*")):
        if path.is_file() and path.name not in keep:
            freed += path.stat().st_size
            path.unlink()
            removed += 1
    for directory in sorted((p for p in Path(cache_dir).rglob("*") if p.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()
    return removed, freed
