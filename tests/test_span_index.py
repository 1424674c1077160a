"""app.span_index: the shipped model's span memory over a small collection of real text."""
import numpy as np
import pytest

from app.document_cache import DocumentCache
from app.span_index import SPAN_STRIDE, SpanIndex
from nonattn_core import NonAttnLM, Tokenizer


@pytest.fixture(scope="module")
def model_and_tokenizer():
    return NonAttnLM.from_pretrained(), Tokenizer()


def test_each_span_belongs_to_the_chunk_it_starts_in(chunk_table, model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    documents = {"a": ["word " * 40, "other " * 3, "more " * 30], "b": ["third " * 25]}
    table = chunk_table(documents)
    index = SpanIndex.build(table, model, tokenizer)
    expected = {}
    for doc_id, chunks in documents.items():
        start = 0
        for number, text in enumerate(chunks):
            end = start + len(tokenizer.encode(text))
            expected[f"{doc_id}:{number}"] = len(range(-(-start // SPAN_STRIDE) * SPAN_STRIDE, end, SPAN_STRIDE))
            start = end
    counts = {table.ids[row]: int((index.owners == row).sum()) for row in range(len(table))}
    assert counts == expected and expected["a:1"] == 0                # 4 tokens between two span starts
    assert index.spans.shape == (len(index.owners), model.config.embed_dim)
    assert np.isneginf(index.chunk_scores(index.spans[0])[table.row["a:1"]])
    rows = [table.row[i] for i in ("b:0", "a:1", "a:2", "a:0")]           # a:1 has no span of its own
    query = index.spans[-1] / np.linalg.norm(index.spans[-1])
    np.testing.assert_allclose(index.scores_of(query, rows), index.chunk_scores(query)[rows], atol=1e-6)  # BLAS order
    assert index.scores_of(query, []).shape == (0,)


def test_a_question_finds_the_chunk_holding_its_sentence(chunk_table, model_and_tokenizer, fetch_doc, tmp_path):
    """King Lear cut into 256-token chunks, a fact planted in the middle of one: its chunk ranks first by best
    span, and the index comes back from its cache unchanged."""
    model, tokenizer = model_and_tokenizer
    play = tokenizer.encode(fetch_doc("king_lear.txt").read_text(encoding="utf-8"))[:4096]
    chunks = [tokenizer.decode(play[i:i + 256]) for i in range(0, len(play), 256)]
    chunks[9] = chunks[9][:400] + " The lighthouse keeper painted the lighthouse bright green in spring. " + chunks[9][400:]
    table = chunk_table({"lear": chunks})
    cache = DocumentCache(tmp_path)
    index = SpanIndex.build(table, model, tokenizer, cache)
    query = model.embed_texts([tokenizer.encode("What colour did the keeper paint the lighthouse?")])[0].numpy()
    assert table.ids[int(np.argmax(index.chunk_scores(query)))] == "lear:9"
    again = SpanIndex.build(table, model, tokenizer, cache)
    assert np.abs(again.spans - index.spans).max() < 1e-3 and np.array_equal(again.owners, index.owners)


class CountingModel:
    """The shipped model, counting the documents it reads (to see which ones the cache spares)."""

    def __init__(self, model):
        self.model, self.reads = model, 0
        self.config = model.config

    def encode_spans(self, *args, **kwargs):
        self.reads += 1
        return self.model.encode_spans(*args, **kwargs)


def test_a_new_document_is_the_only_one_read_again(chunk_table, model_and_tokenizer, tmp_path):
    """The cache is per document: a collection that gains a document reads that one alone, and each chunk's
    spans still point at its own row in the new table."""
    model, tokenizer = model_and_tokenizer
    counting, cache = CountingModel(model), DocumentCache(tmp_path)
    first = {"a": ["The harbour master counts the boats at dawn. " * 8, "Gulls circle the quay. " * 6]}
    SpanIndex.build(chunk_table(first), counting, tokenizer, cache)
    assert counting.reads == 1
    grown = {**first, "b": ["A baker in the village sells rye bread on Sundays. " * 8]}
    table = chunk_table(grown)
    index = SpanIndex.build(table, counting, tokenizer, cache)
    assert counting.reads == 2
    fresh = SpanIndex.build(table, model, tokenizer)
    assert np.array_equal(index.owners, fresh.owners) and np.abs(index.spans - fresh.spans).max() < 1e-3
    query = model.embed_texts([tokenizer.encode("Who sells rye bread?")])[0].numpy()
    assert table.ids[int(np.argmax(index.chunk_scores(query)))] == "b:0"
