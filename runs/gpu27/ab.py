"""runs/gpu27: A/B in one process of the chunk embedding's sum and L2 norm in one kernel
(triton_ops.normalized_sum in ChunkEmbeddingHead: "norm"), the upper blocks' first span of chunks run beside the
GRU's later steps (model._upper_beside_gru, its share of the piece's chunks: "beside<share>"), the retrieved
chunks' gather and mean in one kernel (triton_ops.retrieved_mean: "mean"), the spans' final norms written into one
buffer instead of a cat ("inplace"), the later chunks' scores masked in one kernel and the keys cast once ("mask"),
the GRU reading its inputs in bf16 ("gi16"), a sleep between the GRU barrier's polls ("nap<ns>"); "base" is none of them
(each part absent: as at 1a1006a).
AB_VARIANTS (comma-separated, '+'-joined parts), AB_1M_VARIANTS, AB_ROUNDS, AB_PROFILE, AB_SHORT (lengths timed
before 32K, graph only).
32K: the bench's whole-forward graph and the model's own path, each variant AB_ROUNDS times; outputs against base
and against float32; streamed pieces; graphed == eager; 1M (the model's own path); a profile of AB_PROFILE."""
import collections  # noqa: F401 (the profile exec-ed at the end)
import json  # noqa: F401
import os
import sys

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile  # noqa: F401

from nonattn_core import cuda_graphs, model as model_module, supervisor as supervisor_module, triton_ops
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward
from nonattn_core.bf16_weights import linear
from nonattn_core.supervisor import ChunkEmbeddingHead

torch.backends.cuda.matmul.allow_tf32 = True
OUT = os.environ.get("OUT", "/tmp")
variants = os.environ.get("AB_VARIANTS", "base,norm,norm+beside0.25,norm+beside0.5").split(",")
M1 = [v for v in os.environ.get("AB_1M_VARIANTS", ",".join(variants)).split(",") if v]


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def old_head(self, summary, lexical=None):                              # the head before this session
    hidden = F.gelu(linear(self.norm(summary), self.hidden.weight, self.hidden.bias))
    contextual = linear(hidden, self.out.weight, self.out.bias).float()
    return F.normalize(contextual if lexical is None else contextual + lexical.float(), dim=-1)


new_head = ChunkEmbeddingHead.forward


def old_retrieve_earlier(keys, memory, k):                             # supervisor.retrieve_earlier before this session
    batch, n_chunks, _ = keys.shape
    scores = keys @ keys.transpose(1, 2)
    earlier = torch.ones(n_chunks, n_chunks, dtype=torch.bool, device=keys.device).tril(-1)
    scores = scores.masked_fill(~earlier, float("-inf"))
    top = min(k, n_chunks)
    values, index = scores.topk(top, dim=-1)
    rows = torch.arange(batch, device=keys.device).view(batch, 1, 1)
    candidates = keys[rows, index]
    if memory is not None and len(memory):
        mem_values, mem_keys = memory.search(keys, k)
        values = torch.cat([values, mem_values], dim=-1)
        candidates = torch.cat([candidates, mem_keys.to(candidates.dtype)], dim=2)
        values, index = values.topk(k, dim=-1)
        candidates = torch.gather(candidates, 2, index.unsqueeze(-1).expand(-1, -1, -1, keys.shape[-1]))
    valid = torch.isfinite(values).unsqueeze(-1).to(keys.dtype)
    return (candidates * valid).sum(2) / valid.sum(2).clamp(min=1.0)


def mean_retrieve_earlier(keys, memory, k):                            # call 3's "mean": torch mask, retrieved_mean
    batch, n_chunks, _ = keys.shape
    scores = keys @ keys.transpose(1, 2)
    earlier = torch.ones(n_chunks, n_chunks, dtype=torch.bool, device=keys.device).tril(-1)
    scores = scores.masked_fill(~earlier, float("-inf"))
    values, index = scores.topk(min(k, n_chunks), dim=-1)
    return triton_ops.retrieved_mean(keys, index, values)


