"""Reciprocal rank fusion: the formula, weights, missing ids, ties, per-list ranks."""
import pytest

from app.fusion import reciprocal_rank_fusion


def test_rrf_scores_match_formula():
    fused = reciprocal_rank_fusion({"dense": ["a", "b", "c"], "bm25": ["b", "a", "d"]}, k=60)
    scores = {f.id: f.score for f in fused}
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["c"] == pytest.approx(1 / 63)
    assert scores["d"] == pytest.approx(1 / 63)
    assert [f.id for f in fused][:2] == ["a", "b"]  # tie on score -> best single rank, then id
    assert fused[0].ranks == {"dense": 1, "bm25": 2}


def test_weights_shift_the_order():
    lists = {"dense": ["a", "b"], "bm25": ["b", "a"]}
    assert reciprocal_rank_fusion(lists, {"dense": 1.0, "bm25": 2.0})[0].id == "b"
    assert reciprocal_rank_fusion(lists, {"dense": 2.0, "bm25": 1.0})[0].id == "a"


def test_item_in_both_lists_beats_item_first_in_one():
    fused = reciprocal_rank_fusion({"x": ["solo", "both"], "y": ["other", "both"]})
    assert fused[0].id == "both"
    assert fused[0].ranks == {"x": 2, "y": 2}


def test_duplicates_limit_and_empty():
    fused = reciprocal_rank_fusion({"x": ["a", "a", "b"]}, limit=1)
    assert len(fused) == 1 and fused[0].score == pytest.approx(1 / 61)
    assert reciprocal_rank_fusion({}) == []
    assert reciprocal_rank_fusion({"x": []}) == []
