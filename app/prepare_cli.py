"""`nonattn-qa prepare`: compute what the engine reads besides Chroma, ahead of the first question.

    nonattn-qa prepare [--collection NAME] [--db DIR] [--device auto|cpu|cuda] [--fallback LISTS] [--prune]

The engine ranks with a BM25 index, our model's span memory and the chunk vectors of its fallback's sentence
encoder (MiniLM by default; --fallback as for `ask`). They are cached next to the DB (per collection version for
BM25, per document for the others) and computed on the first open otherwise: on a CPU that is minutes for a
collection of millions of tokens. Run this where the documents were ingested (on the GPU of a batch ingest) and
the app opens the collection in about a second.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from app.ask_cli import add_fallback_argument, chosen_fallback
from ingest.cli import add_store_arguments


def add_prepare_parser(subparsers):
    parser = subparsers.add_parser("prepare", help="compute the engine's indexes and caches for a collection now",
                                   description="Compute the BM25 index, our model's span memory and the "
                                   "fallback's chunk vectors for every document of a collection (cached next to "
                                   "the DB), so that the first question does not wait for them. Documents "
                                   "computed before are read from the cache.")
    add_store_arguments(parser)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where the models run (default: the GPU when there is one)")
    parser.add_argument("--checkpoint", metavar="DIR", help="model checkpoint (default: the shipped one)")
    add_fallback_argument(parser)
    parser.add_argument("--prune", action="store_true",
                        help="then delete the cache files no collection of this DB reads any more (arrays of "
                        "documents replaced or deleted, deleted collections' indexes, interrupted writes); "
                        "embedded DBs only")
    parser.set_defaults(handler=run_prepare)
    return parser


def run_prepare(args) -> int:
    from app.ask_cli import UserError, user_errors
    from app.document_cache import CacheWriteError
    from app.index_progress import index_progress_bar
    from app.retrieval import HybridRetriever, RetrievalConfig, default_cache_dir
    from app.sentence_scorer import load_encoder
    from ingest.encode import resolve_device
    from ingest.store import Store
    from nonattn_core import NonAttnLM, Tokenizer, checkpoint_directory

    with user_errors():                                          # a CheckpointError is one line too
        checkpoint_directory(args.checkpoint)                    # a mistyped --checkpoint before anything is opened
        store = Store.open(db=args.db, host=args.chroma_host, port=args.chroma_port, create=False)
        store.collection(args.collection)                        # one line and exit 2 when it does not exist
        if args.prune:
            refuse_shared_cache(store)                           # before minutes of work, not after
        check_cache_writable(default_cache_dir(store))
        try:
            device = resolve_device(args.device)
        except ValueError as error:
            raise UserError(str(error)) from None
        documents = len(store.documents(args.collection))
        print(f"preparing collection {args.collection!r} ({documents} documents) on {device}", file=sys.stderr)
        started = time.perf_counter()
        config = RetrievalConfig(fallback=chosen_fallback(args))
        try:
            with index_progress_bar() as progress:
                retriever = HybridRetriever(store, args.collection, config,
                                            model=NonAttnLM.from_pretrained(args.checkpoint, device=device),
                                            tokenizer=Tokenizer(), cache_dir=default_cache_dir(store),
                                            encoders={name: load_encoder(name, device)
                                                      for name in config.encoder_indexes()},
                                            cache_required=True, progress=progress)
        except CacheWriteError as error:                         # a disk filling up mid-run, a cache dir unwritable
            raise UserError(str(error)) from None
        print(f"prepared {len(retriever.table)} chunks of {documents} documents in "
              f"{time.perf_counter() - started:.1f} s; cache: {retriever.cache_dir}")
        if args.prune:
            from app.cache_prune import prune_cache
            removed, freed = prune_cache(store, retriever.cache_dir)
            print(f"pruned {removed} cache files no collection reads ({freed / 1e6:.1f} MB)")
    return 0


def check_cache_writable(cache_dir: Path) -> None:
    """UserError unless a file can be written in cache_dir.

    The engine skips a failed cache write on purpose (so that `ask` works from a DB it may only read); prepare
    requires each write, and this check finds an unwritable cache before minutes of work rather than after.
    """
    from app.ask_cli import UserError, unwritable_directory

    problem = unwritable_directory(cache_dir)
    if problem:
        raise UserError(f"cannot write the cache: {cache_dir} {problem}")


def refuse_shared_cache(store) -> None:
    from app.ask_cli import UserError
    from app.cache_prune import owns_its_cache
    from app.retrieval import default_cache_dir

    if not owns_its_cache(store):
        raise UserError(f"--prune works on an embedded DB's own cache; {default_cache_dir(store)} may be shared "
                        "with other DBs")
