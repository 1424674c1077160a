"""Training: next-token LM + chunk-embedding distillation from all-MiniLM-L6-v2 + in-batch query->passage contrast.

    python -m nonattn_core.train --corpus .carry/corpus --teacher .carry/minilm --out runs/main --max-minutes 9
    torchrun --nproc_per_node 4 -m nonattn_core.train ...          # DDP, one process per GPU

bf16 autocast (the S4D FFT stays float32), gradient clipping, warm-up + cosine schedule, periodic validation in
bits per byte, a JSONL log of losses and throughput, and checkpoints that `--resume` continues from.
"""
from __future__ import annotations

import argparse
import json
import lzma
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from .config import NonAttnConfig
from .model import NonAttnLM
from .pairs import pair_batch, sentences
from .tokenizer import Tokenizer


@dataclass
class TrainConfig:
    corpus: str = ".carry/corpus"
    teacher: str | None = ".carry/minilm"     # None: LM objective only
    out: str = "runs/main"
    arch: str = "nonattn"                     # or "transformer" (the baseline)
    resume: str | None = None
    seq_len: int = 2048
    batch_size: int = 16                      # sequences per GPU per step
    pairs_per_step: int = 128                 # (query, passage) pairs per GPU per step
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 200
    max_steps: int = 20000
    schedule_steps: int = 0                   # cosine over this many steps, across resumed runs; 0: fit max_minutes
    max_minutes: float = 9.0                  # stop cleanly (and save) when the wall clock says so; 0: no limit
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    embed_weight: float = 1.0                 # weight of the embedding losses against the LM loss
    temperature: float = 0.05
    span_tokens: int = 0                      # > 0: also train the span memory (spans of this many tokens)
    span_sequences: int = 8                   # LM sequences per GPU per step whose spans are trained
    eval_every: int = 250
    eval_tokens: int = 262144
    seed: int = 0
    lexical_init: int = 1                     # 1: a new model's lexical bag starts from the teacher (lexical_init.py)
    model_overrides: str = ""                 # JSON of NonAttnConfig fields for a non-default shape (tests, ablations)


def read_documents(path: Path) -> list[dict]:
    with lzma.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class TokenStream:
    """All documents' tokens end to end (EOT between documents); random windows for LM batches."""

    def __init__(self, docs: list[dict], tokenizer: Tokenizer):
        encoded = tokenizer.encoding.encode_ordinary_batch([d["text"] for d in docs], num_threads=os.cpu_count() or 4)
        pieces = []
        for ids in encoded:
            pieces.append(np.asarray(ids, dtype=np.uint32))
            pieces.append(np.asarray([tokenizer.eot_id], dtype=np.uint32))
        self.tokens = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint32)
        self.n_bytes = sum(len(d["text"].encode("utf-8")) for d in docs)

    def __len__(self):
        return len(self.tokens)

    def batch(self, rng: np.random.Generator, batch_size: int, seq_len: int) -> torch.Tensor:
        starts = rng.integers(0, len(self.tokens) - seq_len, size=batch_size)
        return torch.from_numpy(np.stack([self.tokens[s:s + seq_len] for s in starts]).astype(np.int64))