def gi_float_init(self, *args, **kwargs):                               # the GRU's inputs copied to float32 first
    new_gru_init(self, *args, **kwargs)
    self.gi = self.gi.float()


new_retrieve, new_stack_replays = supervisor_module.retrieve_earlier, model_module._stack_replays
new_gru_init = triton_ops.PersistentGRU.__init__


def setup(name):
    """name: base, or '+'-joined parts: norm, beside<share>, mean, mask (+ mean: the mask kernel and one cast),
    inplace, gi16 (the GRU reads its inputs in bf16), nap<ns> (the GRU's barrier polls sleep ns); absent: as before."""
    parts = name.split("+")
    ChunkEmbeddingHead.forward = new_head if "norm" in parts else old_head
    share = next((float(p[6:]) for p in parts if p.startswith("beside")), 0.0)
    model_module.UPPER_FIRST_SPAN = (share, share)
    supervisor_module.retrieve_earlier = (new_retrieve if "mask" in parts else mean_retrieve_earlier if "mean" in parts
                                          else old_retrieve_earlier)
    model_module._stack_replays = new_stack_replays if "inplace" in parts else (lambda first: True)
    triton_ops.PersistentGRU.__init__ = new_gru_init if "gi16" in parts else gi_float_init
    model_module.UPPER_BESIDE_MIN_CHUNKS = next((int(p[3:]) for p in parts if p.startswith("min")), 16)
    triton_ops.GRU_POLL_NAP_NS = next((int(p[3:]) for p in parts if p.startswith("nap")), 0)
    model_module._gru_streams.clear()
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

print("## check: the retrieval's GPU path against the torch one (the model's keys at 32K; random keys)")
with torch.inference_mode():
    setup("base")
    keys = forward(torch.randint(0, 100_000, (1, 32768), device="cuda"))[1]
    for what, kk in [("model keys", keys), ("random", F.normalize(torch.randn(2, 300, 384, device="cuda"), dim=-1))]:
        for k in (4, 1, 7):
            for autocast in (True, False):
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
                    a, b = old_retrieve_earlier(kk, None, k), new_retrieve(kk, None, k)
                    c = mean_retrieve_earlier(kk, None, k)
                print(f"{what} k={k} autocast={autocast}: mask+mean vs torch equal {torch.equal(a, b)}, rel "
                      f"{rel(b, a):.2e}; mask+mean vs mean equal {torch.equal(b, c)}")

if any("nap" in v for v in variants):
    with torch.inference_mode():
        xs, h0 = torch.randn(1, 128, 256, device="cuda"), torch.randn(1, 1, 256, device="cuda")
        triton_ops.GRU_POLL_NAP_NS = 0
        plain = triton_ops.gru_persistent(model.supervisor.gru, xs, h0)
        for ns in (100, 1000):
            triton_ops.GRU_POLL_NAP_NS = ns
            naps = [triton_ops.gru_persistent(model.supervisor.gru, xs, h0) for _ in range(10)]
            print(f"GRU with {ns} ns naps between polls: equal to none in {sum(torch.equal(n, plain) for n in naps)} of 10; "
                  f"128 steps alone {cuda_time(lambda: triton_ops.gru_persistent(model.supervisor.gru, xs, h0), 20) * 1e3:.1f} us")
        triton_ops.GRU_POLL_NAP_NS = 0
        print(f"128 steps alone, no naps: {cuda_time(lambda: triton_ops.gru_persistent(model.supervisor.gru, xs, h0), 20) * 1e3:.1f} us")

for length in [int(n) for n in os.environ.get("AB_SHORT", "").split(",") if n]:
    print(f"## whole forward at {length}: bench graph ms, AB_ROUNDS rounds", flush=True)
    for round_ in range(1, int(os.environ.get("AB_ROUNDS", "2")) + 1):
        for name in variants:
            setup(name)
            print(f"round {round_} | {length} | {name:16s} | graph {graph_ms(ours_forward(model, length, 1 << 20), 20):.3f}",
                  flush=True)

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
