"""Session 11 (runs/gpu27): A/B in one process of (1) the chunk embedding's sum and L2 norm in one kernel
(triton_ops.normalized_sum in ChunkEmbeddingHead) and (2) the upper blocks' first span of chunks run beside the
GRU's later steps (model._upper_beside_gru, its share of the piece's chunks UPPER_FIRST_SPAN; 0 = off).
Variants: base (both off: the head's torch ops, GRU then upper blocks), norm, norm+beside<share>.
32K: the bench's whole-forward graph and the model's own path, each variant AB_ROUNDS times; outputs against base
and against float32; streamed pieces; graphed == eager; 1M (the model's own path); a profile of AB_PROFILE."""
import collections  # noqa: F401 (the profile exec-ed at the end)
import json  # noqa: F401
import os
import sys

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile  # noqa: F401

from nonattn_core import cuda_graphs, model as model_module, triton_ops
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward
from nonattn_core.bf16_weights import linear
from nonattn_core.supervisor import ChunkEmbeddingHead

torch.backends.cuda.matmul.allow_tf32 = True
OUT = os.environ.get("OUT", "/tmp")
SHARES = [float(s) for s in os.environ.get("AB_SHARES", "0.25,0.5").split(",")]
variants = ["base", "norm"] + [f"norm+beside{s}" for s in SHARES]
if os.environ.get("AB_LOWPRIO"):                                       # the GRU's stream at normal priority
    variants.append(f"norm+beside{SHARES[0]}+lowprio")
M1 = os.environ.get("AB_1M_VARIANTS", ",".join(variants)).split(",")


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def old_head(self, summary, lexical=None):                              # the head before this session
    hidden = F.gelu(linear(self.norm(summary), self.hidden.weight, self.hidden.bias))
    contextual = linear(hidden, self.out.weight, self.out.bias).float()
    return F.normalize(contextual if lexical is None else contextual + lexical.float(), dim=-1)


new_head = ChunkEmbeddingHead.forward


def setup(name):
    ChunkEmbeddingHead.forward = old_head if name == "base" else new_head
    share = float(name.split("beside")[1].split("+")[0]) if "beside" in name else 0.0
    model_module.UPPER_FIRST_SPAN = (share, share)
    model_module._gru_streams.clear()
    if name.endswith("+lowprio"):
        model_module._gru_streams[torch.device("cuda", 0)] = torch.cuda.Stream(priority=0)
    cuda_graphs._stack_graphs.clear()
    cuda_graphs._graphs.clear()
    cuda_graphs._seen.clear()


def forward(ids, autocast=True, pieces=None):
    """hidden and chunk embeddings of ids (1, L), read whole or in pieces of `pieces` tokens."""
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
        state, hs, es = model.init_state(1), [], []
        step = pieces or ids.shape[1]
        for s in range(0, ids.shape[1], step):
            out, state = model.forward_stream(ids[:, s:s + step], state, flush=s + step >= ids.shape[1],
                                              return_hidden=True, return_logits=False)
            hs.append(out.hidden.float())
            es.append(out.chunk_embeddings.float())
    return torch.cat(hs, 1), torch.cat(es, 1), state.supervisor.float()


model = load_model("cuda")
print("## checks: normalized_sum vs F.normalize in fp64; PersistentGRU in spans vs one launch", flush=True)
with torch.no_grad():
    for n, e in [(128, 384), (4096, 384), (7, 100)]:
        a, b = torch.randn(1, n, e, device="cuda").bfloat16(), torch.randn(1, n, e, device="cuda").bfloat16()
        print(f"n={n} E={e}: {rel(triton_ops.normalized_sum(a, b), F.normalize(a.double() + b.double(), dim=-1)):.2e}, "
              f"no b {rel(triton_ops.normalized_sum(a), F.normalize(a.double(), dim=-1)):.2e}")
    gru = model.supervisor.gru
    xs, h0 = torch.randn(1, 128, 256, device="cuda"), torch.randn(1, 1, 256, device="cuda")
    whole = triton_ops.gru_persistent(gru, xs, h0)
    for cuts in [(0, 31, 128), (0, 1, 64, 127, 128), (0, 0, 128)]:
        steps = triton_ops.PersistentGRU(gru, xs, h0)
        for begin, end in zip(cuts, cuts[1:]):
            steps.launch(begin, end)
        print(f"spans {cuts}: equal to one launch: {torch.equal(steps.states[1:].unsqueeze(0), whole)}")