def lr_at(step: int, cfg: TrainConfig, total_steps: int) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def embedding_losses(model, batch_ids, chunk_embeddings, docs, step, cfg, tokenizer, teacher, device, rank):
    """Distil in-context chunk embeddings and standalone (query, passage) embeddings to the teacher; contrast them."""
    C = model.config.chunk_size
    chunk_texts = [tokenizer.decode(row[m * C:(m + 1) * C].tolist()) for row in batch_ids
                   for m in range(batch_ids.shape[1] // C)]
    rng = random.Random(step * 7919 + rank)
    sampled = rng.sample(docs, min(len(docs), cfg.pairs_per_step))
    pairs = pair_batch([d["text"] for d in sampled], seed=step * 31 + rank)
    pairs = pairs[: cfg.pairs_per_step]
    queries = [p.query for p in pairs]
    passages = [p.passage for p in pairs]
    with torch.no_grad():
        target = teacher(chunk_texts + queries + passages).float()
    t_chunks, t_queries, t_passages = target.split([len(chunk_texts), len(queries), len(passages)])

    ours_chunks = chunk_embeddings[:, : batch_ids.shape[1] // C].reshape(-1, chunk_embeddings.shape[-1]).float()
    q_tokens = [ids[:64] or [0] for ids in tokenizer.encode_batch(queries)]
    p_tokens = [ids[: 2 * C] or [0] for ids in tokenizer.encode_batch(passages)]
    ours = model.embed_tokens(q_tokens + p_tokens, max_tokens=2 * C).float()
    ours_q, ours_p = ours.split([len(q_tokens), len(p_tokens)])

    distill = (1 - (ours_chunks * t_chunks).sum(-1)).mean() + (1 - (ours_q * t_queries).sum(-1)).mean() \
        + (1 - (ours_p * t_passages).sum(-1)).mean()
    logits = ours_q @ ours_p.t() / cfg.temperature
    labels = torch.arange(len(pairs), device=device)
    contrast = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))
    # The teacher's own query->passage similarities as soft targets: rank like MiniLM, not just match pairs.
    teacher_logits = t_queries @ t_passages.t() / cfg.temperature
    relational = F.kl_div(F.log_softmax(logits, -1), F.softmax(teacher_logits, -1), reduction="batchmean")
    return distill, contrast, relational


def span_losses(model, batch_ids, step, cfg, tokenizer, teacher, device, rank):
    """The span memory (`NonAttnLM.encode_spans`): spans read in context, distilled to the teacher's embeddings of
    their texts, and each span found by a sentence of its own among all the batch's spans (its neighbours in the
    same document included), ranked like the teacher ranks them."""
    S = cfg.span_tokens
    rng = random.Random(step * 104_729 + rank)
    ids = batch_ids[: cfg.span_sequences, rng.randrange(S):]       # a random phase: spans start anywhere
    ids = ids[:, : ids.shape[1] // S * S]
    texts = [tokenizer.decode(row[k * S:(k + 1) * S].tolist()) for row in ids for k in range(ids.shape[1] // S)]
    queries, owners = [], []
    for index, text in enumerate(texts):
        candidates = sentences(text)
        if candidates:
            queries.append(rng.choice(candidates))
            owners.append(index)
    with torch.no_grad():
        t_spans, t_queries = teacher(texts + queries).float().split([len(texts), len(queries)])
    ours = model.span_embeddings(ids.to(device), S).reshape(len(texts), -1).float()
    distill = (1 - (ours * t_spans).sum(-1)).mean()
    if not queries:
        return distill, distill.new_zeros(()), distill.new_zeros(())
    ours_q = model.embed_tokens(tokenizer.encode_batch(queries), max_tokens=64).float()
    logits = ours_q @ ours.t() / cfg.temperature
    contrast = F.cross_entropy(logits, torch.tensor(owners, device=device))
    teacher_logits = t_queries @ t_spans.t() / cfg.temperature
    relational = F.kl_div(F.log_softmax(logits, -1), F.softmax(teacher_logits, -1), reduction="batchmean")
    return distill, contrast, relational


@torch.no_grad()
def bits_per_byte(model, stream: TokenStream, seq_len: int, max_tokens: int, device) -> float:
    """Validation loss converted to bits per UTF-8 byte of text (comparable across tokenizers)."""
    model.eval()
    n_windows = max(1, min(max_tokens, len(stream) - 1) // seq_len)
    total_nats, total_tokens = 0.0, 0
    for w in range(n_windows):
        ids = torch.from_numpy(stream.tokens[w * seq_len:(w + 1) * seq_len + 1].astype(np.int64))[None].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = model(ids[:, :-1]).logits
        total_nats += F.cross_entropy(logits[0].float(), ids[0, 1:], reduction="sum").item()
        total_tokens += ids.shape[1] - 1
    model.train()
    bytes_per_token = stream.n_bytes / len(stream)
    return total_nats / total_tokens / math.log(2) / bytes_per_token


def build_model(cfg: TrainConfig):
    model_config = NonAttnConfig(**json.loads(cfg.model_overrides or "{}"))
    if cfg.arch == "transformer":
        from .baseline import TransformerLM
        return TransformerLM(model_config, max_len=cfg.seq_len)
    if cfg.resume:
        return NonAttnLM.from_pretrained(cfg.resume)
    return NonAttnLM(model_config)


def train(cfg: TrainConfig) -> dict:
    distributed = "WORLD_SIZE" in os.environ
    if distributed:
        dist.init_process_group("nccl")
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
    torch.manual_seed(cfg.seed + rank)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()

    tokenizer = Tokenizer()
    train_docs = read_documents(Path(cfg.corpus) / "train.jsonl.xz")
    val_docs = read_documents(Path(cfg.corpus) / "val.jsonl.xz")
    train_stream, val_stream = TokenStream(train_docs, tokenizer), TokenStream(val_docs, tokenizer)
    teacher = None
    if cfg.teacher and cfg.arch == "nonattn":
        from .teacher import load_teacher
        teacher = load_teacher(cfg.teacher, device)
    if rank == 0:
        print(f"train tokens {len(train_stream):,}  val tokens {len(val_stream):,}  "
              f"setup {time.time() - started:.0f}s", flush=True)

    model = build_model(cfg).to(device)
    raw_model = model
    if cfg.lexical_init and teacher is not None and not cfg.resume and raw_model.lexical is not None:
        from .lexical_init import init_from_teacher
        counts = np.bincount(train_stream.tokens, minlength=raw_model.config.vocab_size)
        stats = init_from_teacher(raw_model, teacher, tokenizer, counts)
        if rank == 0:
            print(f"lexical bag from the teacher: {stats}  ({time.time() - started:.0f}s)", flush=True)
    if distributed:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index])
    decay = [p for n, p in raw_model.named_parameters() if p.dim() >= 2 and "embedding.table" not in n]
    no_decay = [p for n, p in raw_model.named_parameters() if p.dim() < 2 or "embedding.table" in n]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.95),
                                  fused=device.type == "cuda")
    start_step = 0
    if cfg.resume and (Path(cfg.resume) / "train_state.pt").exists():
        saved = torch.load(Path(cfg.resume) / "train_state.pt", map_location=device, weights_only=False)
        optimizer.load_state_dict(saved["optimizer"])
        start_step = saved["step"]
    elif cfg.resume and (Path(cfg.resume) / "progress.json").exists():
        start_step = json.loads((Path(cfg.resume) / "progress.json").read_text())["step"]
    rng = np.random.default_rng([cfg.seed, rank, start_step])  # a resumed run draws new windows, not the same again

    log = open(out / "log.jsonl", "a")
    tokens_seen, step = 0, start_step
    deadline = started + cfg.max_minutes * 60 if cfg.max_minutes > 0 else float("inf")
    # The schedule's length: given, or estimated from the time budget after the first steps; max_steps caps it.
    total_steps = min(cfg.max_steps, cfg.schedule_steps) if cfg.schedule_steps else cfg.max_steps
    step_times = []
    model.train()
    while step < cfg.max_steps:
        t0 = time.time()
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg, total_steps)
        ids = train_stream.batch(rng, cfg.batch_size, cfg.seq_len).to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out_ = model(ids, return_loss=True)
            loss = lm_loss = out_.loss
            parts = {}
            if teacher is not None:
                distill, contrast, relational = embedding_losses(
                    raw_model, ids.cpu(), out_.chunk_embeddings, train_docs, step, cfg, tokenizer, teacher, device, rank)
                loss = lm_loss + cfg.embed_weight * (distill + contrast + relational)
                parts = {"distill": distill.item(), "contrast": contrast.item(), "relational": relational.item()}
                if cfg.span_tokens:
                    span_parts = span_losses(raw_model, ids.cpu(), step, cfg, tokenizer, teacher, device, rank)
                    loss = loss + cfg.embed_weight * sum(span_parts)
                    parts.update(zip(("span_distill", "span_contrast", "span_relational"),
                                     (part.item() for part in span_parts)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        step += 1
        tokens_seen += ids.numel() * world
        step_times.append(time.time() - t0)
        if len(step_times) == 20 and cfg.max_minutes and not cfg.schedule_steps:
            remaining = (deadline - time.time()) / np.median(step_times[5:])
            total_steps = min(cfg.max_steps, step + int(remaining * 0.97))
            if rank == 0:
                print(f"schedule: {total_steps} steps in the time budget", flush=True)
        if rank == 0 and (step % 25 == 0 or step == start_step + 1):
            record = {"step": step, "lm_loss": lm_loss.item(), **parts, "grad_norm": float(grad_norm),
                      "lr": optimizer.param_groups[0]["lr"], "tokens": tokens_seen,
                      "tokens_per_s": ids.numel() * world / step_times[-1], "elapsed_s": time.time() - started}
            if step % cfg.eval_every == 0:
                record["val_bpb"] = bits_per_byte(raw_model, val_stream, cfg.seq_len, cfg.eval_tokens, device)
            log.write(json.dumps(record) + "\n")
            log.flush()
            print(json.dumps(record), flush=True)
        if time.time() > deadline or step >= total_steps:
            break

    summary = {"steps": step, "tokens_seen_this_run": tokens_seen, "wall_s": time.time() - started,
               "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu", "world_size": world,
               "parameters": raw_model.num_parameters(), "config": asdict(cfg)}
    if rank == 0:
        summary["final_lm_loss"] = lm_loss.item()
        summary["val_bpb"] = bits_per_byte(raw_model, val_stream, cfg.seq_len, cfg.eval_tokens, device)
        # out/checkpoint is what --resume takes: weights, the step reached, and the optimizer state (the last is
        # left behind when only the weights travel, e.g. back from a lent GPU; the schedule then restarts warm-up).
        if cfg.arch == "nonattn":
            raw_model.save_pretrained(out / "checkpoint")
        else:
            torch.save(raw_model.state_dict(), out / "transformer.pt")
        (out / "checkpoint").mkdir(exist_ok=True)
        (out / "checkpoint" / "progress.json").write_text(json.dumps({"step": step}))
        torch.save({"optimizer": optimizer.state_dict(), "step": step}, out / "checkpoint" / "train_state.pt")
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        print(json.dumps(summary), flush=True)
    if distributed:
        dist.destroy_process_group()
    return summary


def parse_args(argv=None) -> TrainConfig:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for field, default in asdict(TrainConfig()).items():
        kind = type(default) if default is not None else str
        parser.add_argument(f"--{field.replace('_', '-')}", type=kind, default=default)
    return TrainConfig(**vars(parser.parse_args(argv)))


if __name__ == "__main__":
    train(parse_args())
