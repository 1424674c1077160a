"""QA evaluation of the engine on a JSONL dev set, and the side-by-side comparison of retrieval set-ups.

    nonattn-qa eval examples/devset.jsonl [--collection NAME] [--db DIR] [--json] [--verbose]
    python -m app.evaluate --compare [--db DIR] [--devset FILE]

--compare ingests the dev set's documents (examples/fetch_docs.py) into the collection `devset` of a scratch DB
(~/.cache/nonattn-qa/devset-db unless --db; skipped when already there), then prints one row per set-up:
BM25 alone, MiniLM dense alone, our model's dense alone, the full engine, and the full engine with one stage
switched off or added, so each stage's contribution is visible.
"""
from __future__ import annotations

import argparse
import difflib
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

from app.metrics import score_item, summarize
from app.text_files import TextFileError, read_text_lines
from ingest.example_docs import fetch_docs

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT / "examples" / "devset.jsonl"
ACROSS_HELP = ("ask every question across the whole collection (default: within the document its item's `doc` "
               "names, when the collection has it)")
COLUMNS = ["n", "hit@1", "hit@5", "page_acc", "answer_hit", "abstain_acc", "false_abstain", "p50_ms", "p95_ms"]


class EvalFileError(ValueError):
    """The dev-set file cannot be read (a user error: one line, exit code 2)."""


def load_items(path: str | Path) -> list[dict]:
    """The dev-set lines as dicts; EvalFileError names the file and line of the first bad one.

    Every line is checked before any question is asked, so a typo costs seconds, not a run's worth of answers
    scored against the wrong thing (a string as `answers` would be matched character by character)."""
    items = []
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise EvalFileError(f"{path}:{number}: not JSON ({error.msg})") from None
        except (ValueError, RecursionError) as error:   # a number of thousands of digits, arrays nested 100,000 deep
            raise EvalFileError(f"{path}:{number}: not JSON we can read ({type(error).__name__})") from None
        if not isinstance(item, dict):
            raise EvalFileError(f"{path}:{number}: expected an object with a \"question\" string")
        problem = item_problem(with_defaults(item))
        if problem:
            raise EvalFileError(f"{path}:{number}: {problem}")
        items.append(item)
    if not items:
        raise EvalFileError(f"no questions in {path}")
    return items


def read_lines(path: str | Path) -> list[str]:
    """The file's lines as text (app.text_files); what cannot be read is an EvalFileError."""
    try:
        return read_text_lines(path)
    except TextFileError as error:
        raise EvalFileError(str(error)) from None


def with_defaults(item: dict) -> dict:
    """The item with its optional fields filled in; a null `answers` or `history` means none, as absent ones do."""
    for field in ("answers", "history"):
        if item.get(field) is None:
            item[field] = []
    item.setdefault("evidence", None)
    item.setdefault("page", None)
    return item


def item_problem(item: dict) -> str | None:
    """What is wrong with a dev-set item, as the end of a one-line error, or None.

    Blank strings are refused where they would score: an empty answer or evidence string is found in every text,
    and an empty question would be counted as an abstention the engine got right."""
    unknown = [field for field in item if field not in FIELD_RULES]
    if unknown:     # a misspelt "answers" would make the item an unanswerable one, silently
        close = difflib.get_close_matches(unknown[0].lower(), FIELD_RULES, n=1, cutoff=0.6)
        hint = f" (did you mean \"{close[0]}\"?)" if close else f" (known: {', '.join(FIELD_RULES)})"
        return f"unknown field {shown(unknown[0])}{hint}"
    if "question" not in item:
        return "no \"question\""
    for field, (valid, expected) in FIELD_RULES.items():
        if field in item and not valid(item[field]):
            return f"\"{field}\" must be {expected}, not {shown(item[field])}"
    return None


def is_text(value) -> bool:
    return isinstance(value, str)


def is_nonblank_text(value) -> bool:
    return is_text(value) and bool(value.strip())


def is_list_of_nonblank_text(value) -> bool:
    return isinstance(value, list) and all(is_nonblank_text(v) for v in value)


