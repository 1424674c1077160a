"""The lexical bag starts as a static distillation of the teacher: texts that share rare words embed close."""
import zlib

import numpy as np
import torch
import torch.nn.functional as F

from nonattn_core import NonAttnLM, Tokenizer
from nonattn_core.config import NonAttnConfig
from nonattn_core.lexical_init import init_from_teacher, sif_weights, token_texts

SMALL = dict(d_model=32, n_layers=2, n_lower_layers=1, d_state=8, chunk_size=16, embed_dim=48, supervisor_dim=16,
             embed_rank=16, conv_dilations=[1, 2])
COMMON = "the cat sat on the mat near the"


def word_teacher(texts: list[str]) -> torch.Tensor:
    """A stand-in teacher: every distinct text gets its own fixed random direction (no two words alike)."""
    rows = [np.random.default_rng(zlib.crc32(text.encode())).standard_normal(SMALL["embed_dim"]) for text in texts]
    return F.normalize(torch.tensor(np.stack(rows), dtype=torch.float32), dim=-1)


def initialised_model(tokenizer: Tokenizer) -> NonAttnLM:
    torch.manual_seed(0)
    model = NonAttnLM(NonAttnConfig(**SMALL)).eval()
    counts = np.zeros(model.config.vocab_size)
    counts[tokenizer.encode(" " + COMMON + " " + COMMON)] = 100_000   # the common words are everywhere
    init_from_teacher(model, word_teacher, tokenizer, counts)
    return model


def test_sif_weights_discount_frequent_tokens():
    weights = sif_weights(np.array([1_000_000, 1_000, 0]))
    assert weights[0] < 0.01 and 0.5 < weights[1] < 1 and weights[2] == 1


def test_tokens_without_text_get_no_weight():
    tokenizer = Tokenizer()
    texts, valid = token_texts(tokenizer)
    newline = tokenizer.encode("\n\n")[0]
    assert not valid[newline] and valid[tokenizer.encode(" giraffe")[0]]
    model = initialised_model(tokenizer)
    assert model.lexical.token_weight[newline] == 0


def test_a_question_lands_on_the_passage_that_shares_its_rare_word():
    tokenizer = Tokenizer()
    model = initialised_model(tokenizer)
    question, with_word, without = (tokenizer.encode(text) for text in
                                    ("quokka", f"{COMMON} quokka", f"{COMMON} wombat"))
    q, hit, miss = model.embed_texts([question, with_word, without])
    assert float(q @ hit) > 0.8 > float(q @ miss)


@torch.no_grad()
def test_at_step_zero_the_embedding_is_the_weighted_bag_of_teacher_vectors():
    tokenizer = Tokenizer()
    model = initialised_model(tokenizer)
    ids = tokenizer.encode(f"{COMMON} quokka and wombat")
    vectors = word_teacher([token_texts(tokenizer)[0][i] for i in ids])
    weights = model.lexical.token_weight[ids].unsqueeze(-1)
    # The PCA keeps 16 of 48 random directions, so compare within the kept subspace: project both.
    components = model.lexical.out.weight / model.lexical.out.weight.norm(dim=0, keepdim=True)   # (E, rank)
    expected = F.normalize(((vectors * weights).mean(0) @ components) @ components.T, dim=-1)
    got = model.embed_texts([ids])[0]
    assert float(got @ expected) > 0.99
