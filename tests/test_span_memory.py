"""The model's memory at span resolution (NonAttnLM.encode_spans): spans equal their chunk-level twin where they
coincide, do not depend on how the document is streamed, and find a short fact that a whole chunk averages away."""
import pytest
import torch

from nonattn_core import NonAttnLM, Tokenizer
from nonattn_core.needle import NEEDLE, QUESTION, with_needle

from test_model import random_ids, random_model


def test_spans_of_chunk_size_are_the_chunk_embeddings(inference_precision):
    model = random_model()
    ids = random_ids(1, 70)[0].tolist()
    chunks = model.encode_document(ids, piece_tokens=16).embeddings
    spans = model.encode_spans(ids, span_tokens=model.config.chunk_size, piece_tokens=16)
    assert spans.shape == chunks.shape
    assert (spans - chunks).abs().max() <= inference_precision


def test_spans_do_not_depend_on_the_piece_size(inference_precision):
    model = random_model()
    ids = random_ids(1, 203)[0].tolist()
    whole = model.encode_spans(ids, span_tokens=4, piece_tokens=256)
    streamed = model.encode_spans(ids, span_tokens=4, piece_tokens=12)
    assert whole.shape == (51, model.config.embed_dim)              # 50 full spans and a last one of 3 tokens
    assert (whole - streamed).abs().max() <= inference_precision


def test_overlapping_spans_are_the_spans_at_each_offset(inference_precision):
    """Spans of 8 every 2 tokens: those starting at multiples of 8 are the plain spans of 8; those between differ."""
    model = random_model()
    ids = random_ids(1, 101)[0].tolist()
    overlapping = model.encode_spans(ids, span_tokens=8, stride_tokens=2, piece_tokens=16)
    plain = model.encode_spans(ids, span_tokens=8, piece_tokens=16)
    assert overlapping.shape == (51, model.config.embed_dim)
    assert (overlapping[::4] - plain).abs().max() <= inference_precision
    head = overlapping[1:-4:4]                                        # spans [2, 10), [10, 18), ...
    assert head.shape[0] == 12 and not torch.allclose(head, plain[:12])


def test_training_spans_are_the_stored_spans_and_carry_gradients(inference_precision):
    """span_embeddings (what training shapes) gives what encode_spans stores, for a batch of documents, and every
    weight the span memory reads gets a gradient."""
    model = random_model()
    ids = random_ids(2, 70)
    trained = model.span_embeddings(ids, span_tokens=8)
    assert trained.shape == (2, 9, model.config.embed_dim)
    for row in range(2):
        stored = model.encode_spans(ids[row].tolist(), span_tokens=8, piece_tokens=16)
        assert (trained[row].detach().float() - stored).abs().max() <= inference_precision + 1e-5
    trained.sum().backward()
    assert model.chunk_head.out.weight.grad.abs().sum() > 0 and model.lower[0].mlp.down.weight.grad.abs().sum() > 0


def test_piece_must_hold_whole_strides():
    with pytest.raises(ValueError, match="multiples"):
        random_model().encode_spans(list(range(50)), span_tokens=8, piece_tokens=20)
    with pytest.raises(ValueError, match="multiples"):
        random_model().encode_spans(list(range(50)), span_tokens=8, stride_tokens=3, piece_tokens=24)


def test_spans_find_a_pass_key_that_chunks_drown(fetch_doc):
    """16K tokens of King Lear with a pass key at 10 depths: the question's best span (32 tokens, every 8) holds the
    key every time."""
    model, tokenizer = NonAttnLM.from_pretrained(), Tokenizer()
    play = tokenizer.encode(fetch_doc("king_lear.txt").read_text(encoding="utf-8"))[:16384]
    query = model.embed_texts([tokenizer.encode(QUESTION)])[0]
    for depth in range(10):
        key = f"{31415 + 1111 * depth}"
        needle = tokenizer.encode(" " + NEEDLE.format(key=key) + " ")
        tokens = with_needle(play, needle, (depth + 0.5) / 10)
        spans = model.encode_spans(tokens, span_tokens=32, stride_tokens=8, piece_tokens=4096)
        start = int((spans @ query).argmax()) * 8
        assert key in tokenizer.decode(tokens[start:start + 64]), f"depth {depth}"
