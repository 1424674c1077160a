"""app.span_index: the shipped model's span memory over a small collection of real text."""
import numpy as np
import pytest

from app.retrieval import ChunkTable
from app.span_index import SPAN_STRIDE, SpanIndex
from nonattn_core import NonAttnLM, Tokenizer


@pytest.fixture(scope="module")
def model_and_tokenizer():
    return NonAttnLM.from_pretrained(), Tokenizer()


def chunk_table(documents: dict[str, list[str]]) -> ChunkTable:
    ids, texts, metadatas = [], [], []
    for doc_id, chunks in documents.items():
        for index, text in reversed(list(enumerate(chunks))):      # stored order is not reading order
            ids.append(f"{doc_id}:{index}")
            texts.append(text)
            metadatas.append({"doc_id": doc_id, "chunk_index": index})
    return ChunkTable(ids, texts, metadatas)


def test_each_span_belongs_to_the_chunk_it_starts_in(model_and_tokenizer):
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


def test_a_question_finds_the_chunk_holding_its_sentence(model_and_tokenizer, fetch_doc, tmp_path):
    """King Lear cut into 256-token chunks, a fact planted in the middle of one: its chunk ranks first by best
    span, and the index comes back from its cache file unchanged."""
    model, tokenizer = model_and_tokenizer
    play = tokenizer.encode(fetch_doc("king_lear.txt").read_text(encoding="utf-8"))[:4096]
    chunks = [tokenizer.decode(play[i:i + 256]) for i in range(0, len(play), 256)]
    chunks[9] = chunks[9][:400] + " The lighthouse keeper painted the lighthouse bright green in spring. " + chunks[9][400:]
    table = chunk_table({"lear": chunks})
    path = tmp_path / "spans.npz"
    index = SpanIndex.load_or_build(path, table, model, tokenizer)
    query = model.embed_texts([tokenizer.encode("What colour did the keeper paint the lighthouse?")])[0].numpy()
    assert table.ids[int(np.argmax(index.chunk_scores(query)))] == "lear:9"
    again = SpanIndex.load_or_build(path, table, model, tokenizer)
    assert np.abs(again.spans - index.spans).max() < 1e-3 and np.array_equal(again.owners, index.owners)
