"""Weighted reciprocal rank fusion (Cormack et al., 2009) of several ranked lists."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Fused:
    id: str
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # list name -> 1-based rank in that list (debugging)


def reciprocal_rank_fusion(ranked: dict[str, list[str]], weights: dict[str, float] | None = None,
                           k: float = 60.0, limit: int | None = None) -> list[Fused]:
    """Fuse named ranked lists of ids: score(d) = sum over lists of weight / (k + rank of d), rank 1-based.

    A list that does not contain d contributes nothing. Ties are broken by the best single rank, then by id,
    so the result is deterministic. Duplicate ids within one list count once, at their first rank.
    """
    weights = weights or {}
    fused: dict[str, Fused] = {}
    for name, ids in ranked.items():
        w = weights.get(name, 1.0)
        seen: set[str] = set()
        for rank, doc_id in enumerate(ids, start=1):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            entry = fused.setdefault(doc_id, Fused(doc_id, 0.0))
            entry.score += w / (k + rank)
            entry.ranks[name] = rank
    out = sorted(fused.values(), key=lambda f: (-f.score, min(f.ranks.values()), f.id))
    return out[:limit] if limit is not None else out