def is_page_number(value) -> bool:
    """A physical page number: 1 for the first page (bool is an int in Python, and not a page)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def is_label(value) -> bool:
    """An `id` or `kind`, printed by --verbose: a string or a number."""
    return is_text(value) or (isinstance(value, int) and not isinstance(value, bool))


def or_null(valid):
    """valid, or None."""
    return lambda value: value is None or valid(value)


FIELD_RULES = {   # field -> (check, what it must be); absent `doc`, `evidence`, `page`, `id`, `kind` are fine
    "question": (is_nonblank_text, "a non-empty string"),
    "answers": (is_list_of_nonblank_text, "a list of non-empty answer strings ([] when the documents do not answer)"),
    "evidence": (or_null(is_nonblank_text), "a non-empty string or null"),
    "page": (or_null(is_page_number), "a page number (1 for the first page) or null"),
    "doc": (or_null(is_nonblank_text), "a document's file name or source path, or null"),
    "history": (is_list_of_nonblank_text, "a list of earlier questions"),
    "id": (or_null(is_label), "a string, a number or null"),
    "kind": (or_null(is_text), "a string or null"),
}


def shown(value) -> str:
    """A bad value as the file had it, cut short to keep the error on one line."""
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def evaluate(engine, items: list[dict], k: int = 5, verbose: bool = False, out=sys.stdout,
             within_documents: bool = True) -> dict:
    """Run every question through engine.ask and summarise the metrics of app.metrics (plus latency).

    An item that names its document (`doc`, a file name or source path) is asked within that document, as a reader
    who picked it in the UI; with within_documents=False, or when no document of the collection has that name, it
    is asked across the whole collection. An item with a `history` (earlier questions) is a follow-up: those are
    asked first, in order, each with the turns before it, and the item's question then leans on them."""
    scopes = document_scopes(engine, items) if within_documents else {}
    unscoped = sorted({item["doc"] for item in items
                       if within_documents and item.get("doc") and item["doc"] not in scopes})
    if unscoped:
        print(f"note: no document of collection {engine.collection!r} is named {', '.join(unscoped)}: "
              "their questions are asked across the whole collection", file=sys.stderr)
    outcomes, latencies = [], []
    for item in items:
        doc_ids = scopes.get(item.get("doc"))
        history = []  # a follow-up item's earlier turns, asked first as a reader would have
        for question in item["history"]:
            history.append(engine.ask(question, k=k, doc_ids=doc_ids, history=list(history)))
        t = time.perf_counter()
        result = engine.ask(item["question"], k=k, doc_ids=doc_ids, history=history)
        latencies.append(time.perf_counter() - t)
        cited = result.citations[0]["page"] if result.citations else None
        outcome = score_item(item, [p.text for p in result.passages], result.answer, cited)
        outcomes.append(outcome)
        if verbose:
            flags = " ".join(f"{m}={int(outcome[m])}" for m in ("hit@1", "hit@5", "page", "answer_hit", "abstain_ok")
                             if outcome[m] is not None)
            print(f"{label(item.get('id')):5} {label(item.get('kind')):12} {flags:52} conf={result.confidence} "
                  f"| {item['question']}\n      -> {(result.answer or '')[:160]!r}", file=out)
    return summarize(outcomes, latencies)


def label(value) -> str:
    """An item's `id` or `kind` for --verbose ("" when absent or null)."""
    return "" if value is None else str(value)


def document_scopes(engine, items: list[dict]) -> dict[str, list[str]]:
    """Each `doc` the items name -> the ids of the collection's documents with that file name or source path."""
    named = {item["doc"] for item in items if item.get("doc")}
    scopes: dict[str, list[str]] = {}
    for record in engine.store.documents(engine.collection):
        for name in {record.source, Path(record.source).name} & named:
            scopes.setdefault(name, []).append(record.doc_id)
    return scopes


def format_table(rows: dict[str, dict]) -> str:
    """One line per set-up, the metric columns of COLUMNS."""
    lines = [f"{'setting':34}" + "".join(f"{c:>14}" for c in COLUMNS)]      # 'false_abstain' is 13 wide
    for name, s in rows.items():
        cells = []
        for c in COLUMNS:
            value = s.get(c, float("nan"))
            decimals = 0 if c == "n" else 1 if c.endswith("_ms") else 3
            cells.append(f"{value:>14.{decimals}f}")
        lines.append(f"{name:34}" + "".join(cells))
    return "\n".join(lines)


