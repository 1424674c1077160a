"""`python -m app.demo`: fetch an example manual, ingest it into the embedded default database, open the UI.

    python -m app.demo                 # R-intro.pdf (An Introduction to R, 113 pages) -> UI in the browser
    python -m app.demo --no-browser    # the same, without opening a browser (prints the URL)
    python -m app.demo --check         # ingest, ask one question, print the answer with its page, exit
    python -m app.demo --file my.pdf   # your own document instead of the example

Ingesting is skipped when the document is already in the collection (same bytes).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLE_DOCUMENT = "R-intro.pdf"
EXAMPLE_QUESTION = "How do you quit the R program?"


def fetch_example(name: str = EXAMPLE_DOCUMENT) -> Path:
    """The example document, fetched on first use by examples/fetch_docs.py (a Debian package, cached)."""
    from ingest.example_docs import fetch_docs

    module = fetch_docs()
    try:
        return module.fetch(name)
    except (module.FetchError, OSError) as error:
        raise SystemExit(f"error: cannot fetch the example document ({error}); give --file PATH instead") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", metavar="DIR", help="embedded Chroma directory (default: the per-user one)")
    parser.add_argument("--collection", default="default", help="collection (default: %(default)s)")
    parser.add_argument("--file", metavar="PATH", help=f"ingest this document instead of {EXAMPLE_DOCUMENT}")
    parser.add_argument("--question", default=EXAMPLE_QUESTION, help="the question --check asks")
    parser.add_argument("--check", action="store_true", help="ingest, ask the question, print the answer, exit")
    parser.add_argument("--no-browser", action="store_true", help="serve without opening a browser")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=7860, help="port (default: %(default)s)")
    return parser


def ingest(path: Path, store, collection: str) -> bool:
    """Ingest with a one-line progress display; False when the file failed."""
    from ingest.pipeline import ingest_paths

    def show(event) -> None:
        print(f"\r  read {event.files_done}/{event.files_total} file(s), {event.pages} pages, {event.tokens} "
              f"tokens, {event.seconds:.0f} s", end="", flush=True)

    print(f"Ingesting {path} into collection '{collection}' (the model reads the whole document once)")
    summary = ingest_paths([str(path)], store, collection=collection, progress=show)
    print()
    if summary.skipped and not summary.ingested and not summary.failed:
        print(f"  already in the collection ({summary.skipped[0]['reason']}): nothing to read")
    else:
        print(f"  {summary.text()}")
    for entry in summary.failed:
        print(f"error: {entry['source']}: {entry['error']}", file=sys.stderr)
    return not summary.failed


def check(store, collection: str, question: str) -> int:
    """Ask one question and print the answer with its citation; 0 when answered, 1 when not."""
    from app.engine import QAEngine

    result = QAEngine(store, collection).ask(question)
    print(f"Q: {question}")
    if result.answer is None:
        print("A: (no answer found)")
        return 1
    print(f"A: {result.answer}")
    for citation in result.citations:
        page, label = citation.get("page"), citation.get("page_label") or citation.get("page")
        physical = f" (page {page} of the file)" if str(label) != str(page) else ""
        print(f"   [{Path(citation.get('source') or '').name}, p. {label}{physical}]")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ingest.errors import StoreError
    from ingest.store import Store

    path = Path(args.file) if args.file else fetch_example()
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 1
    try:
        store = Store.open(db=args.db)
        if not ingest(path, store, args.collection):
            return 1
        if args.check:
            return check(store, args.collection, args.question)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    from app.ui import build_app, default_upload_dir, launch, prepare_collection

    app = build_app(store, upload_dir=default_upload_dir(store.location), default_collection=args.collection)
    prepare_collection(app, args.collection)
    print(f"Try asking: {args.question}")
    try:
        launch(app, host=args.host, port=args.port, inbrowser=not args.no_browser)
    except OSError as error:
        print(f"error: cannot serve on {args.host}:{args.port} ({' '.join(str(error).split())})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
