"""The shipped checkpoint through ingest's Encoder on the GPU against the CPU: same chunk embeddings (cosine), for
a short document, a multi-piece one, documents read side by side (encode_many) and a resumed append."""
import time

import numpy as np
import torch

from ingest.encode import Encoder


def min_cos(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min())


gpu, cpu = Encoder(device="cuda"), Encoder(device="cpu")
print("devices", gpu.device, cpu.device, "fingerprints equal", gpu.fingerprint == cpu.fingerprint)
vocab = gpu.model.config.vocab_size
rng = np.random.default_rng(0)
docs = [rng.integers(0, vocab, size=n).tolist() for n in (300, 5_000, 70_000)]
for tokens in docs:
    t = time.perf_counter(); g = gpu.encode(tokens, len(tokens)); torch.cuda.synchronize(); dt = time.perf_counter() - t
    c = cpu.encode(tokens, len(tokens))
    print(f"encode {len(tokens):>6} tokens: chunks {g.embeddings.shape[0]} / {c.embeddings.shape[0]}, "
          f"min cosine {min_cos(g.embeddings, c.embeddings):.6f}, gpu {dt * 1000:.1f} ms")
short = [(d[:n], n) for d, n in zip(docs, (300, 1000, 2000))]
many = gpu.encode_many(short)
for (tokens, hold), m in zip(short, many):
    one = cpu.encode(tokens, hold)
    print(f"encode_many {len(tokens):>5} tokens: min cosine to CPU alone {min_cos(m.embeddings, one.embeddings):.6f}")
tokens = docs[1]
head = gpu.encode(tokens[:3000], 3000)
keys = head.embeddings[: 3000 // gpu.chunk_size]
resumed = gpu.resume(head.state, keys, tokens[3000:], len(tokens) - 3000)
whole = cpu.encode(tokens, len(tokens))
first = resumed.first_chunk
print(f"resume at 3000: first chunk {first}, min cosine to CPU whole {min_cos(resumed.embeddings, whole.embeddings[first:]):.6f}")
