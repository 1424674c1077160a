"""What one document's commit costs in Chroma as documents accumulate: `python -m ingest.bench_commits [--documents N]`.

Each commit writes what ingest.records.commit_documents writes to the internal collection for one document (a
write marker, the saved streaming state of ~0.3 MB in an entry's metadata, the record, then the marker deleted),
into a fresh embedded DB: once into the internal collection as ingest.store configures it, once into one with
Chroma's default settings. Prints milliseconds per commit by how many documents were already stored. Timings on a
shared CPU are noisy: run it on an idle machine to quote them.
"""
from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import time

STATE_BYTES = 230_000      # a saved streaming state of the shipped model (~0.3 MB once base64-encoded)
ROWS = 6                   # rows of the table: the documents split into this many runs


def commit_times(collection, documents: int) -> list[float]:
    """Seconds per commit of `documents` commits, in order."""
    state = base64.b64encode(os.urandom(STATE_BYTES)).decode("ascii")
    seconds = []
    for doc in range(documents):
        started = time.perf_counter()
        collection.upsert(ids=[f"marker:{doc}"], embeddings=[[1.0]], documents=["{}"], metadatas=[{"kind": "pending"}])
        collection.upsert(ids=[f"state:{doc}"], embeddings=[[1.0]], documents=["{}"],
                          metadatas=[{"kind": "state", "state": state}])
        collection.upsert(ids=[f"record:{doc}"], embeddings=[[1.0]], documents=["{}"], metadatas=[{"kind": "record"}])
        collection.delete(ids=[f"marker:{doc}"])
        seconds.append(time.perf_counter() - started)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.bench_commits", description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300, help="commits to time (default 300)")
    args = parser.parse_args(argv)
    if args.documents < ROWS:
        parser.error(f"--documents must be at least {ROWS}")

    from ingest.store import Store

    columns = {}
    with tempfile.TemporaryDirectory() as db:
        store = Store.open(db=db)
        columns["ours (sync every 10 writes)"] = commit_times(store.internal, args.documents)
        default = store.client.get_or_create_collection("chroma-default", embedding_function=None)
        columns["Chroma's default (every 1,000)"] = commit_times(default, args.documents)
    step = args.documents // ROWS
    print(f"{'documents stored':>16}" + "".join(f" {name:>31}" for name in columns))
    for start in range(0, step * ROWS, step):
        cells = [1000 * sum(times[start:start + step]) / step for times in columns.values()]
        print(f"{f'{start}-{start + step - 1}':>16}" + "".join(f" {ms:28.1f} ms" for ms in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
