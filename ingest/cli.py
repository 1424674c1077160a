"""`nonattn-qa ingest` and `nonattn-qa docs list|delete` (also `python -m ingest ...`, `torchrun -m ingest ...`).

Exit codes: 0 all fine, 1 some files failed (the others were ingested), 2 usage error (bad arguments, a bad
--checkpoint, a --db that is a file (or, for docs, holds no database), an unreachable server, a missing collection).
A database is created only by an ingest with a file to write; commands that only read or remove never create one.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys

from ingest.errors import IngestError, NoDatabaseError, StoreError
from ingest.store import DEFAULT_COLLECTION, DocumentRecord

PASSWORD_ENV = "NONATTN_QA_PDF_PASSWORD"

USAGE_ERROR = 2


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """--db / --chroma-host / --chroma-port / --collection, shared by every command that opens the store."""
    parser.add_argument("--db", metavar="DIR", help="embedded Chroma directory (default: $NONATTN_QA_DB or "
                        "~/.local/share/nonattn-qa/chroma)")
    parser.add_argument("--chroma-host", metavar="HOST", help="use the Chroma server on HOST instead")
    parser.add_argument("--chroma-port", metavar="PORT", type=int, help="Chroma server port (default 8000)")
    parser.add_argument("--collection", "-c", default=DEFAULT_COLLECTION, help="collection (default: %(default)s)")


def add_ingest_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("ingest", help="read documents with the model into Chroma",
                                   description="Ingest PDF, EPUB, TXT, Markdown and HTML files, directories "
                                   "(recursively) and glob patterns; unchanged files are skipped, unless another "
                                   "model version encoded them: those are re-encoded with this one.")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files, directories or glob patterns")
    add_store_arguments(parser)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--checkpoint", metavar="DIR", help="model checkpoint (default: the shipped one)")
    parser.add_argument("--append", metavar="DOC_ID", help="continue document DOC_ID (or a unique prefix) "
                        "with the text of the one PATH given, from its saved state (the document must have been "
                        "encoded by this model version)")
    parser.add_argument("--sync", action="store_true", help="also remove documents whose files are gone")
    parser.add_argument("--workers", type=int, metavar="N", help="parser processes (default: CPU count)")
    parser.add_argument("--password", default=os.environ.get(PASSWORD_ENV),
                        help=f"password for encrypted PDFs (default: ${PASSWORD_ENV}, which keeps it out of the "
                        "process list and the shell's history)")
    parser.add_argument("--no-recursive", dest="recursive", action="store_false",
                        help="do not descend into subdirectories")
    parser.add_argument("--json", action="store_true", help="print only the JSON summary on stdout")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_ingest)
    return parser


def add_docs_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("docs", help="list or delete ingested documents")
    actions = parser.add_subparsers(dest="docs_action", required=True, metavar="{list,delete}")
    listing = actions.add_parser("list", help="show the documents of a collection")
    add_store_arguments(listing)
    listing.add_argument("--json", action="store_true", help="print the list as JSON")
    listing.set_defaults(handler=run_docs_list)
    delete = actions.add_parser("delete", help="remove documents (by doc_id, a unique prefix, or source path)")
    add_store_arguments(delete)
    delete.add_argument("documents", nargs="+", metavar="DOC_ID_OR_PATH")
    delete.set_defaults(handler=run_docs_delete)
    return parser


def _open_store(args, create: bool = True):
    """The --db / --chroma-host store; create=False for commands that must find a database there already."""
    from ingest.store import Store

    return Store.open(db=args.db, host=args.chroma_host, port=args.chroma_port, create=create)


def run_ingest(args) -> int:
    from ingest.parse import discover_files
    from ingest.pipeline import IngestOptions
    from nonattn_core.model import CheckpointError

    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    problem = _ingest_argument_problem(args, world)
    if problem:
        return _usage(problem)
    try:
        device = _checked_setup(args, world)
    except (StoreError, CheckpointError, ValueError) as error:
        return _usage(str(error))
    discovered = None if args.append else discover_files(args.paths, recursive=args.recursive)
    if discovered is not None and not discovered.files and not args.sync:
        return _report_nothing_to_ingest(discovered, args, rank)
    try:  # a database is created only when there is a file to write into it
        store = _open_store(args, create=discovered is not None and bool(discovered.files))
    except StoreError as error:
        return _usage(str(error))
    options = IngestOptions(device=device, checkpoint=args.checkpoint, parse_workers=args.workers, sync=args.sync,
                            password=args.password, recursive=args.recursive, rank=rank, world_size=world,
                            recover=rank == 0)
    if args.append:
        return _append(store, args, options)
    return _ingest_discovered(store, discovered, args, options, rank, world)


def _ingest_argument_problem(args, world: int) -> str | None:
    """What is wrong with the arguments alone (nothing opened yet), or None."""
    if not args.paths and not args.sync:
        return "ingest: give at least one PATH (or --sync)"
    if args.append and len(args.paths) != 1:
        return "ingest --append DOC_ID takes exactly one PATH"
    if args.append and args.sync:
        return "ingest --append and --sync do not go together: --sync looks at whole directories"
    if args.workers is not None and args.workers < 1:  # 0 would mean "CPU count" deep down: say so instead
        return "--workers must be at least 1"
    if world > 1 and not args.chroma_host:
        return "a sharded run (torchrun) needs a Chroma server: give --chroma-host/--chroma-port"
    return None


def _checked_setup(args, world: int) -> str:
    """The device to encode on, after checking the collection name and the checkpoint: a mistyped one must fail
    before a database is created, not after the files were parsed. StoreError, CheckpointError or ValueError."""
    from ingest.encode import resolve_device
    from ingest.store import check_collection_name
    from nonattn_core.model import checkpoint_directory

    check_collection_name(args.collection)
    checkpoint_directory(args.checkpoint)
    device = resolve_device(args.device)
    if world > 1 and device == "cuda":
        import torch

        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local_rank)  # Triton launches and CUDA graphs go to the current device
        device = f"cuda:{local_rank}"
    return device


def _report_nothing_to_ingest(discovered, args, rank: int) -> int:
    """Every path failed or held no document: say so as a run would, without creating a database (a --db that is
    a file or an unreachable server is still the usage error it would have been)."""
    from ingest.pipeline import discovery_summary

    try:
        _open_store(args, create=False)
    except NoDatabaseError:
        pass                                                     # nothing to write: none is created
    except StoreError as error:
        return _usage(str(error))
    summary = discovery_summary(discovered)
    if rank == 0:  # every rank of a sharded run saw the same paths: report once
        _report(summary, args)
    return summary.exit_code


def _append(store, args, options) -> int:
    from ingest.pipeline import IngestSummary, append_document

    try:
        entry = append_document(store, args.collection, args.append, args.paths[0], options)
    except (IngestError, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    _print_summary(IngestSummary(ingested=[entry]), args)
    return 0


def _ingest_discovered(store, discovered, args, options, rank: int, world: int) -> int:
    from ingest.pipeline import ingest_paths

    group = _init_distributed(world)
    if group is not None and rank == 0:
        from ingest import records

        records.recover(store, args.collection)
    _barrier(group)
    with _progress_bar(args) as progress:
        summary = ingest_paths(args.paths, store, args.collection, options, progress=progress, discovered=discovered)
    summary = _gather(summary, group, rank)
    if summary is None:  # ranks other than 0 leave the summary to rank 0
        return 0
    _report(summary, args)
    return summary.exit_code


def run_docs_list(args) -> int:
    try:
        records = _open_store(args, create=False).documents(args.collection)
    except StoreError as error:
        return _usage(str(error))
    if args.json:
        print(json.dumps([record.__dict__ for record in records], indent=2))
        return 0
    if not records:
        print(f"no documents in collection '{args.collection}'")
        return 0
    print(f"{'DOC_ID':14} {'PAGES':>6} {'CHUNKS':>7} {'TOKENS':>9}  {'INGESTED':20}  {'MODEL':8}  SOURCE")
    for record in records:
        print(f"{record.doc_id[:12]:14} {record.pages:6d} {record.chunks:7d} {record.tokens:9d}  "
              f"{record.ingested_at:20}  {record.model[:8] or '-':8}  {_one_line(record.source)}")
    return 0


def run_docs_delete(args) -> int:
    if any(not wanted.strip() for wanted in args.documents):  # "" is a prefix of every doc_id
        return _usage("empty document id")
    try:
        store = _open_store(args, create=False)
        records = store.documents(args.collection)
    except StoreError as error:
        return _usage(str(error))
    status, deleted = 0, set()
    for wanted in args.documents:
        matches = _match_documents(records, wanted)
        if len(matches) != 1:
            why = "no document" if not matches else f"{len(matches)} documents match"
            print(f"error: {wanted}: {why} in collection '{args.collection}'", file=sys.stderr)
            status = 1
            continue
        if matches[0].doc_id in deleted:    # named twice ('abc12 abc12345...'): deleted once, said once
            continue
        deleted.add(matches[0].doc_id)
        removed = store.delete_document(args.collection, matches[0].doc_id)
        print(f"deleted {matches[0].doc_id[:12]} {_one_line(matches[0].source)} "
              f"({removed} chunk{'' if removed == 1 else 's'})")
    return status


def _match_documents(records: list[DocumentRecord], wanted: str) -> list[DocumentRecord]:
    path = os.path.abspath(wanted)
    by_source = [record for record in records if record.source == path]
    return by_source or [record for record in records if record.doc_id.startswith(wanted)]


def _one_line(text: str) -> str:
    """A file name as one line of a table or an error: control characters escaped ('new\\nline.txt')."""
    return _CONTROL_CHARACTER.sub(lambda found: repr(found.group())[1:-1], text)


_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def _report(summary, args) -> None:
    """One "error: SOURCE: REASON" line per failed path on stderr, then the summary."""
    for failure in summary.failed:
        print(f"error: {_one_line(failure['source'])}: {failure['error']}", file=sys.stderr)
    _print_summary(summary, args)


def _print_summary(summary, args) -> None:
    if args.json:
        print(json.dumps(summary.as_json(), indent=2))
    else:
        print(summary.text(), file=sys.stderr if args.quiet else sys.stdout)


class _progress_bar:
    """A tqdm bar on stderr (files, pages/s, tokens/s), or nothing with --quiet/--json or off a terminal."""

    def __init__(self, args):
        self.enabled = not (args.quiet or args.json) and sys.stderr.isatty()
        self.bar = None

    def __enter__(self):
        if not self.enabled:
            return None
        from tqdm import tqdm

        def update(event):
            if self.bar is None:
                self.bar = tqdm(total=event.files_total, unit="file", file=sys.stderr, dynamic_ncols=True)
            self.bar.total = event.files_total
            self.bar.n = event.files_done
            seconds = max(event.seconds, 1e-9)
            self.bar.set_postfix_str(f"{event.pages / seconds:.1f} pages/s, {event.tokens / seconds:.0f} tokens/s")
            self.bar.refresh()

        return update

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def _init_distributed(world: int):
    if world <= 1:
        return None
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    return dist


def _barrier(group) -> None:
    if group is not None:
        group.barrier()


def _gather(summary, group, rank):
    if group is None:
        return summary
    from ingest.pipeline import IngestSummary

    parts = [None] * group.get_world_size()
    group.all_gather_object(parts, summary)
    if rank != 0:
        return None
    merged = IngestSummary()
    for part in parts:
        merged.merge(part)
    # discovery problems are seen by every rank: report each once
    merged.failed = [dict(t) for t in dict.fromkeys(tuple(sorted(f.items())) for f in merged.failed)]
    merged.skipped = [dict(t) for t in dict.fromkeys(tuple(sorted(s.items())) for s in merged.skipped)]
    return merged


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return USAGE_ERROR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingest")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_ingest_parser(subparsers)
    add_docs_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """`python -m ingest ingest ...`; `python -m ingest PATH ...` also works (ingest is the default)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("ingest", "docs", "-h", "--help"):
        argv = ["ingest", *argv]
    args = build_parser().parse_args(argv)
    return args.handler(args)
