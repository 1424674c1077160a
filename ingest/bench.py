"""Ingestion throughput, end to end and parse-only: `python -m ingest.bench [--docs NAME ...] [--dirs DIR ...]`.

Prints a table of pages/s and tokens/s per document (parse+chunk only, then discover->parse->encode->Chroma
into a fresh temporary embedded DB), and per directory given (every file in it ingested as one batch into a fresh
DB, as an operator's `nonattn-qa ingest DIR` does). Timings on a shared CPU are noisy: run it on an idle machine to
quote them.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DOCS = ("gnuplot.pdf", "fullrefman.pdf")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--docs", nargs="+", default=None,
                        help="names known to examples/fetch_docs.py (default: gnuplot.pdf fullrefman.pdf; none when "
                             "--dirs is given)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=None, help="parser processes (default: CPU count)")
    parser.add_argument("--parse-only", action="store_true", help="skip the end-to-end run")
    parser.add_argument("--dirs", nargs="+", default=[], metavar="DIR",
                        help="directories each ingested as one batch, end to end (e.g. thousands of small files)")
    args = parser.parse_args(argv)

    from ingest.encode import Encoder
    from ingest.example_docs import fetch_docs
    from ingest.pipeline import IngestOptions, ingest_paths, prepare_document
    from ingest.store import Store

    rows = []
    encoder = None if args.parse_only else Encoder(args.device)

    def end_to_end(name: str, paths: list[str]) -> None:
        with tempfile.TemporaryDirectory() as db:
            options = IngestOptions(device=args.device, parse_workers=args.workers)
            summary = ingest_paths(paths, Store.open(db=db), options=options, encoder=encoder)
            if summary.failed:
                print(f"{name}: {len(summary.failed)} file(s) failed, left out of the row", file=sys.stderr)
            files = f" ({len(summary.ingested)} files)" if len(summary.ingested) > 1 else ""
            rows.append((name + files, f"end to end ({encoder.device})", summary.pages, summary.tokens,
                         summary.seconds))

    for name in args.docs if args.docs is not None else [] if args.dirs else DEFAULT_DOCS:
        path = fetch_docs().fetch(name)
        started = time.perf_counter()
        prepared = prepare_document(path, 256, 32, parse_workers=args.workers)
        seconds = time.perf_counter() - started
        pages, tokens = len(prepared.doc.pages), len(prepared.tokens)
        rows.append((name, "parse+chunk", pages, tokens, seconds))
        if encoder is not None:
            end_to_end(name, [str(path)])
    for directory in args.dirs if encoder is not None else []:
        end_to_end(f"{Path(directory).name}/", [directory])
    width = max([16] + [len(name) for name, *_ in rows])
    print(f"{'document':{width}} {'stage':22} {'pages':>6} {'tokens':>9} {'seconds':>8} {'pages/s':>8} {'tokens/s':>9}")
    for name, stage, pages, tokens, seconds in rows:
        print(f"{name:{width}} {stage:22} {pages:6d} {tokens:9d} {seconds:8.1f} {pages / seconds:8.1f} "
              f"{tokens / seconds:9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