def setups(base):
    """The compared EngineConfigs, derived from the full engine's config `base`."""
    r = replace(base.retrieval, sentence_rerank=False, fallback=None, encoder_index=None)  # single lists, unreranked
    lexical_only = dict(semantic_answer=False, cross_encoder=False)  # each list with the plain extractive answer

    def full(**changes):
        """The full engine with these RetrievalConfig fields changed."""
        return replace(base, retrieval=replace(base.retrieval, **changes))

    def alone(**changes):
        """One ranked list (these RetrievalConfig fields changed from `r`) with the plain extractive answer."""
        return replace(base, retrieval=replace(r, **changes), **lexical_only)

    def fallback(lists: str, keep: int = 4, windows=base.retrieval.encoder_windows):
        """The full engine with these fallback lists ("+"-joined), keeping `keep` lexical passages of 5; an encoder's
        chunk scored by its best window of `windows` words (None: the whole chunk's vector)."""
        return full(fallback=lists, fallback_keep=keep, fallback_passages=5 - keep, encoder_windows=windows)

    def encoder_alone(name: str, windows=base.retrieval.encoder_windows):
        return alone(bm25=False, dense=False, encoder_index=name, encoder_windows=windows)

    return {
        "bm25 alone": alone(dense=False),
        "minilm dense alone": encoder_alone("minilm"),
        "bge dense alone": encoder_alone("bge"),
        "minilm dense alone, windows 40": encoder_alone("minilm", windows=40),
        "minilm dense alone, windows 60": encoder_alone("minilm", windows=60),
        "bge dense alone, windows 40": encoder_alone("bge", windows=40),
        "bge dense alone, windows 60": encoder_alone("bge", windows=60),
        "our dense alone": alone(bm25=False, dense=True, w_dense=1.0),
        "our span memory alone": alone(bm25=False, dense_spans=True),
        "full engine": base,
        "full - sentence rerank": full(sentence_rerank=False),
        "full - cross-encoder answer": replace(base, cross_encoder=False),
        "full - unmentioned names abstain": replace(base, abstain_on_unmentioned_names=False),
        "full + semantic answer (MiniLM)": replace(base, semantic_answer=True),
        "full - neighbour context": full(neighbours=False),
        "full + our dense (w=0.1)": full(dense=True, w_dense=0.1),
        "full + our span memory (w=0.3)": full(dense_spans=True, w_spans=0.3),
        "full - span memory in rerank": full(w_span_rerank=0.0),
        "full - fallback": full(fallback=None),
        "full, fallback minilm": fallback("minilm"),
        "full, fallback spans": fallback("spans"),
        "full, fallback bge": fallback("bge"),
        "full, fallback minilm 3+2": fallback("minilm", keep=3),
        "full, fallback bge 3+2": fallback("bge", keep=3),
        "full, fallback minilm+spans 3+2": fallback("minilm+spans", keep=3),
        "full, fallback bge+spans 3+2": fallback("bge+spans", keep=3),
        "full, fallback bge+minilm 3+2": fallback("bge+minilm", keep=3),
        "full, fallback minilm windows 40": fallback("minilm", windows=40),
        "full, fallback minilm windows 60": fallback("minilm", windows=60),
        "full, fallback minilm windows 80": fallback("minilm", windows=80),
        "full, fallback minilm windows 60 3+2": fallback("minilm", keep=3, windows=60),
        "full, fallback bge windows 40": fallback("bge", windows=40),
        "full, fallback bge windows 60": fallback("bge", windows=60),
        "full, fallback bge windows 60 3+2": fallback("bge", keep=3, windows=60),
        "full + minilm rescore top20": full(minilm_rescore=True),
        "full - bge index (3rd list)": full(encoder_index=None),
        "full, minilm index (3rd list) instead of bge": full(encoder_index="minilm"),
        "full, fallback for weak questions only": full(weak_match=0.6),
        "full + minilm windows 60 (3rd list)": full(encoder_index="minilm", encoder_windows=60),
        "full + bge windows 60 (3rd list)": full(encoder_index="bge", fallback="bge", encoder_windows=60),
    }


