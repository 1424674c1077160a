"""Ingestion throughput, end to end and parse-only: `python -m ingest.bench [--docs NAME ...] [--parse-only]`.

Prints a table of pages/s and tokens/s per document (parse+chunk only, then discover->parse->encode->Chroma
into a fresh temporary embedded DB). Timings on a shared CPU are noisy: run it on an idle machine to quote them.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time

DEFAULT_DOCS = ("gnuplot.pdf", "fullrefman.pdf")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--docs", nargs="+", default=list(DEFAULT_DOCS), help="names known to examples/fetch_docs.py")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=None, help="parser processes (default: CPU count)")
    parser.add_argument("--parse-only", action="store_true", help="skip the end-to-end run")
    args = parser.parse_args(argv)

    from ingest.encode import Encoder
    from ingest.example_docs import fetch_docs
    from ingest.pipeline import IngestOptions, ingest_paths, prepare_document
    from ingest.store import Store

    rows = []
    encoder = None if args.parse_only else Encoder(args.device)
    for name in args.docs:
        path = fetch_docs().fetch(name)
        started = time.perf_counter()
        prepared = prepare_document(path, 256, 32, parse_workers=args.workers)
        seconds = time.perf_counter() - started
        pages, tokens = len(prepared.doc.pages), len(prepared.tokens)
        rows.append((name, "parse+chunk", pages, tokens, seconds))
        if encoder is not None:
            with tempfile.TemporaryDirectory() as db:
                options = IngestOptions(device=args.device, parse_workers=args.workers)
                summary = ingest_paths([str(path)], Store.open(db=db), options=options, encoder=encoder)
                rows.append((name, f"end to end ({encoder.device})", summary.pages, summary.tokens, summary.seconds))
    print(f"{'document':16} {'stage':22} {'pages':>6} {'tokens':>9} {'seconds':>8} {'pages/s':>8} {'tokens/s':>9}")
    for name, stage, pages, tokens, seconds in rows:
        print(f"{name:16} {stage:22} {pages:6d} {tokens:9d} {seconds:8.1f} {pages / seconds:8.1f} {tokens / seconds:9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
