"""`nonattn-qa ask` and `nonattn-qa eval`.

    nonattn-qa ask "QUESTION" [--collection NAME] [--db DIR] [-k K] [--doc DOC] [--json]
    nonattn-qa ask --questions FILE --json      # one question per line in, one JSON object per line out
    nonattn-qa eval FILE.jsonl [--collection NAME] [--json]

Exit codes: 0 fine, 2 a user error (missing collection, unreadable file, unreachable server): one line on stderr.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from app.text_files import TextFileError, read_text_lines
from ingest.cli import USAGE_ERROR, add_store_arguments


FALLBACK_CHOICES = ["minilm", "bge", "spans", "minilm+spans", "bge+spans", "none"]


def add_fallback_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fallback", default="minilm", choices=FALLBACK_CHOICES,
                        help="place 5 comes from this whole-collection list (its best chunk the top 4 lacks): "
                        "MiniLM's or bge-small's chunk vectors, our span memory, or two in turn "
                        "(default: %(default)s; see app/retrieval.py)")


def chosen_fallback(args) -> str | None:
    """RetrievalConfig.fallback for the command's --fallback ("none": no fallback)."""
    value = getattr(args, "fallback", "minilm")
    return None if value == "none" else value


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _engine_options(parser: argparse.ArgumentParser) -> None:
    add_store_arguments(parser)
    parser.add_argument("-k", type=int, default=5, help="passages returned (default: %(default)s)")
    parser.add_argument("--dense", action="store_true", help="fuse the model's dense ranking with BM25 "
                        "(off by default: see app/retrieval.py)")
    parser.add_argument("--spans", action="store_true", help="also fuse our model's span memory as a ranked list "
                        "at weight 0.3 (off by default: it costs answers; see app/retrieval.py)")
    add_fallback_argument(parser)
    parser.add_argument("--no-span-memory", dest="span_memory", action="store_false", help="rank without our "
                        "model's span memory (no model to load: ~1 s faster to start; see app/retrieval.py)")
    parser.add_argument("--semantic", action="store_true", help="rescore answer sentences with MiniLM")
    parser.add_argument("--no-cross-encoder", dest="cross_encoder", action="store_false",
                        help="answer without the cross-encoder's rescoring of candidate sentences (~90 ms faster)")
    parser.add_argument("--checkpoint", metavar="DIR", help="model checkpoint for the span memory and --dense (default: the "
                        "shipped one)")


def add_ask_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("ask", help="answer questions from a collection, with citations",
                                   description="Answer a question (or every line of --questions FILE) with the "
                                   "sentence(s) of the documents that answer it, or say the documents do not.")
    parser.add_argument("question", nargs="?", help="the question (omit with --questions)")
    parser.add_argument("--questions", metavar="FILE", help="one question per line ('-' for stdin)")
    parser.add_argument("--doc", action="append", metavar="DOC", help="only this document: doc_id, a unique "
                        "prefix of one, or its file name (repeatable)")
    parser.add_argument("--json", action="store_true", help="one JSON object per question on stdout")
    _engine_options(parser)
    parser.set_defaults(handler=run_ask)
    return parser


def add_eval_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("eval", help="evaluate the engine on a JSONL dev set",
                                   description="hit@1/@5, page accuracy, answer hit, abstention, latency.")
    parser.add_argument("file", metavar="FILE.jsonl",
                        help="one question per line as JSON (see examples/devset.jsonl); '-' reads stdin")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--verbose", action="store_true", help="one line per question")
    from app.evaluate import ACROSS_HELP, run_eval_command
    parser.add_argument("--across-collection", action="store_true", help=ACROSS_HELP)
    _engine_options(parser)
    parser.set_defaults(handler=run_eval_command)
    return parser