def open_devset_engine(db: str | None, items: list[dict]):
    """The full engine over the collection `devset` of a scratch DB, with every sentence encoder loaded, after
    ingesting the items' documents (examples/fetch_docs.py) where they are not there yet."""
    from app.engine import EngineConfig, QAEngine
    from app.sentence_scorer import ENCODERS, load_encoder
    from ingest.pipeline import IngestOptions, ingest_paths
    from ingest.store import Store
    from nonattn_core import NonAttnLM

    fetch = fetch_docs().fetch
    db = db or str(Path.home() / ".cache" / "nonattn-qa" / "devset-db")
    store = Store.open(db=db)
    paths = [str(fetch(name)) for name in sorted({item["doc"] for item in items})]
    summary = ingest_paths(paths, store, "devset", IngestOptions())
    if summary.failed:
        raise SystemExit(f"error: ingest failed: {summary.failed}")
    return QAEngine(store, "devset", model=NonAttnLM.from_pretrained(), config=EngineConfig(),
                    encoders={name: load_encoder(name) for name in ENCODERS})


def require_documents(devset: Path, items: list[dict]) -> None:
    """EvalFileError for the first item without a `doc`: --compare ingests each item's document
    (examples/fetch_docs.py) before asking anything, and an item naming none would stop it there."""
    for number, item in enumerate(items, start=1):
        if not item.get("doc"):
            raise EvalFileError(f"{devset}: item {label(item.get('id')) or number} names no \"doc\" "
                                "(--compare fetches and ingests each item's document)")


def compare(db: str | None, devset: Path, k: int = 5, only: list[str] | None = None, verbose: bool = False,
            within_documents: bool = True) -> str:
    """Ingest the dev documents into a scratch DB if needed, evaluate every set-up, return the table."""
    items = load_items(devset)
    require_documents(devset, items)
    full = open_devset_engine(db, items)
    rows = {}
    for name, config in setups(full.config).items():
        if only and name not in only:
            continue
        engine = full.with_config(config)
        engine.ask("warm up question")
        rows[name] = evaluate(engine, items, k=k, verbose=verbose, within_documents=within_documents)
        print(format_table({name: rows[name]}).splitlines()[1], flush=True)
    return format_table(rows)


def nan_as_null(summary: dict) -> dict:
    """The summary with null for a metric no item measured (NaN, e.g. page accuracy when no item has a page):
    NaN is not JSON, and a JSON reader would refuse the whole summary."""
    return {key: None if isinstance(value, float) and math.isnan(value) else value for key, value in summary.items()}


def run_eval_command(args) -> int:
    """`nonattn-qa eval FILE.jsonl`: the metrics of the engine on one collection."""
    from app.ask_cli import check_k, open_engine, user_errors

    with user_errors():
        check_k(args.k)
        items = load_items(args.file)
        engine = open_engine(args)
        summary = evaluate(engine, items, k=args.k, verbose=args.verbose and not args.json, out=sys.stdout,
                           within_documents=not args.across_collection)
    if args.json:
        print(json.dumps(nan_as_null(summary), indent=2, allow_nan=False))
    else:
        print(format_table({f"{args.collection}": summary}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="print the side-by-side table of set-ups")
    parser.add_argument("--db", default=None, help="scratch DB for the dev documents")
    parser.add_argument("--devset", type=Path, default=DEVSET)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--only", action="append", help="evaluate only this set-up (repeatable)")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--across-collection", action="store_true", help=ACROSS_HELP)
    args = parser.parse_args(argv)
    if not args.compare:
        parser.error("nothing to do: pass --compare (or use `nonattn-qa eval FILE`)")
    from app.ask_cli import check_k, user_errors
    try:
        with user_errors():       # a bad dev-set file or -k: one line, exit code 2, as `nonattn-qa eval`
            check_k(args.k)
            table = compare(args.db, args.devset, k=args.k, only=args.only, verbose=args.verbose,
                            within_documents=not args.across_collection)
    except fetch_docs().FetchError as error:
        raise SystemExit(f"error: {error}") from None
    print(table)
    return 0


if __name__ == "__main__":
    # `python -m app.evaluate` runs this file as __main__, a second copy of the module: run app.evaluate's own main
    # so that the EvalFileError raised is the class app.ask_cli.user_errors catches (else: a traceback).
    from app.evaluate import main as package_main
    raise SystemExit(package_main())