print("## whole forward at 32K: bench graph ms, the model's own path (eager, median of 20)", flush=True)
ids = torch.randint(0, 100_000, (1, 32768), device="cuda", generator=torch.Generator("cuda").manual_seed(1))
outputs = {}
for round_ in range(1, int(os.environ.get("AB_ROUNDS", "2")) + 1):
    for name in variants:
        setup(name)
        g = graph_ms(ours_forward(model, 32768, 1 << 20), 20)
        eager = cuda_time(ours_forward(model, 32768, 1 << 20), 20, 3)
        print(f"round {round_} | {name:16s} | graph {g:.3f} | eager {eager:.3f}", flush=True)
        if round_ == 1:
            outputs[name] = forward(ids)
setup("base")
fp32 = forward(ids, autocast=False)
for name, out in outputs.items():
    print(f"{name:16s} vs base: hidden {rel(out[0], outputs['base'][0]):.2e}, embeddings {rel(out[1], outputs['base'][1]):.2e}"
          f", supervisor {rel(out[2], outputs['base'][2]):.2e} | vs float32 base: hidden {rel(out[0], fp32[0]):.2e}, "
          f"embeddings {rel(out[1], fp32[1]):.2e}", flush=True)

print("## streamed: 32K in pieces of 5000 (lead != 0), each variant vs base streamed and vs its own whole", flush=True)
streamed = {}
for name in variants:
    setup(name)
    streamed[name] = forward(ids, pieces=5000)
    print(f"{name:16s}: vs base streamed hidden {rel(streamed[name][0], streamed['base'][0]):.2e}, embeddings "
          f"{rel(streamed[name][1], streamed['base'][1]):.2e}; vs its whole hidden "
          f"{rel(streamed[name][0], outputs[name][0]):.2e}", flush=True)

print("## graphed == eager (first piece 20000, then 12000 and 9000 with carried states)", flush=True)
ids2 = ids[:, :41000]
for name in variants[-1:]:
    setup(name)
    cuda_graphs.ENABLED = False
    eager = [forward(ids2[:, :20000]), forward(ids2, pieces=None)]
    eager_streamed = []
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        def read():
            state, outs = model.init_state(1), []
            for s, e in [(0, 20000), (20000, 32000), (32000, 41000)]:
                out, state = model.forward_stream(ids2[:, s:e], state, flush=e == 41000, return_hidden=True,
                                                  return_logits=False)
                outs += [out.hidden, out.chunk_embeddings]
            return outs + [t for b in state.blocks for t in (b.ssm, b.conv_tail)] + [state.supervisor, state.chunk_sum]
        plain = read()
        cuda_graphs.ENABLED = True
        read(), read()
        graphed = read()
    print(f"{name}: graphed vs eager max rel {max(rel(g.float(), e.float()) for g, e in zip(graphed, plain)):.2e} "
          f"({len(cuda_graphs._stack_graphs)} graphs)", flush=True)

print("## 1M tokens, the model's own path (ms, median of 3)", flush=True)
for round_ in (1, 2):
    for name in M1:
        setup(name)
        print(f"round {round_} | 1M | {name:16s} | {cuda_time(ours_forward(model, 1 << 20, 1 << 20), 3, 1):.2f}",
              flush=True)

setup(os.environ.get("AB_PROFILE", variants[-1]))
print(f"## profile: {os.environ.get('AB_PROFILE', variants[-1])}", flush=True)
sys.argv = ["profile", "32768"]
exec(open("runs/gpu27/profile.py").read().split("torch.backends.cuda.matmul.allow_tf32 = True", 1)[1])
