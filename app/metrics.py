"""QA evaluation metrics as pure functions (no retrieval, no model): one item at a time, then a summary."""
from __future__ import annotations

import math
import re
from typing import Iterable

_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " "})
_SPLIT_HYPHEN = re.compile(r"(\w)- (\w)")


def normalize_for_match(text: str) -> str:
    """Lower-case, unify curly quotes, collapse whitespace, re-join words hyphenated at a line end."""
    text = " ".join(text.translate(_QUOTES).split()).lower()
    return _SPLIT_HYPHEN.sub(r"\1\2", text)


def first_words(text: str, n: int) -> str:
    """The first n whitespace-separated words of text."""
    return " ".join(text.split()[:n])


def contains(haystack: str, needle: str) -> bool:
    """needle occurs in haystack after normalize_for_match on both."""
    return normalize_for_match(needle) in normalize_for_match(haystack)


def hit_at_1(evidence: str, passages: list[str], words: int = 400) -> bool:
    """The evidence is inside the first `words` words of the first passage."""
    return bool(passages) and contains(first_words(passages[0], words), evidence)


def hit_at_5(evidence: str, passages: list[str], words: int = 1500) -> bool:
    """The evidence is inside the first `words` words of the top five passages joined in rank order."""
    return contains(first_words(" ".join(passages[:5]), words), evidence)


def page_correct(gold_page: int, cited_page: int | None) -> bool:
    """The first citation names the physical page the evidence is on."""
    return cited_page is not None and int(cited_page) == int(gold_page)


def answer_hit(answers: list[str], answer_text: str | None, max_words: int = 60) -> bool:
    """Some gold answer string appears in the answer, and the answer is at most max_words words."""
    if answer_text is None or len(answer_text.split()) > max_words:
        return False
    return any(contains(answer_text, a) for a in answers)


def abstained_correctly(answerable: bool, answer_text: str | None) -> bool:
    """Unanswerable items must get no answer; answerable ones must get one."""
    return (answer_text is None) == (not answerable)


def percentile(values: list[float], q: float) -> float:
    """q-th percentile (0..100) with linear interpolation between order statistics (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def score_item(item: dict, passages: list[str], answer_text: str | None, cited_page: int | None) -> dict:
    """Per-item outcome for a dev-set line ({"answers","evidence","page",...}); None where a metric does not apply.

    An item with no answers is unanswerable. The retrieval metrics need the evidence text, so an answerable item
    without one counts only for page accuracy (where it gives the page), answer hit and abstention."""
    answerable = bool(item.get("answers"))
    evidence = item.get("evidence") if answerable else None
    return {
        "id": item.get("id"),
        "kind": item.get("kind"),
        "answerable": answerable,
        "hit@1": hit_at_1(evidence, passages) if evidence is not None else None,
        "hit@5": hit_at_5(evidence, passages) if evidence is not None else None,
        "page": page_correct(item["page"], cited_page) if answerable and item.get("page") is not None else None,
        "answer_hit": answer_hit(item["answers"], answer_text) if answerable else None,
        "abstain_ok": abstained_correctly(answerable, answer_text),
    }


def _mean(values: Iterable[bool | None]) -> float:
    kept = [bool(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else float("nan")


def summarize(outcomes: list[dict], latencies_s: list[float] | None = None) -> dict:
    """Means over items where each metric applies; abstention split into unanswerable / answerable items."""
    unanswerable = [o for o in outcomes if not o["answerable"]]
    answerable = [o for o in outcomes if o["answerable"]]
    summary = {
        "n": len(outcomes),
        "hit@1": _mean(o["hit@1"] for o in outcomes),
        "hit@5": _mean(o["hit@5"] for o in outcomes),
        "page_acc": _mean(o["page"] for o in outcomes),
        "answer_hit": _mean(o["answer_hit"] for o in outcomes),
        "abstain_acc": _mean(o["abstain_ok"] for o in unanswerable),        # said "no answer" when right to
        "false_abstain": 1.0 - _mean(o["abstain_ok"] for o in answerable) if answerable else float("nan"),
    }
    if latencies_s:
        summary["p50_ms"] = percentile(latencies_s, 50) * 1000
        summary["p95_ms"] = percentile(latencies_s, 95) * 1000
    return summary
