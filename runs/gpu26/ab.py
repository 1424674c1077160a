"""Session 10: A/B in one process of the chunk step's small ops at 32K (whole-forward graphs, each variant twice)
and 1M (the model's own path). base: HEAD 246a85d's chunk step (sums, carry add, counts and division as torch ops,
local_chunk from aranges; old add_rows); new: the working tree (triton_ops.feature_means, add_rows from `lead`);
new+norm: also the chunk embedding's sum and L2 norm in one kernel (normalized_sum.py, patched into the head).
AB_ROUNDS (default 2) rounds at 32K; AB_1M=0 skips the streaming check and 1M. Ends with profile.py on 'new'."""
import collections  # noqa: F401 (the profile exec-ed at the end)
import json  # noqa: F401
import os
import sys

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile  # noqa: F401

sys.path.insert(0, "runs/gpu26")
import normalized_sum as ns  # noqa: E402
import old_triton_ops  # noqa: E402
from nonattn_core import cuda_graphs  # noqa: E402
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward  # noqa: E402
from nonattn_core.bf16_weights import linear  # noqa: E402
from nonattn_core.model import NonAttnLM, _ChunkStep  # noqa: E402
from nonattn_core.supervisor import ChunkEmbeddingHead  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = True
OUT = os.environ.get("OUT", "/tmp")


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def old_chunk_step(self, lower_out, input_ids, state):
    C = self.config.chunk_size
    length = lower_out.shape[1]
    start, end = state.position, state.position + length
    first_chunk = start // C
    positions = torch.arange(start, end, device=lower_out.device)
    local_chunk = positions // C - first_chunk
    n_touched = (end - 1) // C - first_chunk + 1
    n_finished = end // C - first_chunk
    sums = self._feature_sums(lower_out, input_ids, C, lead=start - first_chunk * C)
    sums[:, 0] += state.chunk_sum
    chunk_ids = torch.arange(first_chunk, first_chunk + n_touched, device=lower_out.device)
    counts = (torch.clamp(chunk_ids * C + C, max=end) - chunk_ids * C).float()
    summaries, keys = self._embed_chunks(sums / counts.view(1, -1, 1))
    h_before = state.supervisor.unsqueeze(1)
    supervisor = state.supervisor
    if n_finished:
        h_after = self.supervisor(summaries[:, :n_finished].to(lower_out.dtype), keys[:, :n_finished],
                                  state.memory, state.supervisor)
        state.memory.add(keys[:, :n_finished])
        h_before = torch.cat([h_before, h_after.to(h_before.dtype)], dim=1)
        supervisor = h_after[:, -1].to(state.supervisor.dtype)
    chunk_sum = sums[:, -1] if end % C else torch.zeros_like(state.chunk_sum)
    step = _ChunkStep(keys, n_finished, h_before[:, :n_touched], start - first_chunk * C, chunk_sum, supervisor)
    step.local_chunk = local_chunk
    return step


def old_add_supervisor(self, x, chunks):
    injected = self.supervisor.inject(chunks.state_before.to(x.dtype))
    return old_triton_ops.add_rows(x, injected, chunks.local_chunk)


def norm_head(self, summary, lexical=None):
    hidden = F.gelu(linear(self.norm(summary), self.hidden.weight, self.hidden.bias))
    return ns.normalized_sum(linear(hidden, self.out.weight, self.out.bias), lexical)


new_chunk_step, new_add_supervisor, old_head = NonAttnLM._chunk_step, NonAttnLM._add_supervisor, ChunkEmbeddingHead.forward


def setup(name):
    new = name != "base"
    NonAttnLM._chunk_step = new_chunk_step if new else old_chunk_step
    NonAttnLM._add_supervisor = new_add_supervisor if new else old_add_supervisor
    ChunkEmbeddingHead.forward = norm_head if name == "new+norm" else old_head
    cuda_graphs._stack_graphs.clear()
    cuda_graphs._graphs.clear()
    cuda_graphs._seen.clear()


model = load_model("cuda")
print("## check: normalized_sum vs F.normalize in fp64", flush=True)
with torch.no_grad():
    for n, e in [(128, 384), (4096, 384), (7, 100)]:
        a, b = torch.randn(1, n, e, device="cuda").bfloat16(), torch.randn(1, n, e, device="cuda").bfloat16()
        print(f"n={n} E={e}: {rel(ns.normalized_sum(a, b), F.normalize(a.double() + b.double(), dim=-1)):.2e}, "
              f"no b {rel(ns.normalized_sum(a), F.normalize(a.double(), dim=-1)):.2e}")

variants = ["base", "new", "new+norm"]
print("## whole forward at 32K: bench graph ms, the model's own path (eager, median of 20)", flush=True)
outputs = {}
ids = torch.randint(0, 100_000, (1, 32768), device="cuda", generator=torch.Generator("cuda").manual_seed(1))
for round_ in range(1, int(os.environ.get("AB_ROUNDS", "2")) + 1):
    for name in variants:
        setup(name)
        with torch.no_grad():
            g = graph_ms(ours_forward(model, 32768, 1 << 20), 20)
        eager = cuda_time(ours_forward(model, 32768, 1 << 20), 20, 3)
        print(f"round {round_} | {name:9s} | graph {g:.3f} | eager {eager:.3f}", flush=True)
        if round_ == 1:
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                out, _ = model.forward_stream(ids, model.init_state(1), flush=True, return_hidden=True,
                                              return_logits=False)
            outputs[name] = (out.hidden.float(), out.chunk_embeddings.float())
for name, (hidden, emb) in outputs.items():
    print(f"{name} vs base: hidden {rel(hidden, outputs['base'][0]):.2e}, chunk embeddings "
          f"{rel(emb, outputs['base'][1]):.2e}")
print("## streaming 32K in pieces of 1000 (lead != 0), new vs base", flush=True)
streamed = {}
for name in ("base", "new") if os.environ.get("AB_1M", "1") == "1" else ():
    setup(name)
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        state, hs, es = model.init_state(1), [], []
        for s in range(0, 32768, 1000):
            out, state = model.forward_stream(ids[:, s:s + 1000], state, flush=s + 1000 >= 32768,
                                              return_hidden=True, return_logits=False)
            hs.append(out.hidden.float())
            es.append(out.chunk_embeddings.float())
    streamed[name] = (torch.cat(hs, 1), torch.cat(es, 1))
if streamed:
    print(f"streamed new vs base: hidden {rel(streamed['new'][0], streamed['base'][0]):.2e}, chunk embeddings "
          f"{rel(streamed['new'][1], streamed['base'][1]):.2e}; streamed new vs whole new: hidden "
          f"{rel(streamed['new'][0], outputs['new'][0]):.2e}")
print("## 1M tokens, the model's own path (ms, median of 3)", flush=True)
for round_ in (1, 2) if streamed else ():
    for name in variants:
        setup(name)
        print(f"round {round_} | 1M | {name:9s} | {cuda_time(ours_forward(model, 1 << 20, 1 << 20), 3, 1):.2f}",
              flush=True)

setup("new")
sys.argv = ["profile", "32768"]
exec(open("runs/gpu26/profile.py").read().split("torch.backends.cuda.matmul.allow_tf32 = True", 1)[1])
