"""Where each dev question's evidence ranks in every retrieval list alone, and in the engine's final order.

    python -m app.evidence_ranks [--db DIR] [--devset FILE] [--depth 50] [--across-collection]

A question the engine misses may still be near the top of one list (then fusion and the rerank lost it) or in
none (then no list can find it, whatever the fusion). Ranks are 1-based; "-" means not in the first `depth`.
Each question is asked within the document its item names, as `eval` does, unless --across-collection.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.evaluate import DEVSET, EvalFileError, document_scopes, load_items, open_devset_engine
from app.metrics import contains

BEST_SINGLE = "best"   # the best of the single lists
FINAL = "final"


def evidence_rank(texts: list[str], evidence: str) -> int | None:
    """1-based position of the first text holding the evidence, None when none does."""
    return next((i for i, text in enumerate(texts, start=1) if contains(text, evidence)), None)


def item_ranks(retriever, item: dict, doc_ids, depth: int) -> dict[str, int | None]:
    """The evidence's rank in each of the retriever's single lists, the best of those, and in the final passages."""
    question, evidence = item["question"], item["evidence"]
    ranks = {}
    for name, ranking in retriever.single_lists().items():
        rows = [retriever.table.row[chunk_id] for chunk_id in ranking(question, depth, doc_ids)]
        ranks[name] = evidence_rank([retriever.passage(row).text for row in rows], evidence)
    found = [rank for rank in ranks.values() if rank is not None]
    ranks[BEST_SINGLE] = min(found) if found else None
    ranks[FINAL] = evidence_rank([p.text for p in retriever.search(question, depth, doc_ids)], evidence)
    return ranks


def format_ranks(rows: dict[str, dict[str, int | None]], depth: int) -> str:
    """One line per question, then how many each list holds in its first 1, 5 and 15."""
    names = list(next(iter(rows.values())))
    lines = [f"{'id':6}" + "".join(f"{name:>8}" for name in names)]
    for item_id, ranks in rows.items():
        lines.append(f"{item_id:6}" + "".join(f"{ranks[name] or '-':>8}" for name in names))
    for top in (1, 5, 15):
        counts = [sum(1 for ranks in rows.values() if ranks[name] and ranks[name] <= top) for name in names]
        lines.append(f"{'top ' + str(top):6}" + "".join(f"{count:>8}" for count in counts))
    lines.append(f"{len(rows)} questions with evidence; ranks within the first {depth}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="scratch DB for the dev documents (as `app.evaluate --compare`)")
    parser.add_argument("--devset", type=Path, default=DEVSET)
    parser.add_argument("--depth", type=int, default=50, help="how far down each list to look (default 50)")
    parser.add_argument("--across-collection", action="store_true",
                        help="ask across the whole collection, not within the item's document")
    args = parser.parse_args(argv)
    if args.depth < 1:
        parser.error("--depth must be at least 1")
    try:
        items = [item for item in load_items(args.devset) if item["evidence"]]
    except EvalFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not items:
        print(f"error: no item of {args.devset} has evidence", file=sys.stderr)
        return 2
    engine = open_devset_engine(args.db, items)
    scopes = {} if args.across_collection else document_scopes(engine, items)
    rows = {item.get("id") or str(number): item_ranks(engine.retriever, item, scopes.get(item.get("doc")), args.depth)
            for number, item in enumerate(items, start=1)}
    print(format_ranks(rows, args.depth))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