@contextlib.contextmanager
def user_errors():
    """Turn errors a user can cause into one line on stderr and exit code 2."""
    from app.evaluate import EvalFileError
    from ingest.errors import StoreError
    from nonattn_core import CheckpointError
    try:
        yield
    except (UserError, StoreError, EvalFileError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(USAGE_ERROR) from None


def open_engine(args, warm_up: bool = True):
    """The engine for the command's --db/--chroma-host/--collection and stage switches."""
    from app.engine import EngineConfig, QAEngine
    from app.index_progress import index_progress_bar
    config = EngineConfig(checkpoint=getattr(args, "checkpoint", None), semantic_answer=bool(args.semantic),
                          cross_encoder=getattr(args, "cross_encoder", True))
    retrieval = replace(config.retrieval, dense=bool(args.dense), dense_spans=bool(getattr(args, "spans", False)),
                        w_spans=0.3, fallback=chosen_fallback(args))
    if not getattr(args, "span_memory", True):
        if retrieval.dense_spans or "spans" in retrieval.fallback_lists():
            raise UserError("--no-span-memory leaves out the span memory that --spans / --fallback "
                            f"{args.fallback} read: give one or the other")
        retrieval = replace(retrieval, w_span_rerank=0.0)
    config = replace(config, retrieval=retrieval)
    with index_progress_bar() as progress:
        return QAEngine.open(db=args.db, host=args.chroma_host, port=args.chroma_port, collection=args.collection,
                             config=config, warm_up=warm_up, progress=progress)


def resolve_docs(engine, wanted: list[str] | None) -> list[str] | None:
    """--doc values (doc_id, unique prefix, or file name) -> doc ids; UserError when one matches nothing."""
    if not wanted:
        return None
    records = engine.store.documents(engine.collection)
    out = []
    for value in wanted:
        if not value.strip():
            raise UserError("--doc is empty: give a doc id, a unique prefix of one, or a file name")
        matches = [r.doc_id for r in records if r.doc_id == value or r.source == value
                   or r.source.rsplit("/", 1)[-1] == value] or [r.doc_id for r in records if r.doc_id.startswith(value)]
        if len(set(matches)) != 1:
            matched = "no document" if not matches else f"{len(set(matches))} documents"
            raise UserError(f"--doc {value!r} matches {matched} in collection {engine.collection!r}")
        out.append(matches[0])
    return out


def unwritable_directory(path: str | Path) -> str | None:
    """Why no file can be written in the directory `path` (made if missing), as the end of a sentence naming it
    ('is a file, not a directory', 'cannot be written (Permission denied)'), or None when one can: a file is
    written and removed, since permission bits do not tell (root, read-only mounts, immutable directories)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        return "is a file, not a directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as error:
        return f"cannot be written ({error.strerror or error})"
    return None


def check_k(k: int) -> None:
    """UserError for -k below 1: no passage would come back, and an eval would score every question a miss after a
    full run."""
    if k < 1:
        raise UserError("-k must be at least 1")


def _read_questions(path: str) -> list[str]:
    """The non-blank lines of --questions FILE ('-': stdin), each a question; UserError when there are none."""
    try:
        lines = read_text_lines(path)
    except TextFileError as error:
        raise UserError(f"--questions {error}") from None
    questions = [line.strip() for line in lines if line.strip()]
    if not questions:
        raise UserError(f"--questions {path}: no questions in it (one per line)")
    return questions


def format_result(result) -> str:
    """The human-readable answer: the sentence(s), the citations, then the passages' sources."""
    not_found = result.not_found_text()
    lines = [result.answer if result.answer is not None else f"Not found: {not_found[0].lower()}{not_found[1:]}"]
    for c in result.citations:
        page = f", p. {c['page_label'] or c['page']}" + (f" (page {c['page']})" if c["page_label"] and str(
            c["page_label"]) != str(c["page"]) else "") if c.get("page") else ""
        section = f", {c['section']}" if c.get("section") else ""
        lines.append(f"  [{c['source'].rsplit('/', 1)[-1]}{page}{section}]")
    if result.part_text():
        lines.append(f"  ({result.part_text()})")
    if result.prose:
        lines += ["", result.prose]
    lines.append("")
    for i, p in enumerate(result.passages, start=1):
        pages = f"p. {p.page_start}" + (f"-{p.page_end}" if p.page_end and p.page_end != p.page_start else "")
        lines.append(f"{i}. {p.source.rsplit('/', 1)[-1]}, {pages} (score {p.score:.4f}): "
                     f"{' '.join(p.text.split())[:160]}...")
    return "\n".join(lines)


def run_ask(args) -> int:
    if args.question is not None and args.questions is None and not args.question.strip():
        print("error: the question is empty", file=sys.stderr)
        return USAGE_ERROR
    if bool(args.question) == bool(args.questions):
        print("error: give either a QUESTION or --questions FILE", file=sys.stderr)
        return USAGE_ERROR
    with user_errors():
        questions = _read_questions(args.questions) if args.questions else [args.question]
        check_k(args.k)
        engine = open_engine(args, warm_up=False)
        if not engine.store.documents(engine.collection):   # every "not found" would be true and tell nothing
            raise UserError(f"collection {engine.collection!r} has no documents: ingest some first")
        doc_ids = resolve_docs(engine, args.doc)
        for question in questions:
            result = engine.ask(question, k=args.k, doc_ids=doc_ids)
            if args.json:
                print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
            elif len(questions) > 1:        # a file of questions: each answer under its question
                print(f"Q: {question}\n{format_result(result)}\n", flush=True)
            else:
                print(format_result(result), flush=True)
    return 0
