"""app.document_cache through MiniLM's chunk vectors (app.retrieval.encoder_index): real MiniLM, real text."""
import numpy as np
import pytest

from app.document_cache import DocumentCache
from app.retrieval import encoder_index
from app.sentence_scorer import MiniLM


class CountingMiniLM:
    """The real MiniLM, counting the texts it encodes (to see which documents the cache spares)."""

    def __init__(self, minilm: MiniLM):
        self.minilm, self.dim, self.chunk_batch_size, self.encoded = minilm, minilm.dim, minilm.chunk_batch_size, []

    def encode(self, texts, **kwargs):
        self.encoded += list(texts)
        return self.minilm.encode(texts, **kwargs)


@pytest.fixture(scope="module")
def minilm() -> MiniLM:
    return MiniLM.load()


def test_a_new_document_is_the_only_one_encoded_again(chunk_table, minilm, tmp_path):
    """A collection that gains a document encodes that one alone, and every row keeps its own chunk's vector."""
    counting, cache = CountingMiniLM(minilm), DocumentCache(tmp_path)
    first = {"harbour": ["The harbour master counts the boats at dawn.", "Gulls circle the quay."]}
    encoder_index(chunk_table(first), counting, None, cache)
    grown = {**first, "bakery": ["A baker in the village sells rye bread on Sundays."]}
    counting.encoded = []
    table = chunk_table(grown)
    index = encoder_index(table, counting, None, cache)
    assert counting.encoded == grown["bakery"]
    vectors = index.spans[np.argsort(index.owners)]                 # one vector a chunk, back in row order
    assert vectors.shape == (len(table), minilm.dim) and sorted(index.owners) == list(range(len(table)))
    assert np.abs(vectors - minilm.encode(table.texts, cache=False)).max() < 1e-5
    question = minilm.encode(["Who sells rye bread?"])[0]
    assert table.ids[int(np.argmax(index.chunk_scores(question)))] == "bakery:0"


@pytest.mark.parametrize("damage", ["junk", "truncated"])
def test_a_corrupt_cache_file_is_computed_again(tmp_path, damage):
    cache = DocumentCache(tmp_path)
    texts = ["one chunk", "another chunk"]
    cache.arrays(texts, lambda t: {"lengths": np.array([len(x) for x in t])})
    for path in tmp_path.glob("*.npz"):
        saved = path.read_bytes()
        path.write_bytes(b"not an npz file" if damage == "junk" else saved[: len(saved) // 2])
    again = cache.arrays(texts, lambda t: {"lengths": np.array([len(x) for x in t])})
    assert again["lengths"].tolist() == [9, 13]
    assert cache.arrays(texts, lambda t: {})["lengths"].tolist() == [9, 13]     # saved again, read back


def test_an_empty_collection_has_no_vectors(chunk_table, minilm):
    for windows in (None, 60):
        assert encoder_index(chunk_table({}), minilm, windows).spans.shape == (0, minilm.dim)
